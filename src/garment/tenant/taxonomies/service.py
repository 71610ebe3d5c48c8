"""Taxonomy terms: seeding the garment defaults (the tenant runtime adds CRUD)."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.tenant.taxonomies.defaults import DEFAULT_TERMS
from garment.tenant.taxonomies.models import TaxonomyTerm


async def seed_defaults(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Insert the default terms; re-running adds nothing. Returns how many were new."""
    rows = [
        {
            "tenant_id": tenant_id,
            "id": uuid.uuid4(),
            "type": term_type,
            "code": code,
            "label_id": label_id,
            "label_en": label_en,
            "sort_order": position,
        }
        for position, (term_type, code, label_id, label_en) in enumerate(DEFAULT_TERMS)
    ]
    result = await session.execute(
        insert(TaxonomyTerm)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=[TaxonomyTerm.tenant_id, TaxonomyTerm.type, TaxonomyTerm.code]
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
