"""Response bodies of the tenant's authorization endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PermissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str
    description_id: str
    description_en: str


class PermissionList(BaseModel):
    data: list[PermissionOut]
