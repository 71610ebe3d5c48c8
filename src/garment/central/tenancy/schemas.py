"""Request and response bodies of tenancy endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from garment.central.auth.ports import TokenScope
from garment.central.auth.schemas import TenantOut
from garment.central.tenancy.states import BillingInterval, InvitationState, StepStatus
from garment.platform.contract import TRIMMED_TEXT, Email, RequestBody, rule

__all__ = [
    "AcceptInvitationRequest",
    "AdminTenantList",
    "ClusterList",
    "ClusterOut",
    "CreateTenantRequest",
    "InvitationList",
    "InvitationOut",
    "InvitationRequest",
    "MeOut",
    "ProvisioningStepOut",
    "RoleKey",
    "TenantDetail",
    "TenantList",
    "TenantOut",
    "TenantTokenRequest",
    "TenantTokenResponse",
]


SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$"
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "www",
        "billing",
        "auth",
        "tenant",
        "tenants",
        "static",
        "docs",
        "status",
        "support",
        "garment",
        "help",
        "mail",
    }
)
RESERVED_SLUG_VALUES: list[JsonValue] = [*sorted(RESERVED_SLUGS)]


class CreateTenantRequest(RequestBody):
    name: str = Field(
        min_length=2, max_length=200, pattern=TRIMMED_TEXT, examples=["Konveksi Sari"]
    )
    slug: str = Field(
        min_length=3,
        max_length=63,
        pattern=SLUG_PATTERN,
        description="URL-safe and unique: lowercase letters, digits and inner hyphens, not a "
        "reserved word. Taken: `409 TENANT_SLUG_TAKEN`.",
        examples=["konveksi-sari"],
        json_schema_extra={"not": {"enum": RESERVED_SLUG_VALUES}},
    )
    plan_code: str = Field(
        min_length=1,
        max_length=32,
        description="A plan of the catalogue.",
        json_schema_extra=rule("plan_code"),
    )
    billing_interval: BillingInterval = BillingInterval.MONTHLY
    region: str | None = Field(None, max_length=63, description="Placement hint, e.g. `jkt`.")


RoleKey = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,47}$"),
    Field(json_schema_extra=rule("role_key")),
]


class ProvisioningStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    step: str
    status: StepStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None


class TenantDetail(TenantOut):
    created_at: datetime
    provisioned_at: datetime | None
    provisioning: list[ProvisioningStepOut]


class TenantList(BaseModel):
    data: list[TenantOut]


class TenantTokenRequest(RequestBody):
    tenant_id: uuid.UUID | None = Field(
        description="The tenant to work in; null returns to a central-scope token."
    )
    purpose: Literal["work", "billing"] = Field(
        "work",
        description="`billing` also selects a suspended tenant or one waiting for its first "
        "payment; such a token reaches only `/tenant/billing/*` there.",
    )


class TenantTokenResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: TokenScope
    tenant: TenantOut | None


class AcceptInvitationRequest(RequestBody):
    token: str = Field(
        min_length=1,
        max_length=256,
        description="The `token` parameter of the invitation link, as received (opaque).",
        examples=["m8Qp4ZxV0bWc2Jr7Ls1Nd5Ke9Ht3Ya6Ug0Fi4Ro8Tw2"],
    )


class InvitationRequest(RequestBody):
    email: Email
    roles: list[RoleKey] = Field(
        min_length=1, max_length=10, description="Role keys, e.g. `sales`."
    )


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    roles: list[str]
    status: InvitationState
    created_at: datetime
    expires_at: datetime


class InvitationList(BaseModel):
    data: list[InvitationOut]


class MeOut(BaseModel):
    user: dict[str, Any]
    tenant: TenantOut
    roles: list[str]
    permissions: list[str]
    entitlements: dict[str, Any]
    usage: dict[str, int]


class ClusterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    status: str
    capacity: int
    region: str | None
    configured: bool
    tenants: int
    breaker: str


class ClusterList(BaseModel):
    data: list[ClusterOut]


class AdminTenantList(BaseModel):
    data: list[dict[str, Any]]
