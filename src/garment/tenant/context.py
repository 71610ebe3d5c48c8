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
`TenantMember` of plain values and an RLS-bound session, so a query that forgets its tenant
filter still sees only this tenant's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.dependencies import (
    Auth,
    BearerCredentials,
    principal_for,
    verified_claims,
)
from garment.central.auth.ports import AUDIENCE_TENANT, Principal, TokenScope
from garment.central.clusters.service import ClusterConnectionManager
from garment.central.tenancy.dependencies import Tenancy
from garment.central.tenancy.errors import TENANT_MAINTENANCE
from garment.central.tenancy.service import TenantRef, status_error
from garment.central.tenancy.states import TenantStatus
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
from garment.platform.http.dependencies import CentralSession, app_services
from garment.tenant.authz.service import RoleService

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


@dataclass(slots=True)
class TenantMember:
    """The caller inside one tenant, resolved once per request (plain values only)."""

    user_id: uuid.UUID
    email: str
    name: str
    locale: str
    session_id: uuid.UUID
    tenant: TenantRef
    role_keys: tuple[str, ...]
    roles: list[str] = field(default_factory=list)
    permissions: frozenset[str] = field(default_factory=frozenset)
    authorized: bool = False

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.id

    @property
    def cluster_key(self) -> str:
        assert self.tenant.cluster_key is not None  # usable tenants always have one
        return self.tenant.cluster_key


@dataclass(frozen=True, slots=True)
class ResolvedTenant:
    principal: Principal
    tenant: TenantRef


def _roles(request: Request) -> RoleService:
    return cast(RoleService, app_services(request).roles)


def _clusters(request: Request) -> ClusterConnectionManager:
    return cast(ClusterConnectionManager, app_services(request).cluster_manager)


async def authenticate_tenant(
    auth: Auth, central: CentralSession, credentials: BearerCredentials
) -> Principal:
    claims = await verified_claims(auth, credentials, AUDIENCE_TENANT)
    if claims.scope is not TokenScope.TENANT or claims.tid is None:
        raise AppError(AUTH_TOKEN_INVALID)
    return await principal_for(auth, central, claims)


class SetTenantContext:
    """Resolve X-Tenant-ID (uuid or slug) to a tenant."""

    async def __call__(
        self,
        tenancy: Tenancy,
        central: CentralSession,
        principal: Annotated[Principal, Depends(authenticate_tenant)],
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
        tenant = await tenancy.resolve(central, x_tenant_id)
        update_context(tenant_id=tenant.id)
        return ResolvedTenant(principal=principal, tenant=tenant)


set_tenant_context = SetTenantContext()


class ValidateTenantToken:
    """The token's `tid` must name the tenant the request is for (incident playbook 2)."""

    async def __call__(
        self,
        auth: Auth,
        central: CentralSession,
        resolved: Annotated[ResolvedTenant, Depends(set_tenant_context)],
        x_tenant_id: Annotated[str | None, Header(alias=TENANT_HEADER, max_length=64)] = None,
    ) -> ResolvedTenant:
        principal = resolved.principal
        token_tenant = principal.claims.tid
        if token_tenant != resolved.tenant.id:
            await auth.activities.record_tenant_mismatch(
                central,
                user_id=principal.user.id,
                session_id=principal.session.id,
                token_tenant_id=token_tenant,
                header_value=x_tenant_id or "",
                header_tenant_id=resolved.tenant.id,
            )
            # Both values are in the activity row; the answer names neither, so a header cannot
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
        tenancy: Tenancy,
        central: CentralSession,
        resolved: Annotated[ResolvedTenant, Depends(validate_tenant_token)],
    ) -> TenantMember:
        tenant = resolved.tenant
        user = resolved.principal.user
        membership = await tenancy.membership(central, tenant.id, user.id)
        if membership is None or not membership.active:
            raise AppError(TENANT_ACCESS_DENIED)
        if not (self.allow_suspended and tenant.status is TenantStatus.SUSPENDED):
            error = status_error(tenant.status)
            if error is not None:
                raise error
        if tenant.read_only and request.method not in SAFE_METHODS:
            raise AppError(TENANT_MAINTENANCE, params={"retry_after": READ_ONLY_RETRY_SECONDS})
        return TenantMember(
            user_id=user.id,
            email=user.email,
            name=user.name,
            locale=user.locale,
            session_id=resolved.principal.session.id,
            tenant=tenant,
            role_keys=membership.role_keys,
        )


ensure_tenant_usable = EnsureTenantUsable()
UsableTenantMember = Annotated[TenantMember, Depends(ensure_tenant_usable)]


async def tenant_session(
    request: Request, member: UsableTenantMember
) -> AsyncIterator[AsyncSession]:
    """The request's transaction on the tenant's cluster, bound to the tenant by RLS; it
    commits before the response is sent and rolls back on any error."""
    manager = _clusters(request)
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

    async def __call__(
        self, request: Request, member: UsableTenantMember, db: TenantSession
    ) -> TenantMember:
        if not member.authorized:
            member.roles, member.permissions = await _roles(request).permissions_for(
                db, member.tenant.id, member.role_keys
            )
            member.authorized = True
        if self.permission is not None and self.permission not in member.permissions:
            raise AppError(PERMISSION_DENIED, extra={"permission": self.permission})
        return member


AnyMember = Annotated[TenantMember, Depends(RequirePermission(None))]


def member_summary(member: TenantMember) -> dict[str, Any]:
    """The member as `/tenant/me` shows it."""
    return {
        "id": str(member.user_id),
        "email": member.email,
        "name": member.name,
        "locale": member.locale,
    }
