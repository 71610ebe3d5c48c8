"""The tenant's own settings row on its cluster (created by provisioning)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from garment.platform.db import TenantBase


class TenantSettings(TenantBase):
    __tablename__ = "tenant_settings"
    __table_args__ = (
        CheckConstraint(
            "down_payment_kind IN ('percent', 'fixed') AND down_payment_value >= 0 "
            "AND (down_payment_kind = 'fixed' OR down_payment_value <= 100)",
            name="down_payment",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    slug: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), server_default=text("'id'"))
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'Asia/Jakarta'"))
    currency: Mapped[str] = mapped_column(String(3), server_default=text("'IDR'"))
    # The down payment policy of sales orders: a percent of the total, or a fixed rupiah amount.
    down_payment_kind: Mapped[str] = mapped_column(String(8), server_default=text("'percent'"))
    down_payment_value: Mapped[int] = mapped_column(BigInteger, server_default=text("50"))
    # PKP: the tenant charges PPN on its sales (tax base 11/12 of the price, PPN 12% of it).
    pkp: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
