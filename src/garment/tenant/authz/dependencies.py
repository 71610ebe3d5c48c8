"""The role service and the acting member for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.tenant.authz.service import Actor, RoleService
from garment.tenant.context import TenantMember


async def role_service(request: Request) -> RoleService:
    return cast(RoleService, app_services(request).roles)


Roles = Annotated[RoleService, Depends(role_service)]


def actor_of(member: TenantMember) -> Actor:
    """Who acts, as the role and member rules need it (plain values)."""
    return Actor(
        tenant_id=member.tenant_id,
        user_id=member.user_id,
        plan_code=member.tenant.plan_code,
        permissions=member.permissions,
    )
