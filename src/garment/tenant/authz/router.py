"""`GET /tenant/me` (and its fast lane) and the permission catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated, cast

from fastapi import Depends, Request, Response, status

from garment.central.billing.service import PlanCatalogue
from garment.central.tenancy.dependencies import Tenancy
from garment.central.tenancy.schemas import MeOut, TenantOut
from garment.central.tenancy.service import TenancyService
from garment.platform.errors import CONFLICT, RESOURCE_NOT_FOUND, VALIDATION_FAILED, AppError
from garment.platform.http.dependencies import CentralSession, app_services
from garment.platform.http.handlers import handle_app_error
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import DECLINED, Router
from garment.tenant.authz.dependencies import Roles, actor_of
from garment.tenant.authz.permissions import PERMISSIONS
from garment.tenant.authz.schemas import (
    PermissionList,
    PermissionOut,
    RoleCreate,
    RoleList,
    RoleOut,
    RoleUpdate,
)
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    AnyMember,
    RequirePermission,
    TenantMember,
    TenantSession,
    any_member,
    ensure_tenant_usable,
    member_summary,
)
from garment.tenant.conventions.dependencies import (
    IDEMPOTENCY_ERRORS,
    ConventionRoute,
    Idempotent,
    IfMatch,
    etag_response,
    set_etag,
)
from garment.tenant.conventions.errors import PLAN_FEATURE_UNAVAILABLE
from garment.tenant.members.dependencies import Members

router = Router(prefix="/tenant", tags=["tenant"])


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
    return await me_answer(member, tenancy, plans)


async def me_answer(member: TenantMember, tenancy: TenancyService, plans: PlanCatalogue) -> MeOut:
    """`/tenant/me`'s answer, for the route and for its fast lane (`me_lane`)."""
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


async def me_lane(request: Request) -> Response | None:
    """The fast lane of `GET /tenant/me` (ADR 0026): the route's own steps, without FastAPI's
    routing and dependency solving, which are most of what `/tenant/me` costs with warm caches.
    It takes the bearer token and `X-Tenant-ID` as the route's dependencies do and declines (the
    route then answers) what FastAPI refuses before the chain runs: an over-long `X-Tenant-ID`.

    Keep it in step with `me`: a dependency added there must be called here too.
    `tests/tenancy/test_fast_lane.py` compares both answers over every outcome of the chain; it
    would not notice a side effect only the route has.
    """
    services = app_services(request)
    try:
        member = await ensure_tenant_usable.solve_from_request(request)
        if member is DECLINED:
            return None
        await any_member.authorize(services, member)
        answer = await me_answer(member, services.tenancy, services.plans)
    except AppError as error:
        return await handle_app_error(request, error)
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/permissions",
    response_model=PermissionList,
    summary="The permission catalogue (`resource.action`)",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def permissions(member: AnyMember) -> PermissionList:
    return PermissionList(data=[PermissionOut.model_validate(p) for p in PERMISSIONS])


# --- roles -------------------------------------------------------------------------------------

roles_router = Router(prefix="/tenant/roles", tags=["tenant"], route_class=ConventionRoute)
RoleViewer = Annotated[TenantMember, Depends(RequirePermission("roles.view"))]
RoleManager = Annotated[TenantMember, Depends(RequirePermission("roles.manage"))]


@roles_router.get(
    "",
    response_model=RoleList,
    summary="The tenant's roles with their permissions (default roles first)",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def list_roles(member: RoleViewer, roles: Roles, db: TenantSession) -> RoleList:
    views = await roles.list_roles(db, member.tenant_id)
    return RoleList(data=[RoleOut.model_validate(view) for view in views])


@roles_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RoleOut,
    summary="Create a custom role (plan feature `custom_roles`; only permissions you hold)",
    responses={
        **etag_response(201, "Created.", location="The new role."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            CONFLICT,
            PLAN_FEATURE_UNAVAILABLE,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def create_role(
    body: RoleCreate,
    member: RoleManager,
    roles: Roles,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> RoleOut:
    view = await roles.create_role(
        db,
        actor_of(member),
        key=body.key,
        name_id=body.name_id,
        name_en=body.name_en,
        permissions=body.permissions,
    )
    response.headers["Location"] = request.url_for("update_role", role_id=str(view.id)).path
    set_etag(response, view.version)
    return RoleOut.model_validate(view)


@roles_router.patch(
    "/{role_id}",
    response_model=RoleOut,
    summary="Rename a custom role or replace its permissions (If-Match; effective on the next "
    "request)",
    responses={
        **etag_response(200, "The changed role."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            PLAN_FEATURE_UNAVAILABLE,
        ),
    },
)
async def update_role(
    role_id: uuid.UUID,
    body: RoleUpdate,
    member: RoleManager,
    roles: Roles,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> RoleOut:
    view = await roles.update_role(
        db,
        actor_of(member),
        role_id,
        name_id=body.name_id,
        name_en=body.name_en,
        permissions=body.permissions,
        expected_version=expected,
    )
    set_etag(response, view.version)
    return RoleOut.model_validate(view)


@roles_router.delete(
    "/{role_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a custom role nobody holds",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT
    ),
)
async def delete_role(
    role_id: uuid.UUID,
    member: RoleManager,
    members: Members,
    db: TenantSession,
    central: CentralSession,
) -> Response:
    await members.delete_role(central, db, actor_of(member), role_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
