"""`GET /tenant/me` and the permission catalogue."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request

from garment.central.billing.service import PlanCatalogue
from garment.central.tenancy.dependencies import Tenancy
from garment.central.tenancy.schemas import MeOut, TenantOut
from garment.platform.http.dependencies import app_services
from garment.platform.http.openapi import error_responses
from garment.tenant.authz.permissions import PERMISSIONS
from garment.tenant.authz.schemas import PermissionList, PermissionOut
from garment.tenant.context import TENANT_CHAIN_ERRORS, AnyMember, member_summary

router = APIRouter(prefix="/tenant", tags=["tenant"])


async def plan_catalogue(request: Request) -> PlanCatalogue:
    return cast(PlanCatalogue, app_services(request).plans)


Plans = Annotated[PlanCatalogue, Depends(plan_catalogue)]


@router.get(
    "/me",
    response_model=MeOut,
    summary="The member: profile, roles, effective permissions, plan entitlements and usage",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def me(member: AnyMember, tenancy: Tenancy, plans: Plans) -> MeOut:
    tenant = member.tenant
    return MeOut(
        user=member_summary(member),
        tenant=TenantOut(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            status=tenant.status,
            plan_code=tenant.plan_code,
            roles=member.roles,
            usable=True,
        ),
        roles=member.roles,
        permissions=sorted(member.permissions),
        entitlements=plans.entitlements(tenant.plan_code),
        usage={"members": await tenancy.member_count(tenant.id)},
    )


@router.get(
    "/permissions",
    response_model=PermissionList,
    summary="The permission catalogue (`resource.action`)",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def permissions(member: AnyMember) -> PermissionList:
    return PermissionList(data=[PermissionOut.model_validate(p) for p in PERMISSIONS])
