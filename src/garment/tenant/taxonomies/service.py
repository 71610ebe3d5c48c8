"""Taxonomy terms: the garment defaults every tenant starts with."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.pagination import PageParams
from garment.tenant.taxonomies.defaults import DEFAULT_TERMS
from garment.tenant.taxonomies.repository import TERM_KEYSET, TaxonomyTermRepository


class TaxonomyService:
    # The sort key of the term list, and so its cursor format (the router's `cursor` schema).
    keyset = TERM_KEYSET

    async def seed_defaults(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
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
        return await TaxonomyTermRepository(session).insert_missing(rows)

    async def list_terms(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        term_type: str | None = None,
        include_archived: bool = False,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the tenant's terms in picker order (type, position), as rows."""
        return await TaxonomyTermRepository(session).listed(
            tenant_id, term_type=term_type, include_archived=include_archived, page=page
        )

    async def term_type(
        self, session: AsyncSession, tenant_id: uuid.UUID, term_id: uuid.UUID
    ) -> str | None:
        """The type of one of the tenant's live terms (None: no such term), for references
        such as a product's category."""
        return await TaxonomyTermRepository(session).type_of(tenant_id, term_id)
