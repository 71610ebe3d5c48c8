"""Request and response bodies of the auth API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from garment.central.auth.ports import NextStep
from garment.platform.contract import TRIMMED_TEXT, Email, RequestBody, rule

# A new password. Its lengths are the configured policy's (filled in by the composition root);
# the policy also refuses common passwords and ones containing the email's name.
Password = Field(
    min_length=1,
    max_length=1024,
    description="A new password: at least `auth.password_min_length` characters (8 by default), "
    "at most `auth.password_max_length`, not a common password, not containing your email's name.",
    json_schema_extra=rule("password"),
)
# An opaque one-time token from a mail link, passed back exactly as received.
LinkToken = Field(
    min_length=1,
    max_length=256,
    description="The `token` parameter of the link in the mail, as received (opaque).",
    examples=["q3fM2ZV1Qm0mcaU9Xk3bJp8h7Hc4wYt6LrN1sPzE5aA"],
)


class RegisterRequest(RequestBody):
    email: Email
    password: str = Password
    name: str = Field(
        min_length=1, max_length=200, pattern=TRIMMED_TEXT, examples=["Sari Wulandari"]
    )
    locale: Literal["id", "en"] = "id"


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"


class TokenBody(RequestBody):
    token: str = LinkToken


class EmailBody(RequestBody):
    email: Email


class ResetPasswordRequest(RequestBody):
    token: str = LinkToken
    password: str = Password


class ChangePasswordRequest(RequestBody):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Password


class PasswordBody(RequestBody):
    password: str = Field(min_length=1, max_length=1024)


class LoginRequest(RequestBody):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(RequestBody):
    refresh_token: str = Field(
        min_length=1,
        max_length=512,
        description="The `refresh_token` of the last login or refresh (opaque, single use).",
        examples=["grt_Zk1wq2Yd0c3NRbq5uQH4xLmE8sVtA6oP9jKfGh7iWnU"],
    )


class MfaVerifyRequest(RequestBody):
    challenge_id: uuid.UUID
    code: str = Field(min_length=6, max_length=32, description="TOTP code or a recovery code.")


class MfaCodeBody(RequestBody):
    code: str = Field(min_length=6, max_length=32)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    name: str
    locale: str
    email_verified: bool
    mfa_enabled: bool
    is_platform_admin: bool


class TenantOut(BaseModel):
    """A tenant in the caller's picker (login response, `/auth/tenants`, tenant selection)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str
    name: str
    status: str
    plan_code: str
    roles: list[str] = Field(default_factory=list)
    usable: bool = False


class TokenResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Access token lifetime in seconds.")
    refresh_token: str = Field(description="Opaque; rotate it with POST /auth/refresh.")
    refresh_expires_in: int
    session_id: uuid.UUID


class LoginResponse(TokenResponse):
    user: UserOut
    tenants: list[TenantOut]
    next: NextStep = Field(
        description="onboarding | auto_select | choose_tenant | billing_required"
    )


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    ip: str | None
    amr: list[str]
    current: bool


class SessionList(BaseModel):
    data: list[SessionOut]


class ActivityOut(BaseModel):
    id: int
    occurred_at: datetime
    type: str
    user_id: uuid.UUID | None
    session_id: uuid.UUID | None
    tenant_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    request_id: str | None
    ip: str | None
    user_agent: str | None
    suspicious: bool
    reason: str | None
    details: dict[str, Any]

    model_config = ConfigDict(from_attributes=True)


class MfaEnrollment(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    secret: str = Field(description="Base32 TOTP seed, for manual entry.")
    otpauth_uri: str = Field(description="Render as a QR code for authenticator apps.")


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once.")


class Jwks(BaseModel):
    keys: list[dict[str, Any]]
