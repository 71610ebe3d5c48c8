"""The customer service and the customer list's page parameters for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Query, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageParams
from garment.tenant.customers.service import CustomerService, cursor_max_length, cursor_pattern


async def customer_service(request: Request) -> CustomerService:
    return cast(CustomerService, app_services(request).customers)


async def customer_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[
        str | None,
        Query(
            max_length=cursor_max_length(),
            pattern=cursor_pattern(),
            description="`meta.next_cursor` of the previous page; it continues the list it "
            "came from (its sort). Opaque: pass it back as received.",
        ),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


Customers = Annotated[CustomerService, Depends(customer_service)]
CustomerPage = Annotated[PageParams, Depends(customer_page)]
