"""Garment taxonomies: typed terms (category, size, colour, material, collection, custom)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKeyConstraint, Integer, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from garment.platform.db import TenantBase, new_id
from garment.platform.versioning import Versioned


class TaxonomyTerm(Versioned, TenantBase):
    __tablename__ = "taxonomy_terms"
    __table_args__ = (
        UniqueConstraint("tenant_id", "type", "code"),
        ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["taxonomy_terms.tenant_id", "taxonomy_terms.id"],
            name="fk_taxonomy_terms_tenant_id_taxonomy_terms",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    label_id: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    archived: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
