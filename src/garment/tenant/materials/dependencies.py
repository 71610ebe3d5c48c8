"""The material service and its lists' page parameters for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.materials.service import MaterialService


async def material_service(request: Request) -> MaterialService:
    return cast(MaterialService, app_services(request).materials)


Materials = Annotated[MaterialService, Depends(material_service)]
MaterialPage = Annotated[PageParams, Depends(MaterialService.keyset.params())]
LotPage = Annotated[PageParams, Depends(MaterialService.lot_keyset.params())]
MovementPage = Annotated[PageParams, Depends(MaterialService.movement_keyset.params())]
ReservationPage = Annotated[PageParams, Depends(MaterialService.reservation_keyset.params())]
