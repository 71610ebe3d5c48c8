"""The audit service for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.audit.service import AuditService


async def audit_service(request: Request) -> AuditService:
    return cast(AuditService, app_services(request).audit)


Audit = Annotated[AuditService, Depends(audit_service)]
AuditPage = Annotated[PageParams, Depends(AuditService.keyset.params())]
