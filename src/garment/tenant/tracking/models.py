"""Customer tracking links: one row per link an order's staff shared with the end customer.

Only a keyed hash of the token is stored (`platform/token_hashing.py`), so a copy of the cluster
is not a copy of the links. The row carries the view counter the public page bumps, so "was it
opened, and when last" needs no scan of the audit log.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from garment.platform.db import TenantBase, new_id


class TrackingLink(TenantBase):
    __tablename__ = "tracking_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            ondelete="CASCADE",
            name="fk_tracking_links_tenant_id_orders",
        ),
        CheckConstraint("view_count >= 0", name="view_count"),
        CheckConstraint("expires_at > created_at", name="expiry"),
        Index("ix_tracking_links_tenant_id_order_id", "tenant_id", "order_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    view_count: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column()
    # When the last view was written to the audit log (views are audited at most once an hour
    # per link; every view is counted).
    last_audited_view_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
