"""`GET /tenant/me` and the permission catalogue."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from garment.central.billing.catalogue import plan_entitlements
from garment.central.tenancy.schemas import MeOut, TenantOut
from garment.platform.http.dependencies import CentralSession, RuntimeDep
from garment.platform.http.openapi import error_responses
from garment.tenant.authz.permissions import PERMISSIONS
from garment.tenant.context import TENANT_CHAIN_ERRORS, AnyMember

router = APIRouter(prefix="/tenant", tags=["tenant"])


class PermissionOut(BaseModel):
    key: str
    description_id: str
    description_en: str


class PermissionList(BaseModel):
    data: list[PermissionOut]


@router.get(
    "/me",
    response_model=MeOut,
    summary="The member: profile, roles, effective permissions, plan entitlements and usage",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def me(member: AnyMember, runtime: RuntimeDep, central: CentralSession) -> MeOut:
    tenant = member.tenant
    roles = member.roles
    return MeOut(
        user={
            "id": str(member.user.id),
            "email": member.user.email,
            "name": member.user.name,
            "locale": member.user.locale,
        },
        tenant=TenantOut(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            status=tenant.status,
            plan_code=tenant.plan_code,
            roles=roles,
            usable=True,
        ),
        roles=roles,
        permissions=sorted(member.permissions),
        entitlements=plan_entitlements(tenant.plan_code),
        usage={"members": await runtime.tenancy.count_members(central, tenant.id)},
    )


@router.get(
    "/permissions",
    response_model=PermissionList,
    summary="The permission catalogue (`resource.action`)",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def permissions(member: AnyMember) -> PermissionList:
    return PermissionList(
        data=[
            PermissionOut(
                key=p.key, description_id=p.description_id, description_en=p.description_en
            )
            for p in PERMISSIONS
        ]
    )
