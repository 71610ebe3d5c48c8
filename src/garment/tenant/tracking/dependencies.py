"""The tracking service and the link list's page parameters for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.tracking.service import TrackingService


async def tracking_service(request: Request) -> TrackingService:
    return cast(TrackingService, app_services(request).tracking)


Tracking = Annotated[TrackingService, Depends(tracking_service)]
TrackingLinkPage = Annotated[PageParams, Depends(TrackingService.link_keyset.params())]
