"""Tenancy's services for routers (built once by the composition root, found on the app)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.central.tenancy.service import TenancyService
from garment.platform.http.dependencies import app_services


async def tenancy_service(request: Request) -> TenancyService:
    return cast(TenancyService, app_services(request).tenancy)


Tenancy = Annotated[TenancyService, Depends(tenancy_service)]
