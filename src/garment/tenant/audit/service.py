"""The audit writer every tenant context calls on each create/update/delete, and the audit
log list (`GET /tenant/audit-logs`).

    await record_change(db, tenant_id=member.tenant_id, actor_id=member.user_id,
                        action="update", entity_type="customer", entity_id=customer.id,
                        before=before, after=snapshot(customer, CUSTOMER_FIELDS))

The row is written in the caller's tenant transaction (it commits or vanishes with the change)
and carries the request id of the running request (`RequestContext`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.context import current_context
from garment.platform.pagination import PageParams
from garment.tenant.audit.repository import AUDIT_KEYSET, AuditLogRepository
from garment.tenant.conventions.service import Entitlements


class AuditAction:
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ARCHIVE = "archive"
    RESTORE = "restore"


def jsonable(value: Any) -> Any:
    """A value as the audit row's JSON holds it (ids and times as text, decimals exact)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return str(value)


def snapshot(entity: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The audited fields of an entity, JSON-ready."""
    return {name: jsonable(getattr(entity, name)) for name in fields}


def diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """`{"before": {...}, "after": {...}}` with only the fields that differ (all of them on a
    create or a delete)."""
    old = {key: jsonable(value) for key, value in (before or {}).items()}
    new = {key: jsonable(value) for key, value in (after or {}).items()}
    changed = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
    return {
        "before": {key: old[key] for key in changed if key in old},
        "after": {key: new[key] for key in changed if key in new},
    }


async def record_change(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction."""
    await AuditLogRepository(session).append(
        {
            "tenant_id": tenant_id,
            "id": uuid.uuid4(),
            "occurred_at": datetime.now(UTC),
            "actor_id": actor_id,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "changes": diff(before, after),
            "request_id": current_context().request_id,
        }
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: uuid.UUID | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


class AuditService:
    keyset = AUDIT_KEYSET

    def __init__(self, entitlements: Entitlements) -> None:
        self.entitlements = entitlements

    async def list_logs(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        filters: AuditFilter,
        page: PageParams,
        *,
        plan_code: str,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page, newest first; the plan's `audit_log_days` hides older rows."""
        occurred_from = filters.occurred_from
        retention_days = self.entitlements.of(plan_code)["features"].get("audit_log_days")
        if retention_days is not None:
            floor = datetime.now(UTC) - timedelta(days=int(retention_days))
            occurred_from = max(occurred_from, floor) if occurred_from else floor
        return await AuditLogRepository(session).listed(
            tenant_id,
            {
                "entity_type": filters.entity_type,
                "entity_id": filters.entity_id,
                "actor_id": filters.actor_id,
                "occurred_from": occurred_from,
                "occurred_to": filters.occurred_to,
            },
            page,
        )
