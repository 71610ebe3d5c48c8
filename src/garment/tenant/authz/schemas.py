"""Response bodies of the tenant's authorization endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, RequestBody
from garment.tenant.authz.permissions import PERMISSION_KEYS

RoleName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=TRIMMED_TEXT)]


def _known_permission(value: str) -> str:
    if value not in PERMISSION_KEYS:
        raise ValueError("not a permission of the catalogue (GET /tenant/permissions)")
    return value


PermissionKey = Annotated[
    str,
    AfterValidator(_known_permission),
    Field(json_schema_extra={"enum": sorted(PERMISSION_KEYS)}),
]


class PermissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    description_id: str
    description_en: str


class PermissionList(BaseModel):
    data: list[PermissionOut]


class RoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    key: str
    name_id: str
    name_en: str
    is_system: bool = Field(description="A default role: its permissions are fixed.")
    permissions: list[str]
    version: int = Field(description="Send it back as `If-Match` to update (also the `ETag`).")


class RoleList(BaseModel):
    data: list[RoleOut]


class RoleCreate(RequestBody):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{1,47}$")] = Field(
        description="Stable key members are given, e.g. `qc-lead`."
    )
    name_id: RoleName
    name_en: RoleName
    permissions: list[PermissionKey] = Field(max_length=100)


class RoleUpdate(RequestBody):
    name_id: RoleName | None = None
    name_en: RoleName | None = None
    permissions: list[PermissionKey] | None = Field(None, max_length=100)
