"""`GET /tenant/audit-logs`: who changed what in this tenant, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from garment.platform.contract import Rfc3339
from garment.platform.errors import VALIDATION_FAILED
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.platform.pagination import PageMeta
from garment.tenant.audit.dependencies import Audit, AuditPage
from garment.tenant.audit.schemas import AuditLogList, AuditLogOut
from garment.tenant.audit.service import AuditFilter
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)

router = Router(prefix="/tenant/audit-logs", tags=["tenant"])

AuditViewer = Annotated[TenantMember, Depends(RequirePermission("audit.view"))]
NAME = r"^[a-z][a-z0-9_.-]*$"


@router.get(
    "",
    response_model=AuditLogList,
    summary="The audit log, newest first (filter by entity, actor, time)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_audit_logs(
    member: AuditViewer,
    audit: Audit,
    db: TenantSession,
    page: AuditPage,
    entity_type: Annotated[
        str | None, Query(max_length=48, pattern=NAME, description="e.g. `customer`.")
    ] = None,
    entity_id: Annotated[
        str | None, Query(max_length=64, pattern=r"^[0-9A-Za-z_-]+$", description="Its id.")
    ] = None,
    actor_id: Annotated[uuid.UUID | None, Query(description="Only this member's changes.")] = None,
    occurred_from: Annotated[
        Rfc3339 | None, Query(alias="from", description="At or after this RFC 3339 date-time.")
    ] = None,
    occurred_to: Annotated[
        Rfc3339 | None, Query(alias="to", description="Before this RFC 3339 date-time.")
    ] = None,
) -> AuditLogList:
    rows, cursor = await audit.list_logs(
        db,
        member.tenant_id,
        AuditFilter(entity_type, entity_id, actor_id, occurred_from, occurred_to),
        page,
        plan_code=member.tenant.plan_code,
    )
    return AuditLogList(
        data=[AuditLogOut.model_validate(row) for row in rows],
        meta=PageMeta(next_cursor=cursor, limit=page.limit),
    )
