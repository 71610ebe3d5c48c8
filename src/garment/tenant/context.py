"""The tenant context on every Tenant API request (chapter 07), as a chain of dependencies:

1. RequestContext        request id, client ip, locale (middleware)
2. Authenticate          bearer token, scope `tenant`, audience `garment-tenant`; session live
3. SetTenantContext      X-Tenant-ID (uuid or slug) -> tenant; 400 missing, 404 unknown
4. ValidateTenantToken   the token's `tid` must be that tenant; else 403 + mismatch activity
5. EnsureTenantUsable    active membership; tenant status allows the request
6. TenantSession         transaction on the tenant's cluster, `app.tenant_id` set first
7. RequirePermission     the route's declared permission against the member's roles

Each route declares its permission once (`RequirePermission("members.manage")` or
`AnyMember`); a test walks every tenant route and fails when one has none. Handlers receive a
`TenantMember` and an RLS-bound session, so a query that forgets its tenant filter still sees
only this tenant's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.activities import record_tenant_mismatch
from garment.central.auth.dependencies import bearer_scheme, verified_claims
from garment.central.auth.keys import AUDIENCE_TENANT, AccessClaims
from garment.central.auth.models import AuthSession, User
from garment.central.tenancy.errors import TENANT_MAINTENANCE
from garment.central.tenancy.service import TenantRef, status_error
from garment.platform.context import update_context
from garment.platform.errors import (
    AUTH_SESSION_REVOKED,
    AUTH_TOKEN_EXPIRED,
    AUTH_TOKEN_INVALID,
    AUTH_TOKEN_MISSING,
    CLUSTER_UNAVAILABLE,
    PERMISSION_DENIED,
    TENANT_ACCESS_DENIED,
    TENANT_CANCELLED,
    TENANT_CONTEXT_MISMATCH,
    TENANT_HEADER_MISSING,
    TENANT_NOT_FOUND,
    TENANT_PROVISIONING,
    TENANT_SUSPENDED,
    AppError,
    ErrorSpec,
)
from garment.platform.http.dependencies import CentralSession, get_runtime
from garment.tenant.authz.service import roles_and_permissions

TENANT_HEADER = "X-Tenant-ID"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_RETRY_SECONDS = 30

# Every code the chain can answer, for each tenant route's OpenAPI `responses`.
TENANT_CHAIN_ERRORS: tuple[ErrorSpec, ...] = (
    AUTH_TOKEN_MISSING,
    AUTH_TOKEN_INVALID,
    AUTH_TOKEN_EXPIRED,
    AUTH_SESSION_REVOKED,
    TENANT_HEADER_MISSING,
    TENANT_NOT_FOUND,
    TENANT_CONTEXT_MISMATCH,
    TENANT_ACCESS_DENIED,
    TENANT_PROVISIONING,
    TENANT_SUSPENDED,
    TENANT_CANCELLED,
    TENANT_MAINTENANCE,
    CLUSTER_UNAVAILABLE,
    PERMISSION_DENIED,
)


@dataclass(frozen=True, slots=True)
class TenantPrincipal:
    user: User
    session: AuthSession
    claims: AccessClaims


@dataclass(frozen=True, slots=True)
class ResolvedTenant:
    principal: TenantPrincipal
    tenant: TenantRef


@dataclass(slots=True)
class TenantMember:
    """The caller inside one tenant, resolved once per request."""

    user: User
    session: AuthSession
    tenant: TenantRef
    roles: list[str] = field(default_factory=list)
    permissions: frozenset[str] = field(default_factory=frozenset)
    authorized: bool = False

    @property
    def cluster_key(self) -> str:
        assert self.tenant.cluster_key is not None  # usable tenants always have one
        return self.tenant.cluster_key


async def authenticate_tenant(
    request: Request,
    central: CentralSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> TenantPrincipal:
    claims = await verified_claims(request, credentials, AUDIENCE_TENANT)
    if claims.scope != "tenant" or claims.tid is None:
        raise AppError(AUTH_TOKEN_INVALID)
    runtime = get_runtime(request)
    auth_session, user = await runtime.auth.sessions.live_session(central, claims.sid, claims.sub)
    update_context(user_id=user.id, session_id=auth_session.id)
    return TenantPrincipal(user=user, session=auth_session, claims=claims)


class SetTenantContext:
    """Resolve X-Tenant-ID (uuid or slug) to a tenant."""

    async def __call__(
        self,
        request: Request,
        central: CentralSession,
        principal: Annotated[TenantPrincipal, Depends(authenticate_tenant)],
        x_tenant_id: Annotated[
            str | None,
            Header(
                alias=TENANT_HEADER,
                max_length=64,
                description="The selected tenant: its id or slug.",
            ),
        ] = None,
    ) -> ResolvedTenant:
        if not x_tenant_id or not x_tenant_id.strip():
            raise AppError(TENANT_HEADER_MISSING)
        tenant = await get_runtime(request).tenancy.resolve(central, x_tenant_id.strip())
        update_context(tenant_id=tenant.id)
        return ResolvedTenant(principal=principal, tenant=tenant)


set_tenant_context = SetTenantContext()


class ValidateTenantToken:
    """The token's `tid` must name the tenant the request is for (incident playbook 2)."""

    async def __call__(
        self,
        request: Request,
        central: CentralSession,
        resolved: Annotated[ResolvedTenant, Depends(set_tenant_context)],
    ) -> ResolvedTenant:
        token_tenant = resolved.principal.claims.tid
        if token_tenant != resolved.tenant.id:
            settings = get_runtime(request).settings.auth
            await record_tenant_mismatch(
                central,
                user_id=resolved.principal.user.id,
                session_id=resolved.principal.session.id,
                token_tenant_id=token_tenant,
                header_tenant_id=resolved.tenant.id,
                threshold=settings.tenant_mismatch_threshold,
                window_minutes=settings.tenant_mismatch_window_minutes,
            )
            # Both ids are in the activity row; the answer names neither, so a header cannot
            # be used to turn slugs into tenant ids.
            raise AppError(TENANT_CONTEXT_MISMATCH, keep_changes=True)
        return resolved


