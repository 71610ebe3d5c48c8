"""Request and response bodies of the auth API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from garment.central.auth.ports import NextStep

Password = Field(min_length=1, max_length=1024, description="Checked against the policy.")


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: str = Password
    name: str = Field(min_length=1, max_length=200)
    locale: Literal["id", "en"] = "id"


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=256)


class EmailBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)


class ResetPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=256)
    password: str = Password


class ChangePasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Password


class PasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=1024)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=512)


class MfaVerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge_id: uuid.UUID
    code: str = Field(min_length=6, max_length=32, description="TOTP code or a recovery code.")


class MfaCodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
