"""Sales on the Tenant API: orders (`orders.view`, `orders.manage`; `orders.approve` to
confirm), payments (`payments.view`, `payments.manage`), the sales policy (`settings.*`),
quotations (`quotations.*`) and delivery notes (`deliveries.*`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response, status

from garment.platform.errors import (
    CONFLICT,
    PLAN_LIMIT_REACHED,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
)
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.platform.pagination import PageMeta
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)
from garment.tenant.conventions.dependencies import (
    IDEMPOTENCY_ERRORS,
    ConventionRoute,
    Idempotent,
    IfMatch,
    etag_response,
    set_etag,
)
from garment.tenant.orders.dependencies import DeliveryPage, OrderPage, Orders, QuotationPage
from garment.tenant.orders.errors import (
    ARTWORK_NOT_APPROVED,
    DELIVERY_EXCEEDS_REMAINING,
    DOWN_PAYMENT_REQUIRED,
    FULL_PAYMENT_REQUIRED,
    ORDER_HAS_NO_LINES,
    ORDER_NOT_DELIVERABLE,
    ORDER_NOT_EDITABLE,
    ORDER_NOT_FULLY_DELIVERED,
    ORDER_NOT_PAYABLE,
    ORDER_SET_BY_PRODUCTION,
    ORDER_TRANSITION_FORBIDDEN,
    PAYMENT_EXCEEDS_BALANCE,
    QUOTATION_CLOSED,
    QUOTATION_EXPIRED,
    QUOTATION_SUPERSEDED,
)
from garment.tenant.orders.schemas import (
    ArtworkUpdate,
    ConvertIn,
    DeliveryCreate,
    DeliveryList,
    DeliveryOut,
    HistoryList,
    HistoryOut,
    LineSizesUpdate,
    OrderCreate,
    OrderDetail,
    OrderList,
    OrderUpdate,
    PackingList,
    PaymentIn,
    PaymentList,
    PaymentOut,
    PeopleIn,
    QuotationCreate,
    QuotationDetail,
    QuotationList,
    RevisionCreate,
    SalesPolicyIn,
    SalesPolicyOut,
    TransitionIn,
)
from garment.tenant.orders.states import OrderStatus, QuotationStatus

router = Router(prefix="/tenant/orders", tags=["tenant"], route_class=ConventionRoute)
quotations_router = Router(
    prefix="/tenant/quotations", tags=["tenant"], route_class=ConventionRoute
)
deliveries_router = Router(
    prefix="/tenant/deliveries", tags=["tenant"], route_class=ConventionRoute
)
settings_router = Router(
    prefix="/tenant/sales-settings", tags=["tenant"], route_class=ConventionRoute
)

OrderViewer = Annotated[TenantMember, Depends(RequirePermission("orders.view"))]
OrderManager = Annotated[TenantMember, Depends(RequirePermission("orders.manage"))]
PaymentViewer = Annotated[TenantMember, Depends(RequirePermission("payments.view"))]
PaymentManager = Annotated[TenantMember, Depends(RequirePermission("payments.manage"))]
SettingsViewer = Annotated[TenantMember, Depends(RequirePermission("settings.view"))]
SettingsManager = Annotated[TenantMember, Depends(RequirePermission("settings.manage"))]
QuotationViewer = Annotated[TenantMember, Depends(RequirePermission("quotations.view"))]
QuotationManager = Annotated[TenantMember, Depends(RequirePermission("quotations.manage"))]
DeliveryViewer = Annotated[TenantMember, Depends(RequirePermission("deliveries.view"))]
DeliveryManager = Annotated[TenantMember, Depends(RequirePermission("deliveries.manage"))]

# YYYY-MM-DD (a day that does not exist, 2026-02-30, is 422 naming the parameter).
DATE_PATTERN = r"^2[0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"

GATES = (
    ORDER_TRANSITION_FORBIDDEN,
    ORDER_SET_BY_PRODUCTION,
    ORDER_HAS_NO_LINES,
    ARTWORK_NOT_APPROVED,
    DOWN_PAYMENT_REQUIRED,
    FULL_PAYMENT_REQUIRED,
    ORDER_NOT_FULLY_DELIVERED,
)


# --- orders -------------------------------------------------------------------------------------


@router.get(
    "",
    response_model=OrderList,
    summary="Orders, newest first; filter by status, customer, order date; search by number",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_orders(
    member: OrderViewer,
    orders: Orders,
    db: TenantSession,
    page: OrderPage,
    status_: Annotated[
        OrderStatus | None, Query(alias="status", description="Only this status.")
    ] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Only this customer.")] = None,
    date_from: Annotated[
        str | None,
        Query(pattern=DATE_PATTERN, max_length=10, description="Order date on or after."),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(pattern=DATE_PATTERN, max_length=10, description="Order date on or before."),
    ] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=32, description="Part of the number.")
    ] = None,
) -> OrderList:
    rows, cursor = await orders.list_orders(
        db,
        member.tenant_id,
        status=status_,
        customer_id=customer_id,
        date_from=date_from,
        date_to=date_to,
        search=q,
        page=page,
    )
    return OrderList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderDetail,
    summary="Create an order: lines of product + colour + {size: qty} (Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created (status draft).", location="The new order."),
        **error_responses(
            *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, PLAN_LIMIT_REACHED, *IDEMPOTENCY_ERRORS
        ),
    },
)
async def create_order(
    body: OrderCreate,
    member: OrderManager,
    orders: Orders,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> OrderDetail:
    order = await orders.create(
        db, central, member.tenant_id, member.tenant.plan_code, member.user_id, body
    )
    response.headers["Location"] = request.url_for("get_order", order_id=str(order.id)).path
    set_etag(response, order.version)
    return order


@router.get(
    "/{order_id}",
    response_model=OrderDetail,
    summary="One order with its lines and size grid (delivered and remaining per size)",
    responses={
        **etag_response(200, "The order."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def get_order(
    order_id: uuid.UUID, member: OrderViewer, orders: Orders, db: TenantSession, response: Response
) -> OrderDetail:
    order = await orders.get(db, member.tenant_id, order_id)
    set_etag(response, order.version)
    return order


@router.patch(
    "/{order_id}",
    response_model=OrderDetail,
    summary="Change an order's due date, discount or notes (If-Match)",
    responses={
        **etag_response(200, "The changed order."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            ORDER_NOT_EDITABLE,
        ),
    },
)
async def update_order(
    order_id: uuid.UUID,
    body: OrderUpdate,
    member: OrderManager,
    orders: Orders,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> OrderDetail:
    order = await orders.update(
        db,
        member.tenant_id,
        member.user_id,
        order_id,
        body.model_dump(exclude_unset=True),
        expected_version=expected,
    )
    set_etag(response, order.version)
    return order


@router.patch(
    "/{order_id}/lines/{line_id}/sizes",
    response_model=OrderDetail,
    summary="Edit cells of a line's size grid (If-Match: the order's version)",
    responses={
        **etag_response(200, "The changed order."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            ORDER_NOT_EDITABLE,
        ),
    },
)
async def edit_line_sizes(
    order_id: uuid.UUID,
    line_id: uuid.UUID,
    body: LineSizesUpdate,
    member: OrderManager,
    orders: Orders,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> OrderDetail:
    order = await orders.edit_line_sizes(
        db,
        member.tenant_id,
        member.user_id,
        order_id,
        line_id,
        dict(body.sizes),
        expected_version=expected,
    )
    set_etag(response, order.version)
    return order


@router.put(
    "/{order_id}/lines/{line_id}/artwork",
    response_model=OrderDetail,
    summary="Set a line's artwork status and file reference (If-Match: the line's version)",
    responses={
        **etag_response(200, "The order."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            ORDER_NOT_EDITABLE,
        ),
    },
)
async def set_artwork(
    order_id: uuid.UUID,
    line_id: uuid.UUID,
    body: ArtworkUpdate,
    member: OrderManager,
    orders: Orders,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> OrderDetail:
    order = await orders.set_artwork(
        db, member.tenant_id, member.user_id, order_id, line_id, body, expected_version=expected
    )
    set_etag(response, order.version)
    return order


@router.put(
    "/{order_id}/lines/{line_id}/people",
    response_model=OrderDetail,
    summary="Attach a names-and-sizes list (CSV or rows) to a line: it sets the breakdown",
    responses={
        **etag_response(200, "The order."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            ORDER_NOT_EDITABLE,
        ),
    },
)
async def attach_people(
    order_id: uuid.UUID,
    line_id: uuid.UUID,
    body: PeopleIn,
    member: OrderManager,
    orders: Orders,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> OrderDetail:
    order = await orders.attach_people(
        db, member.tenant_id, member.user_id, order_id, line_id, body, expected_version=expected
    )
    set_etag(response, order.version)
    return order


@router.get(
    "/{order_id}/packing-list",
    response_model=PackingList,
    summary="The packing list per person (from the lines' names-and-sizes lists)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def packing_list(
    order_id: uuid.UUID, member: OrderViewer, orders: Orders, db: TenantSession
) -> PackingList:
    return await orders.packing_list(db, member.tenant_id, order_id)


@router.post(
    "/{order_id}/transitions",
    response_model=OrderDetail,
    summary="Move an order along its status flow (reason kept in the history; gates refuse "
    "with what is missing)",
    responses={
        **etag_response(200, "The order in its new status."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            *GATES,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def transition_order(
    order_id: uuid.UUID,
    body: TransitionIn,
    member: OrderManager,
    orders: Orders,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
    expected: IfMatch,
    response: Response,
) -> OrderDetail:
    order = await orders.transition(
        db,
        central,
        member.tenant_id,
        member.user_id,
        order_id,
        body.to,
        body.reason,
        permissions=member.permissions,
        expected_version=expected,
    )
    set_etag(response, order.version)
    return order


@router.get(
    "/{order_id}/history",
    response_model=HistoryList,
    summary="The order's status history with reasons",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def order_history(
    order_id: uuid.UUID, member: OrderViewer, orders: Orders, db: TenantSession
) -> HistoryList:
    rows = await orders.history(db, member.tenant_id, order_id)
    return HistoryList(data=[HistoryOut.model_validate(row) for row in rows])


@router.get(
    "/{order_id}/payments",
    response_model=PaymentList,
    summary="Payments against the order, with the balance and the down payment due",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def list_payments(
    order_id: uuid.UUID, member: PaymentViewer, orders: Orders, db: TenantSession
) -> PaymentList:
    return await orders.payments(db, member.tenant_id, order_id)


@router.post(
    "/{order_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    summary="Record a payment against the order (Idempotency-Key honoured)",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS,
        VALIDATION_FAILED,
        RESOURCE_NOT_FOUND,
        PAYMENT_EXCEEDS_BALANCE,
        ORDER_NOT_PAYABLE,
        *IDEMPOTENCY_ERRORS,
    ),
)
async def record_payment(
    order_id: uuid.UUID,
    body: PaymentIn,
    member: PaymentManager,
    orders: Orders,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
) -> PaymentOut:
    return await orders.record_payment(
        db, central, member.tenant_id, member.user_id, order_id, body
    )


# --- the sales policy ---------------------------------------------------------------------------


@settings_router.get(
    "",
    response_model=SalesPolicyOut,
    summary="The down payment policy and PKP status of sales",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def get_sales_settings(
    member: SettingsViewer, orders: Orders, db: TenantSession
) -> SalesPolicyOut:
    return await orders.sales_policy(db, member.tenant_id)


@settings_router.put(
    "",
    response_model=SalesPolicyOut,
    summary="Set the down payment policy (percent of the total or fixed rupiah) and PKP status",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def set_sales_settings(
    body: SalesPolicyIn, member: SettingsManager, orders: Orders, db: TenantSession
) -> SalesPolicyOut:
    return await orders.set_sales_policy(db, member.tenant_id, member.user_id, body)


# --- quotations ---------------------------------------------------------------------------------


@quotations_router.get(
    "",
    response_model=QuotationList,
    summary="Quotations, newest first",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_quotations(
    member: QuotationViewer,
    orders: Orders,
    db: TenantSession,
    page: QuotationPage,
    status_: Annotated[
        QuotationStatus | None, Query(alias="status", description="Only this status.")
    ] = None,
) -> QuotationList:
    rows, cursor = await orders.list_quotations(db, member.tenant_id, status=status_, page=page)
    return QuotationList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@quotations_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QuotationDetail,
    summary="Create a quotation (revision v1; Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created.", location="The new quotation."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, *IDEMPOTENCY_ERRORS),
    },
)
async def create_quotation(
    body: QuotationCreate,
    member: QuotationManager,
    orders: Orders,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> QuotationDetail:
    quotation = await orders.create_quotation(db, member.tenant_id, member.user_id, body)
    response.headers["Location"] = request.url_for(
        "get_quotation", quotation_id=str(quotation.id)
    ).path
    set_etag(response, quotation.version)
    return quotation


@quotations_router.get(
    "/{quotation_id}",
    response_model=QuotationDetail,
    summary="One quotation with every revision",
    responses={
        **etag_response(200, "The quotation."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def get_quotation(
    quotation_id: uuid.UUID,
    member: QuotationViewer,
    orders: Orders,
    db: TenantSession,
    response: Response,
) -> QuotationDetail:
    quotation = await orders.get_quotation(db, member.tenant_id, quotation_id)
    set_etag(response, quotation.version)
    return quotation


@quotations_router.post(
    "/{quotation_id}/revisions",
    status_code=status.HTTP_201_CREATED,
    response_model=QuotationDetail,
    summary="Issue the next revision (v2, v3, ...; If-Match; Idempotency-Key honoured)",
    responses={
        **etag_response(201, "The quotation with its new revision."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            QUOTATION_CLOSED,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def revise_quotation(
    quotation_id: uuid.UUID,
    body: RevisionCreate,
    member: QuotationManager,
    orders: Orders,
    db: TenantSession,
    idempotency: Idempotent,
    expected: IfMatch,
    response: Response,
) -> QuotationDetail:
    quotation = await orders.revise_quotation(
        db, member.tenant_id, member.user_id, quotation_id, body, expected_version=expected
    )
    set_etag(response, quotation.version)
    return quotation


@quotations_router.post(
    "/{quotation_id}/convert",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderDetail,
    summary="Create an order from the latest valid revision (Idempotency-Key honoured)",
    responses={
        **etag_response(201, "The new order.", location="The new order."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            PLAN_LIMIT_REACHED,
            QUOTATION_CLOSED,
            QUOTATION_EXPIRED,
            QUOTATION_SUPERSEDED,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def convert_quotation(
    quotation_id: uuid.UUID,
    body: ConvertIn,
    member: QuotationManager,
    orders: Orders,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> OrderDetail:
    order = await orders.convert_quotation(
        db,
        central,
        member.tenant_id,
        member.tenant.plan_code,
        member.user_id,
        quotation_id,
        body.revision,
    )
    response.headers["Location"] = request.url_for("get_order", order_id=str(order.id)).path
    set_etag(response, order.version)
    return order


# --- deliveries ---------------------------------------------------------------------------------


@deliveries_router.get(
    "",
    response_model=DeliveryList,
    summary="Delivery notes, newest first; filter by order",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_deliveries(
    member: DeliveryViewer,
    orders: Orders,
    db: TenantSession,
    page: DeliveryPage,
    order_id: Annotated[uuid.UUID | None, Query(description="Only this order's notes.")] = None,
) -> DeliveryList:
    rows, cursor = await orders.list_deliveries(db, member.tenant_id, order_id=order_id, page=page)
    return DeliveryList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@deliveries_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeliveryOut,
    summary="Issue a delivery note (surat jalan) for some pieces per size (Idempotency-Key "
    "honoured)",
    responses={
        **etag_response(201, "Created.", location="The new delivery note."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            ORDER_NOT_DELIVERABLE,
            DELIVERY_EXCEEDS_REMAINING,
            FULL_PAYMENT_REQUIRED,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def create_delivery(
    body: DeliveryCreate,
    member: DeliveryManager,
    orders: Orders,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> DeliveryOut:
    delivery = await orders.create_delivery(db, central, member.tenant_id, member.user_id, body)
    response.headers["Location"] = request.url_for(
        "get_delivery", delivery_id=str(delivery.id)
    ).path
    set_etag(response, 1)
    return delivery


@deliveries_router.get(
    "/{delivery_id}",
    response_model=DeliveryOut,
    summary="One delivery note",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def get_delivery(
    delivery_id: uuid.UUID, member: DeliveryViewer, orders: Orders, db: TenantSession
) -> DeliveryOut:
    return await orders.get_delivery(db, member.tenant_id, delivery_id)


@deliveries_router.get(
    "/{delivery_id}/pdf",
    response_class=Response,
    summary="The printable delivery note (PDF, id/en by `lang` or Accept-Language)",
    responses={
        200: {
            "description": "The delivery note as PDF.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def delivery_pdf(
    delivery_id: uuid.UUID,
    member: DeliveryViewer,
    orders: Orders,
    db: TenantSession,
    lang: Annotated[
        Literal["id", "en"] | None,
        Query(description="The note's language (default: Accept-Language, else id)."),
    ] = None,
) -> Response:
    filename, content = await orders.delivery_pdf(db, member.tenant_id, delivery_id, lang)
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
