"""What central auth shares with the rest of the system: plain value types of the caller, the
verified token, the activity vocabulary, and the port through which auth learns a user's tenants
without importing tenancy.

Tenancy owns memberships; auth only needs a summary to return with the login response and to
compute the `next` hint. Tenancy implements `TenantDirectory`, and the composition root passes
that implementation to `AuthService` when it builds it (dependency inversion keeps auth below
tenancy).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

AUDIENCE_CORE = "garment-core"
AUDIENCE_TENANT = "garment-tenant"


class TokenScope(StrEnum):
    CENTRAL = "central"
    TENANT = "tenant"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an access token."""

    sub: uuid.UUID
    sid: uuid.UUID
    jti: str
    scope: TokenScope
    aud: str
    exp: int
    iat: int
    tid: uuid.UUID | None
    amr: list[str]

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> AccessClaims:
        """Raises ValueError (or KeyError/TypeError) when a claim we rely on is malformed."""
        tid = payload.get("tid")
        return cls(
            sub=uuid.UUID(payload["sub"]),
            sid=uuid.UUID(payload["sid"]),
            jti=str(payload["jti"]),
            scope=TokenScope(payload["scope"]),
            aud=payload["aud"] if isinstance(payload["aud"], str) else payload["aud"][0],
            exp=int(payload["exp"]),
            iat=int(payload["iat"]),
            tid=uuid.UUID(tid) if tid else None,
            amr=[str(method) for method in payload.get("amr", [])],
        )


@dataclass(frozen=True, slots=True)
class AuthenticatedUser:
    """The signed-in user as every other layer sees it (plain values, safe to cache)."""

    id: uuid.UUID
    email: str
    name: str
    locale: str
    email_verified: bool
    mfa_enabled: bool
    is_platform_admin: bool


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """The live session behind an access token."""

    id: uuid.UUID
    user_id: uuid.UUID
    amr: tuple[str, ...]
    authenticated_at: datetime
    absolute_expires_at: datetime
    current_tenant_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request: resolved once, before any handler runs."""

    user: AuthenticatedUser
    session: SessionInfo
    claims: AccessClaims


class ActivityType(StrEnum):
    REGISTERED = "registered"
    EMAIL_VERIFIED = "email_verified"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    ACCOUNT_LOCKED = "account_locked"
    REFRESH = "refresh"
    REFRESH_REUSE_GRACE = "refresh_reuse_grace"
    REFRESH_REPLAY = "refresh_replay"
    FINGERPRINT_MISMATCH = "fingerprint_mismatch"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    SESSION_REVOKED = "session_revoked"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    REAUTHENTICATED = "reauthenticated"
    MFA_ENROLLED = "mfa_enrolled"
    MFA_DISABLED = "mfa_disabled"
    MFA_CHALLENGE_FAILED = "mfa_challenge_failed"
    MFA_RECOVERY_CODE_USED = "mfa_recovery_code_used"
    MFA_RECOVERY_CODES_REGENERATED = "mfa_recovery_codes_regenerated"
    TENANT_TOKEN_ISSUED = "tenant_token_issued"
    TENANT_CONTEXT_MISMATCH = "tenant_context_mismatch"
    ADMIN_FORCE_LOGOUT = "admin_force_logout"
    ADMIN_GRANTED = "admin_granted"


class SuspiciousReason(StrEnum):
    REFRESH_REPLAY = "refresh_replay"
    FINGERPRINT_MISMATCH = "fingerprint_mismatch"
    BRUTE_FORCE = "brute_force"
    NEW_DEVICE = "new_device"
    TENANT_MISMATCH = "tenant_mismatch"
    MFA_BRUTE_FORCE = "mfa_brute_force"


@dataclass(frozen=True, slots=True)
class TenantSummary:
    """A tenant as one of its members sees it in the picker."""

    id: uuid.UUID
    slug: str
    name: str
    status: str
    roles: list[str] = field(default_factory=list)
    usable: bool = False
    plan_code: str = ""


class TenantDirectory(Protocol):
    async def tenants_of(self, user_id: uuid.UUID) -> list[TenantSummary]:
        """The user's active memberships with tenant status, read on a connection of its own
        (outside the caller's unit of work, which changes no membership)."""
        ...


class RevokeReason(StrEnum):
    """Why a session ended (kept on the session row)."""

    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    EXPIRED = "expired"
    FINGERPRINT_MISMATCH = "fingerprint_mismatch"
    REFRESH_REPLAY = "refresh_replay"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    REVOKED_BY_USER = "revoked_by_user"
    ADMIN_FORCE_LOGOUT = "admin_force_logout"
    OPERATOR = "operator"


class TokenPurpose(StrEnum):
    """What a mailed single-use token is for."""

    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


class NextStep(StrEnum):
    ONBOARDING = "onboarding"
    AUTO_SELECT = "auto_select"
    CHOOSE_TENANT = "choose_tenant"
    BILLING_REQUIRED = "billing_required"
