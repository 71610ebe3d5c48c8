"""Request and response bodies of tenancy endpoints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from garment.central.tenancy.models import Invitation


class CreateTenantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=200)
    slug: str = Field(min_length=3, max_length=63, description="URL-safe, unique: `konveksi-sari`.")
    plan_code: str = Field(min_length=1, max_length=32, description="starter | growth | enterprise")
    billing_interval: Literal["monthly", "yearly"] = "monthly"
    region: str | None = Field(None, max_length=63, description="Placement hint, e.g. `jkt`.")


RoleKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,47}$")]


class TenantOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    status: str
    plan_code: str
    roles: list[str] = Field(default_factory=list)
    usable: bool = False


class ProvisioningStepOut(BaseModel):
    step: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None


class TenantDetail(TenantOut):
    created_at: datetime
    provisioned_at: datetime | None
    provisioning: list[ProvisioningStepOut]


class TenantList(BaseModel):
    data: list[TenantOut]


class TenantTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: uuid.UUID | None = Field(
        description="The tenant to work in; null returns to a central-scope token."
    )


class TenantTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: Literal["central", "tenant"]
    tenant: TenantOut | None


class AcceptInvitationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=256)


class InvitationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    roles: list[RoleKey] = Field(
        min_length=1, max_length=10, description="Role keys, e.g. `sales`."
    )


class InvitationOut(BaseModel):
    id: uuid.UUID
    email: str
    roles: list[str]
    status: Literal["pending", "accepted", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime


def invitation_out(invitation: Invitation) -> InvitationOut:
    state: Literal["pending", "accepted", "revoked", "expired"]
    if invitation.accepted_at is not None:
        state = "accepted"
    elif invitation.revoked_at is not None:
        state = "revoked"
    elif invitation.expires_at <= datetime.now(UTC):
        state = "expired"
    else:
        state = "pending"
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        roles=list(invitation.role_keys),
        status=state,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


class InvitationList(BaseModel):
    data: list[InvitationOut]


class MeOut(BaseModel):
    user: dict[str, Any]
    tenant: TenantOut
    roles: list[str]
    permissions: list[str]
    entitlements: dict[str, Any]
    usage: dict[str, int]
