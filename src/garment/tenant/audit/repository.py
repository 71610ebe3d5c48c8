"""Queries over the audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, select

from garment.platform.pagination import Keyset, KeysetQuery, PageParams
from garment.platform.repository import Repository
from garment.tenant.audit.models import AuditLog

# Newest first; the id breaks ties.
AUDIT_KEYSET = Keyset.of(
    AuditLog.occurred_at,
    AuditLog.id,
    example=(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), uuid.UUID(int=0x4A1)),
)
AUDIT_COLUMNS = (
    AuditLog.id,
    AuditLog.occurred_at,
    AuditLog.actor_id,
    AuditLog.action,
    AuditLog.entity_type,
    AuditLog.entity_id,
    AuditLog.changes,
    AuditLog.request_id,
)
FILTERS = ("entity_type", "entity_id", "actor_id", "occurred_from", "occurred_to")


@cache
def audit_list(used: frozenset[str]) -> KeysetQuery:
    """The audit list for one combination of filters, built once."""
    statement = select(*AUDIT_COLUMNS).where(AuditLog.tenant_id == bindparam("tenant_id"))
    if "entity_type" in used:
        statement = statement.where(AuditLog.entity_type == bindparam("entity_type"))
    if "entity_id" in used:
        statement = statement.where(AuditLog.entity_id == bindparam("entity_id"))
    if "actor_id" in used:
        statement = statement.where(AuditLog.actor_id == bindparam("actor_id"))
    if "occurred_from" in used:
        statement = statement.where(AuditLog.occurred_at >= bindparam("occurred_from"))
    if "occurred_to" in used:
        statement = statement.where(AuditLog.occurred_at < bindparam("occurred_to"))
    return KeysetQuery.build(statement, AUDIT_KEYSET, descending=True)


class AuditLogRepository(Repository[AuditLog]):
    model = AuditLog

    async def append(self, row: dict[str, Any]) -> None:
        await self.session.execute(insert(AuditLog).values(row))

    async def listed(
        self, tenant_id: uuid.UUID, filters: dict[str, Any], page: PageParams
    ) -> tuple[list[dict[str, Any]], str | None]:
        used = {name: value for name, value in filters.items() if value is not None}
        query = audit_list(frozenset(used))
        return await query.page(self.session, page, {"tenant_id": tenant_id, **used})
