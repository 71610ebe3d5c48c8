"""The product service and the catalogue lists' page parameters for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Query, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageParams
from garment.tenant.products.service import (
    ProductService,
    sort_cursor_max_length,
    sort_cursor_pattern,
)


async def product_service(request: Request) -> ProductService:
    return cast(ProductService, app_services(request).products)


async def product_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[
        str | None,
        Query(
            max_length=sort_cursor_max_length(),
            pattern=sort_cursor_pattern(),
            description="`meta.next_cursor` of the previous page; it continues the list of "
            "its sort (with another sort the list starts again). Opaque: pass it back as "
            "received.",
        ),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


Products = Annotated[ProductService, Depends(product_service)]
ProductPage = Annotated[PageParams, Depends(product_page)]
VariantPage = Annotated[PageParams, Depends(ProductService.variant_keyset.params())]
TierPage = Annotated[PageParams, Depends(ProductService.tier_keyset.params())]
