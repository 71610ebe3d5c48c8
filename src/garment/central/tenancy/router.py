"""HTTP layer of tenancy on the Core API: onboarding, tenant selection, invitations, and the
platform-admin view of tenants and clusters."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request, Response, status

from garment.central.auth.dependencies import AUTHENTICATION_ERRORS, CurrentPrincipal, PlatformAdmin
from garment.central.tenancy.dependencies import Tenancy
from garment.central.tenancy.errors import (
    INVITATION_EMAIL_MISMATCH,
    INVITATION_INVALID,
    TENANT_SLUG_TAKEN,
)
from garment.central.tenancy.schemas import (
    AcceptInvitationRequest,
    AdminTenantList,
    ClusterList,
    ClusterOut,
    CreateTenantRequest,
    TenantDetail,
    TenantList,
    TenantOut,
    TenantTokenRequest,
    TenantTokenResponse,
)
from garment.central.tenancy.service import describe_tenant
from garment.central.tenancy.states import TenantStatus
from garment.platform.errors import (
    AUTH_EMAIL_NOT_VERIFIED,
    CLUSTER_UNAVAILABLE,
    PERMISSION_DENIED,
    RATE_LIMITED,
    RESOURCE_NOT_FOUND,
    TENANT_ACCESS_DENIED,
    TENANT_CANCELLED,
    TENANT_PROVISIONING,
    TENANT_SUSPENDED,
    VALIDATION_FAILED,
)
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import created, error_responses
from garment.platform.http.routing import Router

router = Router(tags=["tenancy"])
admin_router = Router(prefix="/admin", tags=["admin"])


@router.post(
    "/tenants",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TenantOut,
    summary="Create a tenant (business); provisioning starts at once",
    responses={
        **created(202, "Registered; provisioning runs.", "The tenant: poll it for progress."),
        **error_responses(
            *AUTHENTICATION_ERRORS,
            AUTH_EMAIL_NOT_VERIFIED,
            TENANT_SLUG_TAKEN,
            VALIDATION_FAILED,
            RATE_LIMITED,
        ),
    },
)
async def create_tenant(
    body: CreateTenantRequest,
    principal: CurrentPrincipal,
    tenancy: Tenancy,
    session: CentralSession,
    request: Request,
    response: Response,
) -> TenantOut:
    tenant = await tenancy.create_tenant(
        session,
        owner=principal.user,
        name=body.name,
        slug=body.slug,
        plan_code=body.plan_code,
        billing_interval=body.billing_interval,
        region_hint=body.region,
    )
    response.headers["Location"] = request.url_for("get_tenant", tenant_id=str(tenant.id)).path
    return TenantOut.model_validate(tenant)


@router.get(
    "/tenants/{tenant_id}",
    response_model=TenantDetail,
    summary="A tenant the caller belongs to, with its provisioning progress (poll this)",
    responses=error_responses(*AUTHENTICATION_ERRORS, RESOURCE_NOT_FOUND),
)
async def get_tenant(
    tenant_id: uuid.UUID, principal: CurrentPrincipal, tenancy: Tenancy, session: CentralSession
) -> TenantDetail:
    return await tenancy.detail_for_member(session, tenant_id, principal.user.id)


@router.get(
    "/auth/tenants",
    response_model=TenantList,
    tags=["auth"],
    summary="The caller's tenants with status and roles (the tenant picker)",
    responses=error_responses(*AUTHENTICATION_ERRORS),
)
async def my_tenants(principal: CurrentPrincipal, tenancy: Tenancy) -> TenantList:
    tenants = await tenancy.tenants_of(principal.user.id)
    return TenantList(data=[TenantOut.model_validate(tenant) for tenant in tenants])


@router.post(
    "/auth/tenant-token",
    response_model=TenantTokenResponse,
    tags=["auth"],
    summary="Select a tenant: a tenant-scoped access token (refresh keeps the selection)",
    responses=error_responses(
        *AUTHENTICATION_ERRORS,
        TENANT_ACCESS_DENIED,
        TENANT_SUSPENDED,
        TENANT_PROVISIONING,
        TENANT_CANCELLED,
        VALIDATION_FAILED,
    ),
)
async def tenant_token(
    body: TenantTokenRequest, principal: CurrentPrincipal, tenancy: Tenancy, session: CentralSession
) -> TenantTokenResponse:
    grant = await tenancy.issue_tenant_token(
        session, principal, body.tenant_id, for_billing=body.purpose == "billing"
    )
    return TenantTokenResponse.model_validate(grant)


@router.post(
    "/invitations/accept",
    response_model=TenantOut,
    tags=["tenancy"],
    summary="Accept an invitation (signed in with the invited email)",
    responses=error_responses(
        *AUTHENTICATION_ERRORS,
        INVITATION_INVALID,
        INVITATION_EMAIL_MISMATCH,
        TENANT_SUSPENDED,
        CLUSTER_UNAVAILABLE,
        VALIDATION_FAILED,
    ),
)
async def accept_invitation(
    body: AcceptInvitationRequest,
    principal: CurrentPrincipal,
    tenancy: Tenancy,
    session: CentralSession,
) -> TenantOut:
    tenant = await tenancy.accept_invitation(session, body.token, principal.user)
    return TenantOut.model_validate(tenant)


# --- platform admins ------------------------------------------------------------------------

ADMIN_ERRORS = (*AUTHENTICATION_ERRORS, PERMISSION_DENIED)


@admin_router.get(
    "/clusters",
    response_model=ClusterList,
    summary="Cluster registry joined with configuration (platform admins)",
    responses=error_responses(*ADMIN_ERRORS),
)
async def list_clusters(
    admin: PlatformAdmin, tenancy: Tenancy, session: CentralSession
) -> ClusterList:
    overview = await tenancy.cluster_overview(session)
    return ClusterList(data=[ClusterOut.model_validate(row) for row in overview])


@admin_router.get(
    "/clusters/{key}/probe",
    summary="Probe one cluster: reachability, migrations, RLS and role safety",
    responses=error_responses(*ADMIN_ERRORS),
)
async def probe_cluster(
    key: str, admin: PlatformAdmin, tenancy: Tenancy, session: CentralSession
) -> dict[str, Any]:
    return (await tenancy.probe_cluster(session, key)).as_dict()


@admin_router.get(
    "/tenants",
    response_model=AdminTenantList,
    summary="Tenants across the platform (platform admins)",
    responses=error_responses(*ADMIN_ERRORS, VALIDATION_FAILED),
)
async def list_tenants(
    admin: PlatformAdmin,
    tenancy: Tenancy,
    session: CentralSession,
    status: Annotated[TenantStatus | None, Query()] = None,
    cluster: Annotated[str | None, Query(max_length=63)] = None,
) -> AdminTenantList:
    tenants = await tenancy.list_tenants(session, status=status, cluster=cluster)
    return AdminTenantList(data=[describe_tenant(tenant) for tenant in tenants])
