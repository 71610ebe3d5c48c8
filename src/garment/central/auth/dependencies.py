"""Resolve the caller once: bearer token -> verified claims -> live session -> user.

Handlers declare what they need (`CurrentPrincipal`, `RecentPrincipal`, `PlatformAdmin`); the
dependencies also document the bearer scheme and their error codes in OpenAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from garment.central.auth.errors import AUTH_REAUTH_REQUIRED
from garment.central.auth.keys import AUDIENCE_CORE, AUDIENCE_TENANT, AccessClaims
from garment.central.auth.models import AuthSession, User
from garment.platform.context import current_context, update_context
from garment.platform.errors import (
    AUTH_SESSION_REVOKED,
    AUTH_TOKEN_EXPIRED,
    AUTH_TOKEN_INVALID,
    AUTH_TOKEN_MISSING,
    PERMISSION_DENIED,
    RATE_LIMITED,
    AppError,
)
from garment.platform.http.dependencies import CentralSession, get_runtime

bearer_scheme = HTTPBearer(auto_error=False, description="Access token from POST /auth/login.")

AUTHENTICATION_ERRORS = (
    AUTH_TOKEN_MISSING,
    AUTH_TOKEN_INVALID,
    AUTH_TOKEN_EXPIRED,
    AUTH_SESSION_REVOKED,
)


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    session: AuthSession
    claims: AccessClaims


async def verified_claims(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    audience: str | tuple[str, ...],
) -> AccessClaims:
    if credentials is None or not credentials.credentials:
        raise AppError(AUTH_TOKEN_MISSING)
    runtime = get_runtime(request)
    return await runtime.auth.components.tokens.verify(credentials.credentials, audience)


async def authenticate(
    request: Request,
    session: CentralSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    # Account-level endpoints accept the session's token in either scope: after a tenant is
    # selected the front end holds one tenant-scoped token, and signing out must still work.
    claims = await verified_claims(request, credentials, (AUDIENCE_CORE, AUDIENCE_TENANT))
    runtime = get_runtime(request)
    auth_session, user = await runtime.auth.sessions.live_session(session, claims.sid, claims.sub)
    update_context(user_id=user.id, session_id=auth_session.id)
    return Principal(user=user, session=auth_session, claims=claims)


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


async def recent_principal(request: Request, principal: CurrentPrincipal) -> Principal:
    """Sensitive changes need a login or `POST /auth/reauth` within `auth.reauth_minutes`."""
    if not get_runtime(request).auth.sessions.recently_authenticated(principal.session):
        raise AppError(AUTH_REAUTH_REQUIRED)
    return principal


RecentPrincipal = Annotated[Principal, Depends(recent_principal)]


async def platform_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.user.is_platform_admin:
        raise AppError(PERMISSION_DENIED)
    return principal


PlatformAdmin = Annotated[Principal, Depends(platform_admin)]


async def auth_rate_limit(request: Request) -> None:
    """Per client IP and endpoint, on every auth endpoint (`auth.ip_rate_limit`)."""
    runtime = get_runtime(request)
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    ip = current_context().client_ip or "unknown"
    await runtime.limiter.enforce(runtime.settings.auth.ip_rate_limit, "auth", path, ip)


DeviceFingerprint = Annotated[
    str | None,
    Header(
        alias="X-Device-Fingerprint",
        max_length=512,
        description="Opaque per-device string from the front end; only its SHA-256 is stored.",
    ),
]

RATE_LIMIT_ERRORS = (RATE_LIMITED,)
