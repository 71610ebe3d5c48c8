"""HTTP layer of tenancy on the Core API: onboarding, tenant selection, invitations."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from garment.central.auth.activities import ActivityType, record_activity
from garment.central.auth.dependencies import AUTHENTICATION_ERRORS, CurrentPrincipal
from garment.central.tenancy.errors import INVITATION_EMAIL_MISMATCH, INVITATION_INVALID
from garment.central.tenancy.models import Tenant
from garment.central.tenancy.provisioning import PROVISION_TASK, provisioning_dedupe_key
from garment.central.tenancy.schemas import (
    AcceptInvitationRequest,
    CreateTenantRequest,
    ProvisioningStepOut,
    TenantDetail,
    TenantList,
    TenantOut,
    TenantTokenRequest,
    TenantTokenResponse,
)
from garment.platform.errors import (
    AUTH_EMAIL_NOT_VERIFIED,
    CLUSTER_UNAVAILABLE,
    RESOURCE_NOT_FOUND,
    TENANT_ACCESS_DENIED,
    TENANT_CANCELLED,
    TENANT_PROVISIONING,
    TENANT_SUSPENDED,
    VALIDATION_FAILED,
    AppError,
)
from garment.platform.http.dependencies import CentralSession, RuntimeDep
from garment.platform.http.openapi import error_responses
from garment.tenant.authz.service import grant_roles, member_role_keys

router = APIRouter(tags=["tenancy"])


def tenant_out(tenant: Tenant, roles: list[str] | None = None) -> TenantOut:
    return TenantOut(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        status=tenant.status,
        plan_code=tenant.plan_code,
        roles=roles or [],
        usable=tenant.status == "active",
    )


@router.post(
    "/tenants",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TenantOut,
    summary="Create a tenant (business); provisioning starts at once",
    responses=error_responses(*AUTHENTICATION_ERRORS, AUTH_EMAIL_NOT_VERIFIED, VALIDATION_FAILED),
)
async def create_tenant(
    body: CreateTenantRequest,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: CentralSession,
) -> TenantOut:
    if principal.user.email_verified_at is None:
        raise AppError(AUTH_EMAIL_NOT_VERIFIED)
    tenant = await runtime.tenancy.create_tenant(
        session,
        owner_id=principal.user.id,
        name=body.name,
        slug=body.slug,
        plan_code=body.plan_code,
        billing_interval=body.billing_interval,
        region_hint=body.region,
    )
    # In the same transaction: the job exists exactly when the tenant does.
    await runtime.jobs.enqueue_in(
        session,
        PROVISION_TASK,
        {"tenant_id": str(tenant.id)},
        dedupe_key=provisioning_dedupe_key(tenant.id),
    )
    return tenant_out(tenant, ["owner"])


@router.get(
    "/tenants/{tenant_id}",
    response_model=TenantDetail,
    summary="A tenant the caller belongs to, with its provisioning progress (poll this)",
    responses=error_responses(*AUTHENTICATION_ERRORS, RESOURCE_NOT_FOUND),
)
async def get_tenant(
    tenant_id: uuid.UUID,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: CentralSession,
) -> TenantDetail:
    tenant = await runtime.tenancy.get(session, tenant_id)
    membership = await runtime.tenancy.membership(session, tenant_id, principal.user.id)
    if tenant is None or membership is None or membership.status != "active":
        raise AppError(RESOURCE_NOT_FOUND)
    steps = await runtime.tenancy.provisioning_steps(session, tenant_id)
    return TenantDetail(
        **tenant_out(tenant, list(membership.role_keys)).model_dump(),
        created_at=tenant.created_at,
        provisioned_at=tenant.provisioned_at,
        provisioning=[
            ProvisioningStepOut(
                step=s.step,
                status=s.status,
                attempts=s.attempts,
                started_at=s.started_at,
                finished_at=s.finished_at,
            )
            for s in steps
        ],
    )


@router.get(
    "/auth/tenants",
    response_model=TenantList,
    tags=["auth"],
    summary="The caller's tenants with status and roles (the tenant picker)",
    responses=error_responses(*AUTHENTICATION_ERRORS),
)
async def my_tenants(
    principal: CurrentPrincipal, runtime: RuntimeDep, session: CentralSession
) -> TenantList:
    tenants = await runtime.tenancy.tenants_of(session, principal.user.id)
    return TenantList(
        data=[
            TenantOut(
                id=t.id,
                slug=t.slug,
                name=t.name,
                status=t.status,
                plan_code=t.plan_code,
                roles=t.roles,
                usable=t.usable,
            )
            for t in tenants
        ]
    )


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
    body: TenantTokenRequest,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: CentralSession,
) -> TenantTokenResponse:
    sessions = runtime.auth.sessions
    tokens = runtime.auth.components.tokens
    if body.tenant_id is None:
        await sessions.select_tenant(session, principal.session.id, None)
        token, lifetime = await tokens.issue(
            user_id=principal.user.id,
            session_id=principal.session.id,
            amr=list(principal.session.amr),
        )
        return TenantTokenResponse(
            access_token=token, expires_in=lifetime, scope="central", tenant=None
        )
    tenant = await runtime.tenancy.require_usable_member(session, body.tenant_id, principal.user.id)
    await sessions.select_tenant(session, principal.session.id, tenant.id)
    token, lifetime = await tokens.issue(
        user_id=principal.user.id,
        session_id=principal.session.id,
        amr=list(principal.session.amr),
        tenant_id=tenant.id,
    )
    await record_activity(
        session,
        ActivityType.TENANT_TOKEN_ISSUED,
        user_id=principal.user.id,
        session_id=principal.session.id,
        tenant_id=tenant.id,
    )
    membership = await runtime.tenancy.membership(session, tenant.id, principal.user.id)
    roles = list(membership.role_keys) if membership else []
    return TenantTokenResponse(
        access_token=token, expires_in=lifetime, scope="tenant", tenant=tenant_out(tenant, roles)
    )


@router.post(
    "/invitations/accept",
    response_model=TenantOut,
    tags=["tenancy"],
    summary="Accept an invitation (signed in with the invited email)",
    responses=error_responses(
        *AUTHENTICATION_ERRORS,
        INVITATION_INVALID,
        INVITATION_EMAIL_MISMATCH,
        CLUSTER_UNAVAILABLE,
        VALIDATION_FAILED,
    ),
)
async def accept_invitation(
    body: AcceptInvitationRequest,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    session: CentralSession,
) -> TenantOut:
    invitation, tenant = await runtime.tenancy.accept_invitation(
        session, body.token, principal.user.id, principal.user.email
    )
    if tenant.cluster_key is not None:
        # Roles live on the cluster; the membership commits after them, so a failure here
        # leaves nothing half-accepted.
        manager = runtime.cluster_manager
        async with manager.tenant_transaction(tenant.cluster_key, tenant.id) as db:
            await grant_roles(db, tenant.id, principal.user.id, list(invitation.role_keys))
            roles = await member_role_keys(db, tenant.id, principal.user.id)
        await runtime.tenancy.set_member_roles(session, tenant.id, principal.user.id, roles)
    membership = await runtime.tenancy.membership(session, tenant.id, principal.user.id)
    return tenant_out(tenant, list(membership.role_keys) if membership else [])
