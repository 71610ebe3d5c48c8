"""The tenant context on every Tenant API request (chapter 07):

1. RequestContext        request id, client ip, locale (middleware)
2. Authenticate          bearer token, scope `tenant`, audience `garment-tenant`; session live
3. SetTenantContext      the tenant is the token's `tid`; X-Tenant-ID must be present (400)
4. ValidateTenantToken   X-Tenant-ID (id or slug, case and space ignored) must name that tenant;
                         else 403 + a mismatch activity, the same answer whether or not the
                         header names an existing tenant
5. EnsureTenantUsable    active membership; tenant status allows the request
6. TenantSession         transaction on the tenant's cluster, `app.tenant_id` set as it begins
   (or TenantReader)     the same, read-only and without an ORM session, for hot GET lists
7. RequirePermission     the route's declared permission against the member's roles

Steps 2-5 run as one dependency (`EnsureTenantUsable`), each step a named object so the incident
playbook reads true against the code. Everything they read from a database is cached with
invalidation that reaches every process (session liveness, the tenant row, the membership, the
role definitions), so a request with warm caches touches no database before its handler runs:
its only round trips are its own, on its cluster.

Each route declares its permission once (`RequirePermission("members.manage")` or
`AnyMember`); a test walks every tenant route and fails when one has none. Handlers receive a
`TenantMember` of plain values and an RLS-bound session, so a query that forgets its tenant
filter still sees only this tenant's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.dependencies import BearerCredentials, bearer_scheme
from garment.central.auth.ports import AUDIENCE_TENANT, Principal, TokenScope
from garment.central.tenancy.errors import TENANT_MAINTENANCE
from garment.central.tenancy.service import MemberRecord, TenantRef, status_error
from garment.central.tenancy.states import TenantStatus
from garment.platform.context import enter_tenant_in_context, identify_in_context
from garment.platform.db import ReadTransaction
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
from garment.platform.http.dependencies import app_services
from garment.platform.http.routing import DECLINED
from garment.tenant.authz.service import default_access

TENANT_HEADER = "X-Tenant-ID"
# The spaces HTTP allows around a header value; the document calls a header of only these blank.
HEADER_SPACE = " \t"
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

TENANT_HEADER_MAX_LENGTH = 64
TenantHeader = Annotated[
    str | None,
    Header(
        alias=TENANT_HEADER,
        max_length=TENANT_HEADER_MAX_LENGTH,
        description="The selected tenant: its id or slug (the one the token was issued for).",
    ),
]


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


def names_tenant(header: str, tenant: TenantRef) -> bool:
    """Whether an X-Tenant-ID value names this tenant: its id in any case or spelling a UUID
    parser accepts, or its slug; surrounding space and case are ignored."""
    value = header.strip(HEADER_SPACE).lower()
    if value == tenant.slug:
        return True
    try:
        return uuid.UUID(value) == tenant.id
    except ValueError:
        return False


async def authenticate_tenant(
    services: Any, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """Step 2: a tenant-scoped token of a live session."""
    if credentials is None or not credentials.credentials:
        raise AppError(AUTH_TOKEN_MISSING)
    auth = services.auth
    claims = await auth.tokens.verify(credentials.credentials, AUDIENCE_TENANT)
    if claims.scope is not TokenScope.TENANT or claims.tid is None:
        raise AppError(AUTH_TOKEN_INVALID)
    auth_session, user = await auth.sessions.live(claims.sid, claims.sub)
    identify_in_context(user.id, auth_session.id)
    return Principal(user=user, session=auth_session, claims=claims)


class SetTenantContext:
    """Step 3: the request's tenant is the one the token was issued for (`tid`); the header
    must be there so a front end always says which tenant it thinks it is in."""

    async def __call__(self, services: Any, principal: Principal, header: str | None) -> TenantRef:
        if not header or not header.strip(HEADER_SPACE):
            raise AppError(TENANT_HEADER_MISSING)
        tenant_id = principal.claims.tid
        assert tenant_id is not None  # authenticate_tenant checked the scope
        tenant: TenantRef | None = await services.tenancy.tenant_ref(tenant_id)
        if tenant is None:  # the token's own tenant no longer exists
            raise AppError(TENANT_NOT_FOUND)
        enter_tenant_in_context(tenant.id)
        return tenant


class ValidateTenantToken:
    """Step 4 (incident playbook 2): X-Tenant-ID must name the token's tenant. The header is
    only compared, never looked up, so the answer is the same whether it names another existing
    tenant or nothing at all: the Tenant API never reveals which tenants exist."""

    async def __call__(
        self, services: Any, principal: Principal, tenant: TenantRef, header: str
    ) -> None:
        if names_tenant(header, tenant):
            return
        async with services.central.transaction() as session:
            await services.auth.activities.record_tenant_mismatch(
                session,
                user_id=principal.user.id,
                session_id=principal.session.id,
                token_tenant_id=tenant.id,
                header_value=header,
            )
        raise AppError(TENANT_CONTEXT_MISMATCH)


class EnsureTenantUsable:
    """Step 5, and the dependency that runs steps 2-5: the membership is still active and the
    tenant's status allows this request. `allow_suspended` opens a route to suspended tenants
    (billing, so they can pay); `allow_awaiting_payment` to tenants waiting for the first
    payment of a paid plan (`pending`: not provisioned, so the route must not need a cluster)."""

    def __init__(
        self, *, allow_suspended: bool = False, allow_awaiting_payment: bool = False
    ) -> None:
        self.allow_suspended = allow_suspended
        self.allow_awaiting_payment = allow_awaiting_payment

    def admits(self, status: TenantStatus) -> bool:
        """Whether this route is open to a tenant in `status` that is not active."""
        if self.allow_suspended and status is TenantStatus.SUSPENDED:
            return True
        return self.allow_awaiting_payment and status is TenantStatus.PENDING

    async def __call__(
        self, request: Request, credentials: BearerCredentials, x_tenant_id: TenantHeader = None
    ) -> TenantMember:
        return await self.resolve(app_services(request), credentials, x_tenant_id, request.method)

    async def solve_from_request(self, request: Request) -> TenantMember:
        """What solving this dependency's parameters and calling it does, in one call (the
        compiled plan's shortcut, ADR 0030; the fast lane of `/tenant/me` calls it too): the
        bearer token and `X-Tenant-ID` taken as the parameters take them. `DECLINED` for what
        FastAPI refuses before the chain runs, an over-long `X-Tenant-ID`, so that request gets
        FastAPI's own 422."""
        header = request.headers.get(TENANT_HEADER)
        if header is not None and len(header) > TENANT_HEADER_MAX_LENGTH:
            declined: TenantMember = DECLINED
            return declined
        credentials = await bearer_scheme(request)
        return await self.resolve(app_services(request), credentials, header, request.method)

    async def resolve(
        self,
        services: Any,
        credentials: HTTPAuthorizationCredentials | None,
        x_tenant_id: str | None,
        method: str,
    ) -> TenantMember:
        """Steps 2-5 on values already taken from the request (the route's dependency and
        the fast lane of `/tenant/me` both call this)."""
        principal = await authenticate_tenant(services, credentials)
        tenant = await set_tenant_context(services, principal, x_tenant_id)
        await validate_tenant_token(services, principal, tenant, x_tenant_id or "")
        membership: MemberRecord | None = await services.tenancy.member_record(
            tenant.id, principal.user.id
        )
        if membership is None or not membership.active:
            raise AppError(TENANT_ACCESS_DENIED)
        if not self.admits(tenant.status):
            error = status_error(tenant.status)
            if error is not None:
                raise error
        if tenant.read_only and method not in SAFE_METHODS:
            raise AppError(TENANT_MAINTENANCE, params={"retry_after": READ_ONLY_RETRY_SECONDS})
        user = principal.user
        return TenantMember(
            user_id=user.id,
            email=user.email,
            name=user.name,
            locale=user.locale,
            session_id=principal.session.id,
            tenant=tenant,
            role_keys=membership.role_keys,
        )


