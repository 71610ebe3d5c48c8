"""Customers: who orders, their tax ids and credit terms. Every write is audited, versioned
(If-Match) and announced as a domain event.

Methods that write take the tenant session (the change and its audit row) and the central
session (the outbox event, ADR 0014); the route declares the central session before the tenant
session, so the cluster commits first and an event never announces a change that rolled back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.errors import RESOURCE_NOT_FOUND, AppError, FieldErrors
from garment.platform.events import publish
from garment.platform.pagination import PageParams
from garment.platform.versioning import apply_changes, check_version, present_changes
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.customers.errors import NITKU_NEEDS_NPWP, NITKU_NOT_OF_NPWP
from garment.tenant.customers.events import CustomerCreated, CustomerUpdated
from garment.tenant.customers.models import Customer
from garment.tenant.customers.repository import KEYSETS, CustomerRepository
from garment.tenant.customers.states import CustomerSort

ENTITY = "customer"
AUDITED = (
    "name",
    "type",
    "phone",
    "email",
    "address",
    "npwp",
    "nik",
    "nitku",
    "credit_days",
    "credit_limit",
    "notes",
    "archived",
)
# The cursor names the list it continues: `n.` by name, `c.` newest first.
CURSOR_PREFIXES = {CustomerSort.NAME: "n", CustomerSort.NEWEST: "c"}
SORT_OF_PREFIX = {prefix: sort for sort, prefix in CURSOR_PREFIXES.items()}


def cursor_pattern() -> str:
    parts = [
        f"{CURSOR_PREFIXES[sort]}\\.(?:{keyset.pattern[1:-1]})" for sort, keyset in KEYSETS.items()
    ]
    return "^(?:" + "|".join(parts) + ")$"


def cursor_max_length() -> int:
    return 2 + max(keyset.max_length for keyset in KEYSETS.values())


def npwp16(npwp: str) -> str:
    return npwp if len(npwp) == 16 else "0" + npwp


def check_tax_ids(values: dict[str, Any]) -> None:
    """Rules across fields (each field's own format is the schema's): a NITKU is the
    customer's 16-digit NPWP plus a 6-digit place."""
    problems = FieldErrors()
    nitku, npwp = values.get("nitku"), values.get("npwp")
    if nitku:
        if not npwp:
            problems.add("body.npwp", NITKU_NEEDS_NPWP)
        elif nitku[:16] != npwp16(npwp):
            problems.add("body.nitku", NITKU_NOT_OF_NPWP, npwp=npwp16(npwp))
    problems.raise_if_any()


class CustomerService:
    cursor_pattern = staticmethod(cursor_pattern)
    cursor_max_length = staticmethod(cursor_max_length)

    async def create(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        values: dict[str, Any],
    ) -> Customer:
        check_tax_ids(values)
        now = datetime.now(UTC)
        customer = await CustomerRepository(session).create(
            Customer(tenant_id=tenant_id, id=uuid.uuid4(), created_at=now, updated_at=now, **values)
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type=ENTITY,
            entity_id=customer.id,
            after=snapshot(customer, AUDITED),
        )
        await publish(
            central,
            CustomerCreated(tenant_id=tenant_id, customer_id=customer.id, version=customer.version),
        )
        return customer

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
    ) -> Customer:
        """The customer; another tenant's id is 404 like a missing one."""
        customer = await CustomerRepository(session).of_tenant(tenant_id, customer_id)
        if customer is None:
            raise AppError(RESOURCE_NOT_FOUND)
        return customer

    async def update(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID,
        customer_id: uuid.UUID,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> Customer:
        """Apply `changes` (only the members the client sent) when `expected_version` (If-Match)
        is still current; a stale one is 409 CONFLICT and changes nothing."""
        customer = await self.get(session, tenant_id, customer_id)
        check_version(customer, expected_version)
        before = snapshot(customer, AUDITED)
        changes = present_changes(Customer, changes)
        check_tax_ids({**before, **changes})
        if not any(getattr(customer, name) != value for name, value in changes.items()):
            return customer
        changes["updated_at"] = datetime.now(UTC)
        await apply_changes(session, customer, expected_version, changes)
        after = snapshot(customer, AUDITED)
        action = AuditAction.UPDATE
        if before["archived"] != after["archived"]:
            action = AuditAction.ARCHIVE if after["archived"] else AuditAction.RESTORE
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=action,
            entity_type=ENTITY,
            entity_id=customer.id,
            before=before,
            after=after,
        )
        await publish(
            central,
            CustomerUpdated(
                tenant_id=tenant_id,
                customer_id=customer.id,
                version=customer.version,
                action=action,
            ),
        )
        return customer

    async def archive(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID,
        customer_id: uuid.UUID,
        *,
        expected_version: int | None,
    ) -> Customer:
        return await self.update(
            session,
            central,
            tenant_id,
            actor_id,
            customer_id,
            {"archived": True},
            expected_version=expected_version,
        )

    async def list_customers(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        sort: CustomerSort,
        search: str | None,
        customer_type: str | None,
        include_archived: bool,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page. A cursor continues the list it came from (its sort), whatever `sort`
        says; the next cursor carries the sort again."""
        cursor = page.cursor
        if cursor:
            prefix, _, cursor = cursor.partition(".")
            sort = SORT_OF_PREFIX[prefix]
        rows, next_cursor = await CustomerRepository(session).listed(
            tenant_id,
            sort=sort,
            search=search,
            customer_type=customer_type,
            include_archived=include_archived,
            page=PageParams(limit=page.limit, cursor=cursor or None),
        )
        if next_cursor is not None:
            next_cursor = f"{CURSOR_PREFIXES[sort]}.{next_cursor}"
        return rows, next_cursor
