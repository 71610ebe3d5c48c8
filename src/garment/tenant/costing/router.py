"""Order costing (HPP) on the Tenant API: read-only, behind `invoices.view` (cost and margin
are finance figures: the finance, admin, owner and viewer roles hold it; sales does not)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from garment.platform.errors import RESOURCE_NOT_FOUND, VALIDATION_FAILED
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)
from garment.tenant.conventions.dependencies import ConventionRoute
from garment.tenant.costing.dependencies import Costing
from garment.tenant.costing.schemas import CostingOut

router = Router(prefix="/tenant/orders", tags=["tenant"], route_class=ConventionRoute)

FinanceViewer = Annotated[TenantMember, Depends(RequirePermission("invoices.view"))]


@router.get(
    "/{order_id}/costing",
    response_model=CostingOut,
    summary="Order costing (HPP): planned vs actual cost per order, line and piece, and the margin",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def order_costing(
    order_id: uuid.UUID, member: FinanceViewer, costing: Costing, db: TenantSession
) -> CostingOut:
    return await costing.order_costing(db, member.tenant_id, order_id)
