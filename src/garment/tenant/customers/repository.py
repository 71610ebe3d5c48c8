"""Queries over customers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select

from garment.platform.pagination import Keyset, KeysetQuery, PageParams
from garment.platform.repository import Repository
from garment.tenant.customers.models import Customer
from garment.tenant.customers.states import CustomerSort

EXAMPLE_ID = uuid.UUID("5b1f3c2e-8a8d-4c6e-9f64-0d6f0f3b7a11")
KEYSETS = {
    CustomerSort.NAME: Keyset.of(Customer.name, Customer.id, example=("CV Maju Jaya", EXAMPLE_ID)),
    CustomerSort.NEWEST: Keyset.of(
        Customer.created_at,
        Customer.id,
        example=(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), EXAMPLE_ID),
    ),
}
LIST_COLUMNS = (
    Customer.id,
    Customer.name,
    Customer.type,
    Customer.phone,
    Customer.email,
    Customer.address,
    Customer.npwp,
    Customer.nik,
    Customer.nitku,
    Customer.credit_days,
    Customer.credit_limit,
    Customer.notes,
    Customer.archived,
    Customer.version,
    Customer.created_at,
    Customer.updated_at,
)


@cache
def customer_list(sort: CustomerSort, search: bool, by_type: bool, archived: bool) -> KeysetQuery:
    statement = select(*LIST_COLUMNS).where(Customer.tenant_id == bindparam("tenant_id"))
    if search:
        statement = statement.where(Customer.name.ilike(bindparam("search"), escape="\\"))
    if by_type:
        statement = statement.where(Customer.type == bindparam("customer_type"))
    if not archived:
        statement = statement.where(Customer.archived.is_(False))
    return KeysetQuery.build(statement, KEYSETS[sort], descending=sort is CustomerSort.NEWEST)


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CustomerRepository(Repository[Customer]):
    model = Customer

    async def of_tenant(
        self, tenant_id: uuid.UUID, customer_id: uuid.UUID, *, for_update: bool = False
    ) -> Customer | None:
        return await self.get((tenant_id, customer_id), for_update=for_update)

    async def listed(
        self,
        tenant_id: uuid.UUID,
        *,
        sort: CustomerSort,
        search: str | None,
        customer_type: str | None,
        include_archived: bool,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        filters: dict[str, Any] = {"tenant_id": tenant_id}
        if search:
            filters["search"] = like_pattern(search)
        if customer_type is not None:
            filters["customer_type"] = customer_type
        query = customer_list(sort, bool(search), customer_type is not None, include_archived)
        return await query.page(self.session, page, filters)
