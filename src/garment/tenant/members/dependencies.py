"""The member service for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.tenant.members.service import MemberService


async def member_service(request: Request) -> MemberService:
    return cast(MemberService, app_services(request).members)


Members = Annotated[MemberService, Depends(member_service)]
