"""Request and response bodies of the member list and role changes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from garment.central.tenancy.schemas import RoleKey
from garment.central.tenancy.service import MemberProfile
from garment.platform.contract import RequestBody


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    roles: list[str]
    joined_at: datetime

    @classmethod
    def from_profile(cls, profile: MemberProfile) -> MemberOut:
        return cls(
            user_id=profile.user_id,
            email=profile.email,
            name=profile.name,
            roles=list(profile.role_keys),
            joined_at=profile.joined_at,
        )


class MemberList(BaseModel):
    data: list[MemberOut]


class MemberRolesUpdate(RequestBody):
    roles: list[RoleKey] = Field(min_length=1, max_length=10, description="Role keys.")


class MemberRolesOut(BaseModel):
    user_id: uuid.UUID
    roles: list[str]
