"""Resolve the caller once: bearer token -> verified claims -> live session -> user.

Handlers declare what they need (`CurrentPrincipal`, `RecentPrincipal`, `PlatformAdmin`, the
`Auth` service); the dependencies also document the bearer scheme and their error codes in
OpenAPI. The principal is plain values (`ports.Principal`), never ORM rows.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from garment.central.auth.activities import ActivityService
from garment.central.auth.errors import AUTH_REAUTH_REQUIRED
from garment.central.auth.ports import (
    AUDIENCE_CORE,
    AUDIENCE_TENANT,
    AccessClaims,
    Principal,
)
from garment.central.auth.service import AuthService
from garment.platform.context import current_context, identify_in_context
from garment.platform.errors import (
    AUTH_SESSION_REVOKED,
    AUTH_TOKEN_EXPIRED,
    AUTH_TOKEN_INVALID,
    AUTH_TOKEN_MISSING,
    PERMISSION_DENIED,
    RATE_LIMITED,
    AppError,
)
from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.platform.ratelimit import RateLimiter

bearer_scheme = HTTPBearer(auto_error=False, description="Access token from POST /auth/login.")

AUTHENTICATION_ERRORS = (
    AUTH_TOKEN_MISSING,
    AUTH_TOKEN_INVALID,
    AUTH_TOKEN_EXPIRED,
    AUTH_SESSION_REVOKED,
)
RATE_LIMIT_ERRORS = (RATE_LIMITED,)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def auth_service(request: Request) -> AuthService:
    return cast(AuthService, app_services(request).auth)


Auth = Annotated[AuthService, Depends(auth_service)]


async def verified_claims(
    auth: AuthService,
    credentials: HTTPAuthorizationCredentials | None,
    audience: str | tuple[str, ...],
) -> AccessClaims:
    if credentials is None or not credentials.credentials:
        raise AppError(AUTH_TOKEN_MISSING)
    return await auth.tokens.verify(credentials.credentials, audience)


async def principal_for(auth: AuthService, claims: AccessClaims) -> Principal:
    """The live session and user behind verified claims (AUTH_SESSION_REVOKED otherwise)."""
    auth_session, user = await auth.sessions.live(claims.sid, claims.sub)
    identify_in_context(user.id, auth_session.id)
    return Principal(user=user, session=auth_session, claims=claims)


async def authenticate(auth: Auth, credentials: BearerCredentials) -> Principal:
    # Account-level endpoints accept the session's token in either scope: after a tenant is
    # selected the front end holds one tenant-scoped token, and signing out must still work.
    claims = await verified_claims(auth, credentials, (AUDIENCE_CORE, AUDIENCE_TENANT))
    return await principal_for(auth, claims)


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


async def recent_principal(auth: Auth, principal: CurrentPrincipal) -> Principal:
    """Sensitive changes need a login or `POST /auth/reauth` within `auth.reauth_minutes`."""
    if not auth.sessions.recently_authenticated(principal.session):
        raise AppError(AUTH_REAUTH_REQUIRED)
    return principal


RecentPrincipal = Annotated[Principal, Depends(recent_principal)]


async def platform_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.user.is_platform_admin:
        raise AppError(PERMISSION_DENIED)
    return principal


PlatformAdmin = Annotated[Principal, Depends(platform_admin)]


async def auth_rate_limit(request: Request) -> None:
    """Every auth endpoint is rate limited. A signed-in caller (a valid bearer token) is counted
    by session (`rate_limit.per_session`); a refresh by address and device
    (`auth.ip_rate_limit`) and by address overall (`rate_limit.refresh_per_ip`); everything
    else by address (`auth.ip_rate_limit`)."""
    services = app_services(request)
    limiter = cast(RateLimiter, services.limiter)
    settings = services.settings
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    session_id = await _signed_in_session(services, request)
    if session_id is not None:
        await limiter.enforce(settings.rate_limit.per_session, "auth-session", path, session_id)
        return
    ip = current_context().client_ip or "unknown"
    if path.endswith("/refresh"):
        device = request.headers.get("x-device-fingerprint", "")[:128]
        await limiter.enforce(settings.rate_limit.refresh_per_ip, "auth-refresh", ip)
        await limiter.enforce(settings.auth.ip_rate_limit, "auth", path, ip, device)
        return
    await limiter.enforce(settings.auth.ip_rate_limit, "auth", path, ip)


async def _signed_in_session(services: Any, request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = await services.auth.tokens.verify(token, (AUDIENCE_CORE, AUDIENCE_TENANT))
    except AppError:
        return None  # an invalid token is counted by address, and refused by the route
    return str(claims.sid)


DeviceFingerprint = Annotated[
    str | None,
    Header(
        alias="X-Device-Fingerprint",
        max_length=512,
        description="Opaque per-device string from the front end; only its SHA-256 is stored.",
    ),
]

# `limit` and `cursor` of activity lists; the cursor's schema is their exact format.
ActivityPage = Annotated[PageParams, Depends(ActivityService.keyset.params())]
