"""Queries over taxonomy terms."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.db import RecordReader
from garment.platform.pagination import Keyset, KeysetQuery, PageParams
from garment.platform.repository import Repository, affected_rows
from garment.tenant.taxonomies.models import TaxonomyTerm

# Terms in the order pickers show them; `id` makes the key unique for cursors.
# Picker order: type, then position; the id breaks ties.
TERM_KEYSET = Keyset.of(
    TaxonomyTerm.type,
    TaxonomyTerm.sort_order,
    TaxonomyTerm.id,
    example=("size", 9, uuid.UUID("b6312762-3056-45ab-af74-a174a5db3829")),
)
TERM_COLUMNS = (
    TaxonomyTerm.id,
    TaxonomyTerm.type,
    TaxonomyTerm.code,
    TaxonomyTerm.parent_id,
    TaxonomyTerm.label_id,
    TaxonomyTerm.label_en,
    TaxonomyTerm.sort_order,
    TaxonomyTerm.archived,
    TaxonomyTerm.version,
)


@cache
def term_list(by_type: bool, by_parent: bool, include_archived: bool) -> KeysetQuery:
    """The term list for one combination of filters, built once."""
    statement = select(*TERM_COLUMNS).where(TaxonomyTerm.tenant_id == bindparam("tenant_id"))
    if by_type:
        statement = statement.where(TaxonomyTerm.type == bindparam("term_type"))
    if by_parent:
        statement = statement.where(TaxonomyTerm.parent_id == bindparam("parent_id"))
    if not include_archived:
        statement = statement.where(TaxonomyTerm.archived.is_(False))
    return KeysetQuery.build(statement, TERM_KEYSET)


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

    @staticmethod
    async def listed(
        reader: AsyncSession | RecordReader,
        tenant_id: uuid.UUID,
        *,
        term_type: str | None,
        parent_id: uuid.UUID | None = None,
        include_archived: bool,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of terms as rows of `TERM_COLUMNS` (no ORM objects: a read-only list)."""
        filters: dict[str, Any] = {"tenant_id": tenant_id}
        if term_type is not None:
            filters["term_type"] = term_type
        if parent_id is not None:
            filters["parent_id"] = parent_id
        query = term_list(term_type is not None, parent_id is not None, include_archived)
        return await query.page(reader, page, filters)

    async def of_tenant(self, tenant_id: uuid.UUID, term_id: uuid.UUID) -> TaxonomyTerm | None:
        return await self.get((tenant_id, term_id))

    async def code_taken(self, tenant_id: uuid.UUID, term_type: str, code: str) -> bool:
        statement = select(TaxonomyTerm.id).where(
            TaxonomyTerm.tenant_id == tenant_id,
            TaxonomyTerm.type == term_type,
            TaxonomyTerm.code == code,
        )
        return (await self.session.execute(statement)).first() is not None

    async def ancestor_ids(self, tenant_id: uuid.UUID, term_id: uuid.UUID) -> set[uuid.UUID]:
        """The term and every ancestor up its parent chain (a recursive query; a chain that
        already loops stops where it meets itself)."""
        chain = (
            select(TaxonomyTerm.id, TaxonomyTerm.parent_id)
            .where(TaxonomyTerm.tenant_id == tenant_id, TaxonomyTerm.id == term_id)
            .cte("chain", recursive=True)
        )
        parent = select(TaxonomyTerm.id, TaxonomyTerm.parent_id).join(
            chain,
            (TaxonomyTerm.id == chain.c.parent_id) & (TaxonomyTerm.tenant_id == tenant_id),
        )
        chain = chain.union(parent)
        rows = await self.session.execute(select(chain.c.id))
        return set(rows.scalars().all())

    async def type_of(self, tenant_id: uuid.UUID, term_id: uuid.UUID) -> str | None:
        """The type of the tenant's live (not archived) term with this id."""
        statement = select(TaxonomyTerm.type).where(
            TaxonomyTerm.tenant_id == tenant_id,
            TaxonomyTerm.id == term_id,
            TaxonomyTerm.archived.is_(False),
        )
        return (await self.session.execute(statement)).scalar_one_or_none()
