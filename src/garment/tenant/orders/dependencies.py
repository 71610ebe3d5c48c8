"""The sales service and the sales lists' page parameters for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.orders.service import OrderService


async def order_service(request: Request) -> OrderService:
    return cast(OrderService, app_services(request).orders)


Orders = Annotated[OrderService, Depends(order_service)]
OrderPage = Annotated[PageParams, Depends(OrderService.order_keyset.params())]
QuotationPage = Annotated[PageParams, Depends(OrderService.quotation_keyset.params())]
DeliveryPage = Annotated[PageParams, Depends(OrderService.delivery_keyset.params())]
