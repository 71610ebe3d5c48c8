"""The cluster registry: which PostgreSQL databases hold tenant data (URLs live in config)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from garment.central.clusters.states import ClusterStatus
from garment.platform.db import CentralBase, TimestampMixin, check_in


class Cluster(TimestampMixin, CentralBase):
    __tablename__ = "clusters"
    __table_args__ = (
        CheckConstraint(check_in("status", ClusterStatus), name="status"),
        CheckConstraint("capacity >= 0", name="capacity"),
    )

    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    capacity: Mapped[int] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(63))
    drained_at: Mapped[datetime | None]