set_tenant_context = SetTenantContext()
validate_tenant_token = ValidateTenantToken()
ensure_tenant_usable = EnsureTenantUsable()
UsableTenantMember = Annotated[TenantMember, Depends(ensure_tenant_usable)]


async def tenant_session(
    request: Request, member: UsableTenantMember
) -> AsyncIterator[AsyncSession]:
    """The request's transaction on the tenant's cluster, bound to the tenant by RLS; it
    commits before the response is sent and rolls back on any error. No connection is taken
    until the first statement runs."""
    manager = app_services(request).cluster_manager
    async with manager.tenant_transaction(member.cluster_key, member.tenant.id) as session:
        yield session


TenantSession = Annotated[AsyncSession, Depends(tenant_session, scope="function")]


async def tenant_reader(
    request: Request, member: UsableTenantMember
) -> AsyncIterator[ReadTransaction]:
    """A read-only transaction on the tenant's cluster, bound to the tenant by RLS, without an
    ORM session: what a hot GET list declares instead of `TenantSession` (it cannot write, and
    costs a fraction of a session; bench/README.md). No connection is taken until it reads."""
    manager = app_services(request).cluster_manager
    async with manager.tenant_reader(member.cluster_key, member.tenant.id) as reader:
        yield reader


TenantReader = Annotated[ReadTransaction, Depends(tenant_reader, scope="function")]


