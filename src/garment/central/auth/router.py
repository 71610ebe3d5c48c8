"""HTTP layer of central auth: `/api/v1/auth/*`, `/api/v1/admin/*` (auth part) and the JWKS."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Query, Response, status
from pydantic import BaseModel

from garment.central.auth.dependencies import (
    AUTHENTICATION_ERRORS,
    ActivityPage,
    Auth,
    CurrentPrincipal,
    DeviceFingerprint,
    PlatformAdmin,
    RecentPrincipal,
    auth_rate_limit,
)
from garment.central.auth.errors import (
    AUTH_LINK_INVALID,
    AUTH_MFA_CHALLENGE_EXPIRED,
    AUTH_MFA_INVALID,
    AUTH_PASSWORD_INCORRECT,
    AUTH_REAUTH_REQUIRED,
)
from garment.central.auth.ports import ActivityType, AuthenticatedUser, SuspiciousReason
from garment.central.auth.schemas import (
    Accepted,
    ActivityOut,
    ChangePasswordRequest,
    EmailBody,
    Jwks,
    LoginRequest,
    LoginResponse,
    MfaCodeBody,
    MfaEnrollment,
    MfaVerifyRequest,
    PasswordBody,
    RecoveryCodes,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    SessionList,
    SessionOut,
    TenantOut,
    TokenBody,
    TokenResponse,
    UserOut,
)
from garment.central.auth.service import ActivityFilter, AuthService, TokenPair, next_step
from garment.platform.contract import Rfc3339
from garment.platform.errors import (
    AUTH_ACCOUNT_LOCKED,
    AUTH_EMAIL_NOT_VERIFIED,
    AUTH_FINGERPRINT_MISMATCH,
    AUTH_INVALID_CREDENTIALS,
    AUTH_MFA_REQUIRED,
    AUTH_REFRESH_INVALID,
    AUTH_REFRESH_REPLAYED,
    CONFLICT,
    PERMISSION_DENIED,
    RATE_LIMITED,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
)
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.platform.pagination import Page, PageMeta

router = Router(
    prefix="/auth",
    tags=["auth"],
    dependencies=[Depends(auth_rate_limit)],
)
# Routes anyone may call without signing in take small bodies only, read or not: a stranger
# must not make the server buffer megabytes (the signed-in limit is `http.max_body_bytes`).
PUBLIC_BODY_LIMIT = 16 * 1024
admin_router = Router(prefix="/admin", tags=["admin"])
jwks_router = Router(tags=["auth"])


class StatusBody(BaseModel):
    status: str


class RevokedCount(BaseModel):
    sessions_revoked: int


async def login_response(
    auth: AuthService, user: AuthenticatedUser, pair: TokenPair
) -> LoginResponse:
    tenants = await auth.tenant_directory.tenants_of(user.id)
    return LoginResponse(
        **TokenResponse.model_validate(pair).model_dump(),
        user=UserOut.model_validate(user),
        tenants=[TenantOut.model_validate(tenant) for tenant in tenants],
        next=next_step(tenants),
    )


# --- accounts -------------------------------------------------------------------------------


@router.post(
    "/register",
    max_body_size=PUBLIC_BODY_LIMIT,
    status_code=status.HTTP_201_CREATED,
    response_model=Accepted,
    summary="Register an account (a verification mail follows)",
    responses=error_responses(VALIDATION_FAILED, RATE_LIMITED),
)
async def register(body: RegisterRequest, auth: Auth, session: CentralSession) -> Accepted:
    await auth.accounts.register(
        session, email=body.email, password=body.password, name=body.name, locale=body.locale
    )
    return Accepted()


@router.post(
    "/email/verify",
    max_body_size=PUBLIC_BODY_LIMIT,
    response_model=StatusBody,
    summary="Verify an email address with the token from the mail",
    responses=error_responses(AUTH_LINK_INVALID, VALIDATION_FAILED, RATE_LIMITED),
)
async def verify_email(body: TokenBody, auth: Auth, session: CentralSession) -> StatusBody:
    await auth.accounts.verify_email(session, body.token)
    return StatusBody(status="verified")


@router.post(
    "/email/resend",
    max_body_size=PUBLIC_BODY_LIMIT,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Send the verification mail again (same answer for any email)",
    responses=error_responses(VALIDATION_FAILED, RATE_LIMITED),
)
async def resend_verification(body: EmailBody, auth: Auth, session: CentralSession) -> Accepted:
    await auth.accounts.request_verification_mail(session, body.email)
    return Accepted()


@router.post(
    "/password/forgot",
    max_body_size=PUBLIC_BODY_LIMIT,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Mail a password reset link (same answer for any email)",
    responses=error_responses(VALIDATION_FAILED, RATE_LIMITED),
)
async def forgot_password(body: EmailBody, auth: Auth, session: CentralSession) -> Accepted:
    await auth.accounts.request_password_reset(session, body.email)
    return Accepted()


@router.post(
    "/password/reset",
    max_body_size=PUBLIC_BODY_LIMIT,
    response_model=StatusBody,
    summary="Set a new password with the reset token; signs out every session",
    responses=error_responses(AUTH_LINK_INVALID, VALIDATION_FAILED, RATE_LIMITED),
)
async def reset_password(
    body: ResetPasswordRequest, auth: Auth, session: CentralSession
) -> StatusBody:
    await auth.accounts.reset_password(session, body.token, body.password)
    return StatusBody(status="password_reset")


@router.post(
    "/password/change",
    response_model=RevokedCount,
    summary="Change the password; signs out every other session",
    responses=error_responses(
        *AUTHENTICATION_ERRORS, AUTH_PASSWORD_INCORRECT, VALIDATION_FAILED, RATE_LIMITED
    ),
)
async def change_password(
    body: ChangePasswordRequest,
    principal: CurrentPrincipal,
    auth: Auth,
    session: CentralSession,
) -> RevokedCount:
    revoked = await auth.accounts.change_password(
        session, principal, body.current_password, body.new_password
    )
    return RevokedCount(sessions_revoked=revoked)


@router.get(
    "/me",
    response_model=UserOut,
    summary="The signed-in user",
    responses=error_responses(*AUTHENTICATION_ERRORS, RATE_LIMITED),
)
async def me(principal: CurrentPrincipal) -> UserOut:
    return UserOut.model_validate(principal.user)


# --- login and sessions ---------------------------------------------------------------------


@router.post(
    "/login",
    max_body_size=PUBLIC_BODY_LIMIT,
    response_model=LoginResponse,
    summary="Sign in with email and password",
    responses=error_responses(
        AUTH_INVALID_CREDENTIALS,
        AUTH_MFA_REQUIRED,
        AUTH_EMAIL_NOT_VERIFIED,
        AUTH_ACCOUNT_LOCKED,
        VALIDATION_FAILED,
        RATE_LIMITED,
    ),
)
async def login(
    body: LoginRequest, auth: Auth, fingerprint: DeviceFingerprint = None
) -> LoginResponse:
    result = await auth.accounts.login(
        email=body.email, password=body.password, fingerprint=fingerprint
    )
    return await login_response(auth, result.user, result.tokens)


@router.post(
    "/mfa/verify",
    max_body_size=PUBLIC_BODY_LIMIT,
    response_model=LoginResponse,
    summary="Complete a login that answered AUTH_MFA_REQUIRED",
    responses=error_responses(
        AUTH_MFA_INVALID,
        AUTH_MFA_CHALLENGE_EXPIRED,
        AUTH_ACCOUNT_LOCKED,
        VALIDATION_FAILED,
        RATE_LIMITED,
    ),
)
async def verify_mfa(
    body: MfaVerifyRequest, auth: Auth, fingerprint: DeviceFingerprint = None
) -> LoginResponse:
    user, pair = await auth.mfa.verify_challenge(body.challenge_id, body.code, fingerprint)
    return await login_response(auth, user, pair)


@router.post(
    "/refresh",
    max_body_size=PUBLIC_BODY_LIMIT,
    response_model=TokenResponse,
    summary="Rotate the refresh token and get a new access token",
    responses=error_responses(
        AUTH_REFRESH_INVALID,
        AUTH_REFRESH_REPLAYED,
        AUTH_FINGERPRINT_MISMATCH,
        VALIDATION_FAILED,
        RATE_LIMITED,
    ),
)
async def refresh(
    body: RefreshRequest, auth: Auth, fingerprint: DeviceFingerprint = None
) -> TokenResponse:
    pair = await auth.sessions.refresh(body.refresh_token, fingerprint)
    return TokenResponse.model_validate(pair)


@router.post(
    "/reauth",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm the password before a sensitive change",
    responses=error_responses(
        *AUTHENTICATION_ERRORS, AUTH_PASSWORD_INCORRECT, AUTH_ACCOUNT_LOCKED, RATE_LIMITED
    ),
)
async def reauth(
    body: PasswordBody, principal: CurrentPrincipal, auth: Auth, session: CentralSession
) -> Response:
    await auth.accounts.reauthenticate(session, principal, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out this session",
    responses=error_responses(*AUTHENTICATION_ERRORS, RATE_LIMITED),
)
async def logout(principal: CurrentPrincipal, auth: Auth, session: CentralSession) -> Response:
    await auth.sessions.logout(session, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out every session of this user",
    responses=error_responses(*AUTHENTICATION_ERRORS, RATE_LIMITED),
)
async def logout_all(principal: CurrentPrincipal, auth: Auth, session: CentralSession) -> Response:
    await auth.sessions.logout_everywhere(session, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/sessions",
    response_model=SessionList,
    summary="The user's live sessions (the current one marked)",
    responses=error_responses(*AUTHENTICATION_ERRORS, RATE_LIMITED),
)
async def list_sessions(
    principal: CurrentPrincipal, auth: Auth, session: CentralSession
) -> SessionList:
    sessions = await auth.sessions.list_for(session, principal)
    return SessionList(data=[SessionOut.model_validate(entry) for entry in sessions])


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke one of the user's sessions (force logout of that device)",
    responses=error_responses(
        *AUTHENTICATION_ERRORS, AUTH_REAUTH_REQUIRED, RESOURCE_NOT_FOUND, RATE_LIMITED
    ),
)
async def revoke_session(
    session_id: uuid.UUID,
    principal: CurrentPrincipal,
    auth: Auth,
    session: CentralSession,
) -> Response:
    await auth.sessions.revoke_own(session, principal, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- activities -----------------------------------------------------------------------------

Since = Annotated[
    Rfc3339 | None, Query(description="Only activities at or after this RFC 3339 date-time.")
]
Reason = Annotated[SuspiciousReason | None, Query(description="Only this suspicious reason.")]
RequestIdFilter = Annotated[
    str | None, Query(max_length=128, description="The X-Request-ID of the request.")
]
TypeFilter = Annotated[ActivityType | None, Query(description="Only this activity type.")]


def activity_page(rows: Sequence[Any], cursor: str | None, limit: int) -> Page[ActivityOut]:
    return Page[ActivityOut](
        data=[ActivityOut.model_validate(row) for row in rows],
        meta=PageMeta(next_cursor=cursor, limit=limit),
    )


@router.get(
    "/activities",
    response_model=Page[ActivityOut],
    summary="The user's own auth activities, newest first",
    responses=error_responses(*AUTHENTICATION_ERRORS, VALIDATION_FAILED, RATE_LIMITED),
)
async def my_activities(
    principal: CurrentPrincipal,
    auth: Auth,
    session: CentralSession,
    page: ActivityPage,
    since: Since = None,
    reason: Reason = None,
    request_id: RequestIdFilter = None,
    type: TypeFilter = None,
) -> Page[ActivityOut]:
    criteria = ActivityFilter(
        user_id=principal.user.id, since=since, reason=reason, request_id=request_id, type=type
    )
    rows, cursor = await auth.activities.list(session, criteria, page)
    return activity_page(rows, cursor, page.limit)


@router.get(
    "/activities/suspicious",
    response_model=Page[ActivityOut],
    summary="The user's own suspicious activities, newest first",
    responses=error_responses(*AUTHENTICATION_ERRORS, VALIDATION_FAILED, RATE_LIMITED),
)
async def my_suspicious_activities(
    principal: CurrentPrincipal,
    auth: Auth,
    session: CentralSession,
    page: ActivityPage,
    since: Since = None,
    reason: Reason = None,
    request_id: RequestIdFilter = None,
) -> Page[ActivityOut]:
    criteria = ActivityFilter(
        user_id=principal.user.id,
        since=since,
        reason=reason,
        request_id=request_id,
        suspicious_only=True,
    )
    rows, cursor = await auth.activities.list(session, criteria, page)
    return activity_page(rows, cursor, page.limit)


# --- MFA ------------------------------------------------------------------------------------


@router.post(
    "/mfa/totp/enroll",
    response_model=MfaEnrollment,
    summary="Start TOTP enrolment (needs a recent authentication)",
    responses=error_responses(*AUTHENTICATION_ERRORS, AUTH_REAUTH_REQUIRED, CONFLICT, RATE_LIMITED),
)
async def mfa_enroll(
    principal: RecentPrincipal, auth: Auth, session: CentralSession
) -> MfaEnrollment:
    return MfaEnrollment.model_validate(await auth.mfa.enroll(session, principal.user))


@router.post(
    "/mfa/totp/confirm",
    response_model=RecoveryCodes,
    summary="Confirm enrolment with a code; returns ten recovery codes once",
    responses=error_responses(
        *AUTHENTICATION_ERRORS, AUTH_MFA_INVALID, CONFLICT, VALIDATION_FAILED, RATE_LIMITED
    ),
)
async def mfa_confirm(
    body: MfaCodeBody, principal: CurrentPrincipal, auth: Auth, session: CentralSession
) -> RecoveryCodes:
    codes = await auth.mfa.confirm(session, principal.user, body.code)
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/mfa/totp/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Turn MFA off (needs a recent authentication and a code)",
    responses=error_responses(
        *AUTHENTICATION_ERRORS,
        AUTH_REAUTH_REQUIRED,
        AUTH_MFA_INVALID,
        CONFLICT,
        VALIDATION_FAILED,
        RATE_LIMITED,
    ),
)
async def mfa_disable(
    body: MfaCodeBody, principal: RecentPrincipal, auth: Auth, session: CentralSession
) -> Response:
    await auth.mfa.disable(session, principal.user, body.code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/mfa/recovery-codes",
    response_model=RecoveryCodes,
    summary="Replace the recovery codes (needs a recent authentication)",
    responses=error_responses(*AUTHENTICATION_ERRORS, AUTH_REAUTH_REQUIRED, CONFLICT, RATE_LIMITED),
)
async def mfa_recovery_codes(
    principal: RecentPrincipal, auth: Auth, session: CentralSession
) -> RecoveryCodes:
    codes = await auth.mfa.regenerate_recovery_codes(session, principal.user)
    return RecoveryCodes(recovery_codes=codes)


# --- platform admin -------------------------------------------------------------------------


@admin_router.get(
    "/activities/suspicious",
    response_model=Page[ActivityOut],
    summary="Suspicious activities across users (platform admins)",
    responses=error_responses(*AUTHENTICATION_ERRORS, PERMISSION_DENIED, VALIDATION_FAILED),
)
async def admin_suspicious_activities(
    admin: PlatformAdmin,
    auth: Auth,
    session: CentralSession,
    page: ActivityPage,
    user_id: Annotated[uuid.UUID | None, Query()] = None,
    since: Since = None,
    reason: Reason = None,
    request_id: RequestIdFilter = None,
) -> Page[ActivityOut]:
    criteria = ActivityFilter(
        user_id=user_id, since=since, reason=reason, request_id=request_id, suspicious_only=True
    )
    rows, cursor = await auth.activities.list(session, criteria, page)
    return activity_page(rows, cursor, page.limit)


@admin_router.post(
    "/users/{user_id}/force-logout",
    response_model=RevokedCount,
    summary="Revoke every session of a user at once (incident playbook 1)",
    responses=error_responses(*AUTHENTICATION_ERRORS, PERMISSION_DENIED, RESOURCE_NOT_FOUND),
)
async def admin_force_logout(
    user_id: uuid.UUID, admin: PlatformAdmin, auth: Auth, session: CentralSession
) -> RevokedCount:
    count = await auth.sessions.force_logout(session, user_id, by=admin.user.id)
    return RevokedCount(sessions_revoked=count)


# --- JWKS -----------------------------------------------------------------------------------


JWKS_MAX_AGE_SECONDS = 60


@jwks_router.get(
    "/.well-known/jwks.json",
    response_model=Jwks,
    summary="Public keys that verify our access tokens",
)
async def jwks(response: Response, auth: Auth) -> Jwks:
    await auth.keys.fresh()
    # Shorter than `auth.signing_key_publish_seconds`: a verifier that caches the JWKS this
    # long has the new key before any token from it arrives (two-phase rotation, ADR 0015).
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_SECONDS}"
    return Jwks(**auth.keys.jwks())
