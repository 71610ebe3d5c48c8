"""The production, makloon and wage services and their lists' page parameters for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.production.makloon import MakloonService
from garment.tenant.production.service import ProductionService
from garment.tenant.production.stream import StreamHub
from garment.tenant.production.wages import WageService


async def production_service(request: Request) -> ProductionService:
    return cast(ProductionService, app_services(request).production)


async def makloon_service(request: Request) -> MakloonService:
    return cast(MakloonService, app_services(request).makloon)


async def wage_service(request: Request) -> WageService:
    return cast(WageService, app_services(request).wages)


async def stream_hub(request: Request) -> StreamHub:
    return cast(StreamHub, app_services(request).production_stream)


Production = Annotated[ProductionService, Depends(production_service)]
Makloon = Annotated[MakloonService, Depends(makloon_service)]
Wages = Annotated[WageService, Depends(wage_service)]
Hub = Annotated[StreamHub, Depends(stream_hub)]
JobPage = Annotated[PageParams, Depends(ProductionService.job_keyset.params())]
EventPage = Annotated[PageParams, Depends(ProductionService.event_keyset.params())]
PartnerPage = Annotated[PageParams, Depends(MakloonService.partner_keyset.params())]
DispatchPage = Annotated[PageParams, Depends(MakloonService.dispatch_keyset.params())]