validate_tenant_token = ValidateTenantToken()


class EnsureTenantUsable:
    """Membership still active; the tenant's status allows this request."""

    def __init__(self, *, allow_suspended: bool = False) -> None:
        self.allow_suspended = allow_suspended

    async def __call__(
        self,
        request: Request,
        central: CentralSession,
        resolved: Annotated[ResolvedTenant, Depends(validate_tenant_token)],
    ) -> TenantMember:
        runtime = get_runtime(request)
        tenant = resolved.tenant
        membership = await runtime.tenancy.membership(
            central, tenant.id, resolved.principal.user.id
        )
        if membership is None or membership.status != "active":
            raise AppError(TENANT_ACCESS_DENIED)
        if not (self.allow_suspended and tenant.status == "suspended"):
            error = status_error(tenant)
            if error is not None:
                raise error
        if tenant.read_only and request.method not in SAFE_METHODS:
            raise AppError(TENANT_MAINTENANCE, params={"retry_after": READ_ONLY_RETRY_SECONDS})
        return TenantMember(
            user=resolved.principal.user, session=resolved.principal.session, tenant=tenant
        )


ensure_tenant_usable = EnsureTenantUsable()
UsableTenantMember = Annotated[TenantMember, Depends(ensure_tenant_usable)]


async def tenant_session(
    request: Request, member: UsableTenantMember
) -> AsyncIterator[AsyncSession]:
    """The request's transaction on the tenant's cluster, bound to the tenant by RLS; it
    commits before the response is sent and rolls back on any error."""
    manager = get_runtime(request).cluster_manager
    async with manager.tenant_transaction(member.cluster_key, member.tenant.id) as session:
        yield session


TenantSession = Annotated[AsyncSession, Depends(tenant_session, scope="function")]


class RequirePermission:
    """Authorize: the member's effective permissions (union of their roles, computed once per
    request) must include `permission`. `RequirePermission(None)` admits any active member and
    is how a route says so explicitly."""

    def __init__(self, permission: str | None) -> None:
        self.permission = permission

    def __repr__(self) -> str:
        return f"RequirePermission({self.permission!r})"

    async def __call__(self, member: UsableTenantMember, db: TenantSession) -> TenantMember:
        if not member.authorized:
            member.roles, member.permissions = await roles_and_permissions(
                db, member.tenant.id, member.user.id
            )
            member.authorized = True
        if self.permission is not None and self.permission not in member.permissions:
            raise AppError(PERMISSION_DENIED, extra={"permission": self.permission})
        return member


AnyMember = Annotated[TenantMember, Depends(RequirePermission(None))]
