"""The tenant's customers (who orders, and how they are invoiced)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from garment.platform.db import TenantBase, check_in, new_id
from garment.platform.versioning import Versioned
from garment.tenant.customers.states import CustomerType


class Customer(Versioned, TenantBase):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(check_in("type", CustomerType), name="type"),
        CheckConstraint("credit_days >= 0 AND credit_limit >= 0", name="credit_terms"),
        Index("ix_customers_tenant_id_name", "tenant_id", "name", "id"),
        Index("ix_customers_tenant_id_created_at", "tenant_id", "created_at", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    npwp: Mapped[str | None] = mapped_column(String(16))
    nik: Mapped[str | None] = mapped_column(String(16))
    nitku: Mapped[str | None] = mapped_column(String(22))
    credit_days: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    credit_limit: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    notes: Mapped[str | None] = mapped_column(String(2000))
    archived: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
