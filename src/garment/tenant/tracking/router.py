"""Customer tracking links: staff routes under the order (`orders.view` to list, `orders.manage`
to create and revoke), the public JSON view (`/api/v1/public/tracking/{token}`) and the public
page (`/t/{token}`, HTML for people; not an API operation, so not in the OpenAPI document).
Neither public route takes a sign-in or a tenant header: the token names its tenant (ADR 0018)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from garment.platform.errors import (
    CLUSTER_UNAVAILABLE,
    RATE_LIMITED,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
)
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import created, error_responses
from garment.platform.http.routing import Router
from garment.platform.pagination import PageMeta
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)
from garment.tenant.conventions.dependencies import ConventionRoute
from garment.tenant.tracking.dependencies import Tracking, TrackingLinkPage
from garment.tenant.tracking.errors import TRACKING_LINK_NOT_FOUND
from garment.tenant.tracking.schemas import (
    TrackingLinkCreate,
    TrackingLinkCreated,
    TrackingLinkList,
    TrackingLinkOut,
    TrackingView,
)

router = Router(prefix="/tenant/orders", tags=["tenant"], route_class=ConventionRoute)
public_router = Router(prefix="/public/tracking", tags=["public"])
page_router = Router(include_in_schema=False)

OrderViewer = Annotated[TenantMember, Depends(RequirePermission("orders.view"))]
OrderManager = Annotated[TenantMember, Depends(RequirePermission("orders.manage"))]

# The page: no script may run, nothing is cached or indexed, and the token in the address is
# never sent on as a Referer.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
# The paths that carry a token, for the request log (which logs them as their route template).
SECRET_PATH_PREFIXES = ("/t/", "/api/v1/public/tracking/")
PUBLIC_ERRORS = (TRACKING_LINK_NOT_FOUND, RATE_LIMITED, CLUSTER_UNAVAILABLE)
# Any text is accepted: whatever is not a live token of an active tenant is the same 404.
TrackingToken = Annotated[
    str,
    Path(
        description="The token of the tracking link, as shared (opaque).",
        examples=["bYj3Tn0dQ8uQbVZ1c2d3eA.q3fM2ZV1Qm0mcaU9Xk3bJp8h7Hc4wYt6LrN1sPzE5aA"],
    ),
]


@router.post(
    "/{order_id}/tracking-links",
    status_code=status.HTTP_201_CREATED,
    response_model=TrackingLinkCreated,
    summary="Create a tracking link for the order's customer (the token is shown only here)",
    responses={
        **created(201, "Created.", "The new link (without its token)."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def create_tracking_link(
    order_id: uuid.UUID,
    body: TrackingLinkCreate,
    member: OrderManager,
    tracking: Tracking,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    request: Request,
    response: Response,
) -> TrackingLinkCreated:
    # No Idempotency-Key: a stored replay would keep the token in clear text for 24 hours.
    link = await tracking.create_link(db, central, member.tenant_id, member.user_id, order_id, body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Location"] = request.url_for(
        "get_tracking_link", order_id=str(order_id), link_id=str(link.id)
    ).path
    return link


@router.get(
    "/{order_id}/tracking-links",
    response_model=TrackingLinkList,
    summary="The order's tracking links, newest first (tokens are never shown again)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def list_tracking_links(
    order_id: uuid.UUID,
    member: OrderViewer,
    tracking: Tracking,
    db: TenantSession,
    page: TrackingLinkPage,
) -> TrackingLinkList:
    rows, cursor = await tracking.list_links(db, member.tenant_id, order_id, page)
    return TrackingLinkList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.get(
    "/{order_id}/tracking-links/{link_id}",
    response_model=TrackingLinkOut,
    summary="One tracking link of the order (its status, expiry and views; never its token)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def get_tracking_link(
    order_id: uuid.UUID,
    link_id: uuid.UUID,
    member: OrderViewer,
    tracking: Tracking,
    db: TenantSession,
) -> TrackingLinkOut:
    return await tracking.get_link(db, member.tenant_id, order_id, link_id)


@router.delete(
    "/{order_id}/tracking-links/{link_id}",
    response_model=TrackingLinkOut,
    summary="Revoke a tracking link now (the page answers 404 from the next view on)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def revoke_tracking_link(
    order_id: uuid.UUID,
    link_id: uuid.UUID,
    member: OrderManager,
    tracking: Tracking,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
) -> TrackingLinkOut:
    return await tracking.revoke(db, central, member.tenant_id, member.user_id, order_id, link_id)


@public_router.get(
    "/{token}",
    response_model=TrackingView,
    summary="An order as its customer sees it, by tracking token (no sign-in, no tenant header)",
    responses=error_responses(*PUBLIC_ERRORS, VALIDATION_FAILED),
)
async def public_tracking(
    token: TrackingToken,
    tracking: Tracking,
    response: Response,
    lang: Annotated[
        Literal["id", "en"] | None,
        Query(description="Language of the labels; default: Accept-Language, else `id`."),
    ] = None,
) -> TrackingView:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return await tracking.view(token, lang)


@page_router.get("/t/{token}", response_class=HTMLResponse)
async def tracking_page(
    token: str,
    tracking: Tracking,
    lang: str | None = None,  # anything but `id`/`en` is ignored: a page never answers 422
) -> HTMLResponse:
    status_code, html = await tracking.page(token, lang)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
