"""Queries over taxonomy terms."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert

from garment.platform.repository import Repository, affected_rows
from garment.tenant.taxonomies.models import TaxonomyTerm


class TaxonomyTermRepository(Repository[TaxonomyTerm]):
    model = TaxonomyTerm

    async def insert_missing(self, rows: list[dict[str, Any]]) -> int:
        """Insert the terms a tenant does not have yet (by type and code); how many were new."""
        if not rows:
            return 0
        result = await self.session.execute(
            insert(TaxonomyTerm)
            .values(rows)
            .on_conflict_do_nothing(
                index_elements=[TaxonomyTerm.tenant_id, TaxonomyTerm.type, TaxonomyTerm.code]
            )
        )
        return affected_rows(result)