class RequirePermission:
    """Step 7: the member's effective permissions (the union of their roles, from cached role
    definitions) must include `permission`. `RequirePermission(None)` admits any active member
    and is how a route says so explicitly. It takes no database session itself: a route that
    reads tenant data declares `TenantSession`, one that does not (`/tenant/me`) takes none."""

    def __init__(self, permission: str | None) -> None:
        self.permission = permission

    def __repr__(self) -> str:
        return f"RequirePermission({self.permission!r})"

    async def __call__(self, request: Request, member: UsableTenantMember) -> TenantMember:
        return await self.authorize(app_services(request), member)

    async def authorize(self, services: Any, member: TenantMember) -> TenantMember:
        if not member.authorized:
            roles = services.roles
            member.roles, member.permissions = await roles.access(
                member.tenant_id, member.cluster_key, member.role_keys
            )
            member.authorized = True
        if self.permission is not None and self.permission not in member.permissions:
            raise AppError(PERMISSION_DENIED, extra={"permission": self.permission})
        return member


any_member = RequirePermission(None)
AnyMember = Annotated[TenantMember, Depends(any_member)]

# The billing routes: open to suspended tenants and to those waiting for their first payment.
ensure_billing_reachable = EnsureTenantUsable(allow_suspended=True, allow_awaiting_payment=True)
BillingReachableMember = Annotated[TenantMember, Depends(ensure_billing_reachable)]


class RequireBillingPermission(RequirePermission):
    """Step 7 on the billing routes' chain. A tenant waiting for its first payment has no
    cluster yet, so no role definitions: its members are judged by the default roles' grants
    (the owner's role grants `billing.*`)."""

    async def __call__(self, request: Request, member: BillingReachableMember) -> TenantMember:
        if not member.authorized and member.tenant.cluster_key is None:
            member.roles, member.permissions = default_access(member.role_keys)
            member.authorized = True
        return await self.authorize(app_services(request), member)


def member_summary(member: TenantMember) -> dict[str, Any]:
    """The member as `/tenant/me` shows it."""
    return {
        "id": str(member.user_id),
        "email": member.email,
        "name": member.name,
        "locale": member.locale,
    }
