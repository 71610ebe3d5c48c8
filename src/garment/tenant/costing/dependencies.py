"""The costing service for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.tenant.costing.service import CostingService


async def costing_service(request: Request) -> CostingService:
    return cast(CostingService, app_services(request).costing)


Costing = Annotated[CostingService, Depends(costing_service)]
