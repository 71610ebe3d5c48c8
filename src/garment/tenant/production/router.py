"""Production (`production.view`, `production.record` for shop-floor piece events,
`production.manage` for routing and starting orders), makloon (`makloon.*`) and borongan wages
(`wages.*`) on the Tenant API, and the board's Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from garment.platform.errors import (
    CONFLICT,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
    AppError,
)
from garment.platform.http.dependencies import CentralSession, app_services
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
from garment.tenant.materials.errors import INSUFFICIENT_STOCK, STOCK_OUT_OF_RANGE
from garment.tenant.production.dependencies import (
    DispatchPage,
    EventPage,
    Hub,
    JobPage,
    Makloon,
    PartnerPage,
    Production,
    Wages,
)
from garment.tenant.production.errors import (
    JOB_CLOSED,
    MAKLOON_MATERIAL_EXCEEDS,
    MAKLOON_RETURN_EXCEEDS,
    PIECES_EXCEED_AVAILABLE,
    PRODUCTION_ALREADY_STARTED,
    WAGE_PERIOD_LOCKED,
    WAGE_PERIOD_OVERLAPS,
)
from garment.tenant.production.schemas import (
    AdjustmentCreate,
    AdjustmentOut,
    BoardOut,
    CustodyOut,
    DispatchCreate,
    DispatchList,
    DispatchOut,
    EarningsOut,
    EventList,
    JobDetail,
    JobList,
    PartnerCreate,
    PartnerList,
    PartnerOut,
    PartnerUpdate,
    PeriodCreate,
    PeriodList,
    PeriodOut,
    RateCreate,
    RateList,
    RateOut,
    RateUpdate,
    ReceiptCreate,
    RecordedOut,
    RecordEvent,
    RoutingCreate,
    RoutingList,
    RoutingOut,
    RoutingUpdate,
    StartedOut,
    StartProduction,
)
from garment.tenant.production.states import DispatchStatus, JobStatus

# How often an open stream re-checks that its session and membership are still live, and
# sends a comment line so proxies keep the connection open.
LIVENESS_SECONDS = 5.0

router = Router(prefix="/tenant/production", tags=["tenant"], route_class=ConventionRoute)
makloon_router = Router(prefix="/tenant/makloon", tags=["tenant"], route_class=ConventionRoute)
wages_router = Router(prefix="/tenant/wages", tags=["tenant"], route_class=ConventionRoute)

Viewer = Annotated[TenantMember, Depends(RequirePermission("production.view"))]
Recorder = Annotated[TenantMember, Depends(RequirePermission("production.record"))]
Manager = Annotated[TenantMember, Depends(RequirePermission("production.manage"))]
MakloonViewer = Annotated[TenantMember, Depends(RequirePermission("makloon.view"))]
MakloonManager = Annotated[TenantMember, Depends(RequirePermission("makloon.manage"))]
WageViewer = Annotated[TenantMember, Depends(RequirePermission("wages.view"))]
WageManager = Annotated[TenantMember, Depends(RequirePermission("wages.manage"))]

READ_ERRORS = (*TENANT_CHAIN_ERRORS, VALIDATION_FAILED)
NOT_FOUND_ERRORS = (*READ_ERRORS, RESOURCE_NOT_FOUND)


# --- routing ---------------------------------------------------------------------------------


@router.get(
    "/routings",
    response_model=RoutingList,
    summary="Routings: the default, and those of products and categories",
    responses=error_responses(*READ_ERRORS),
)
async def list_routings(member: Viewer, production: Production, db: TenantSession) -> RoutingList:
    return RoutingList(data=await production.list_routings(db, member.tenant_id))


@router.post(
    "/routings",
    status_code=status.HTTP_201_CREATED,
    response_model=RoutingOut,
    summary="A routing for a product or a category (Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created.", location="The new routing."),
        **error_responses(*READ_ERRORS, *IDEMPOTENCY_ERRORS),
    },
)
async def create_routing(
    body: RoutingCreate,
    member: Manager,
    production: Production,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> RoutingOut:
    routing = await production.create_routing(db, member.tenant_id, body, member.user_id)
    response.headers["Location"] = request.url_for("get_routing", routing_id=routing.id).path
    set_etag(response, routing.version)
    return routing


@router.get(
    "/routings/{routing_id}",
    response_model=RoutingOut,
    summary="One routing (its ETag is its version)",
    responses={**etag_response(200, "The routing."), **error_responses(*NOT_FOUND_ERRORS)},
)
async def get_routing(
    routing_id: uuid.UUID,
    member: Viewer,
    production: Production,
    db: TenantSession,
    response: Response,
) -> RoutingOut:
    routing = await production.get_routing(db, member.tenant_id, routing_id)
    set_etag(response, routing.version)
    return routing


@router.patch(
    "/routings/{routing_id}",
    response_model=RoutingOut,
    summary="Replace a routing's stages (If-Match; running jobs keep theirs)",
    responses={
        **etag_response(200, "The changed routing."),
        **error_responses(*NOT_FOUND_ERRORS, CONFLICT),
    },
)
async def update_routing(
    routing_id: uuid.UUID,
    body: RoutingUpdate,
    member: Manager,
    production: Production,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> RoutingOut:
    routing = await production.update_routing(
        db, member.tenant_id, routing_id, body, expected, member.user_id
    )
    set_etag(response, routing.version)
    return routing


@router.delete(
    "/routings/{routing_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a product's or category's routing (the default stays)",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def delete_routing(
    routing_id: uuid.UUID, member: Manager, production: Production, db: TenantSession
) -> Response:
    await production.delete_routing(db, member.tenant_id, routing_id, member.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- jobs ------------------------------------------------------------------------------------


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    response_model=StartedOut,
    summary="Put an order in production: one job per line (Idempotency-Key honoured)",
    responses=error_responses(
        *NOT_FOUND_ERRORS, CONFLICT, PRODUCTION_ALREADY_STARTED, *IDEMPOTENCY_ERRORS
    ),
)
async def start_production(
    body: StartProduction,
    member: Manager,
    production: Production,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
) -> StartedOut:
    jobs = await production.start(db, central, member.tenant_id, body.order_id, member.user_id)
    return StartedOut(order_id=body.order_id, jobs=jobs)


@router.get(
    "/jobs",
    response_model=JobList,
    summary="Production jobs, newest first; filter by order or status",
    responses=error_responses(*READ_ERRORS),
)
async def list_jobs(
    member: Viewer,
    production: Production,
    db: TenantSession,
    page: JobPage,
    order_id: Annotated[uuid.UUID | None, Query(description="Only this order's jobs.")] = None,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
) -> JobList:
    rows, cursor = await production.list_jobs(
        db, member.tenant_id, order_id=order_id, status=status, page=page
    )
    return JobList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.get(
    "/jobs/{job_id}",
    response_model=JobDetail,
    summary="One job with its counters per size x stage",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def get_job(
    job_id: uuid.UUID, member: Viewer, production: Production, db: TenantSession
) -> JobDetail:
    return await production.get_job(db, member.tenant_id, job_id)


# --- the ledger ------------------------------------------------------------------------------


@router.post(
    "/events",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordedOut,
    summary="Record pieces from the shop floor: in, out, reject, rework, write_off "
    "(send an Idempotency-Key: a retried tap is answered once)",
    responses=error_responses(
        *NOT_FOUND_ERRORS,
        PIECES_EXCEED_AVAILABLE,
        JOB_CLOSED,
        WAGE_PERIOD_LOCKED,
        INSUFFICIENT_STOCK,
        STOCK_OUT_OF_RANGE,
        *IDEMPOTENCY_ERRORS,
    ),
)
async def record_event(
    body: RecordEvent,
    member: Recorder,
    production: Production,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
) -> RecordedOut:
    return await production.record(db, central, member.tenant_id, member.user_id, body)


@router.get(
    "/events",
    response_model=EventList,
    summary="Ledger events, newest first; filter by job or order",
    responses=error_responses(*READ_ERRORS),
)
async def list_events(
    member: Viewer,
    production: Production,
    db: TenantSession,
    page: EventPage,
    job_id: Annotated[uuid.UUID | None, Query(description="Only this job's events.")] = None,
    order_id: Annotated[uuid.UUID | None, Query(description="Only this order's events.")] = None,
) -> EventList:
    rows, cursor = await production.list_events(
        db, member.tenant_id, job_id=job_id, order_id=order_id, page=page
    )
    return EventList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


# --- board -----------------------------------------------------------------------------------


@router.get(
    "/board",
    response_model=BoardOut,
    summary="The production board: WIP per stage and size, load against capacity, late orders",
    responses=error_responses(*READ_ERRORS),
)
async def board(member: Viewer, production: Production, db: TenantSession) -> BoardOut:
    return await production.board(db, member.tenant_id)


STREAM_DOC = (
    "A `text/event-stream` of the tenant's ledger events: `event: <kind>`, `id: <seq>`, "
    "`data: <the event as in GET /production/events>`; a comment line every few seconds. The "
    "stream ends (`event: closed`) when the session is revoked or the membership ends."
)


@router.get(
    "/stream",
    summary="Server-Sent Events of the tenant's ledger events, for the board",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": STREAM_DOC,
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(*READ_ERRORS),
    },
)
async def stream(request: Request, member: Viewer, hub: Hub) -> StreamingResponse:
    services = app_services(request)
    queue = hub.open(member.tenant_id)

    async def live() -> bool:
        try:
            await services.auth.sessions.live(member.session_id, member.user_id)
        except AppError:
            return False
        record = await services.tenancy.member_record(member.tenant_id, member.user_id)
        return record is not None and bool(record.active)

    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n: connected\n\n"
            loop = asyncio.get_running_loop()
            checked = loop.time()
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=LIVENESS_SECONDS)
                except TimeoutError:
                    event = None
                if loop.time() - checked >= LIVENESS_SECONDS or event is None:
                    checked = loop.time()
                    if not await live():
                        yield "event: closed\ndata: {}\n\n"
                        return
                if event is None:
                    yield ": keepalive\n\n"
                    continue
                data = json.dumps(event, separators=(",", ":"))
                yield f"id: {event.get('seq')}\nevent: {event.get('kind')}\ndata: {data}\n\n"
        finally:
            hub.close(member.tenant_id, queue)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --- makloon ---------------------------------------------------------------------------------


@makloon_router.get(
    "/partners",
    response_model=PartnerList,
    summary="Makloon partners by name",
    responses=error_responses(*READ_ERRORS),
)
async def list_partners(
    member: MakloonViewer,
    makloon: Makloon,
    db: TenantSession,
    page: PartnerPage,
    archived: Annotated[bool, Query(description="Include archived partners.")] = False,
) -> PartnerList:
    rows, cursor = await makloon.list_partners(db, member.tenant_id, archived=archived, page=page)
    return PartnerList(
        data=[PartnerOut.model_validate(row) for row in rows],
        meta=PageMeta(next_cursor=cursor, limit=page.limit),
    )


@makloon_router.post(
    "/partners",
    status_code=status.HTTP_201_CREATED,
    response_model=PartnerOut,
    summary="Create a makloon partner (Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created.", location="The new partner."),
        **error_responses(*READ_ERRORS, *IDEMPOTENCY_ERRORS),
    },
)
async def create_partner(
    body: PartnerCreate,
    member: MakloonManager,
    makloon: Makloon,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> PartnerOut:
    partner = await makloon.create_partner(db, member.tenant_id, body, member.user_id)
    response.headers["Location"] = request.url_for("get_partner", partner_id=partner.id).path
    set_etag(response, partner.version)
    return PartnerOut.model_validate(partner)


@makloon_router.get(
    "/partners/{partner_id}",
    response_model=PartnerOut,
    summary="One makloon partner (its ETag is its version)",
    responses={**etag_response(200, "The partner."), **error_responses(*NOT_FOUND_ERRORS)},
)
async def get_partner(
    partner_id: uuid.UUID,
    member: MakloonViewer,
    makloon: Makloon,
    db: TenantSession,
    response: Response,
) -> PartnerOut:
    partner = await makloon.get_partner(db, member.tenant_id, partner_id)
    set_etag(response, partner.version)
    return PartnerOut.model_validate(partner)


@makloon_router.patch(
    "/partners/{partner_id}",
    response_model=PartnerOut,
    summary="Change a makloon partner (If-Match)",
    responses={
        **etag_response(200, "The changed partner."),
        **error_responses(*NOT_FOUND_ERRORS, CONFLICT),
    },
)
async def update_partner(
    partner_id: uuid.UUID,
    body: PartnerUpdate,
    member: MakloonManager,
    makloon: Makloon,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> PartnerOut:
    partner = await makloon.update_partner(
        db,
        member.tenant_id,
        partner_id,
        body.model_dump(exclude_unset=True),
        expected,
        member.user_id,
    )
    set_etag(response, partner.version)
    return PartnerOut.model_validate(partner)


@makloon_router.delete(
    "/partners/{partner_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Archive a makloon partner (its dispatches stay)",
    responses=error_responses(*NOT_FOUND_ERRORS, CONFLICT),
)
async def archive_partner(
    partner_id: uuid.UUID,
    member: MakloonManager,
    makloon: Makloon,
    db: TenantSession,
    expected: IfMatch,
) -> Response:
    await makloon.update_partner(
        db, member.tenant_id, partner_id, {"archived": True}, expected, member.user_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@makloon_router.get(
    "/partners/{partner_id}/custody",
    response_model=CustodyOut,
    summary="What a partner holds by size, its ageing, and the charges so far",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def partner_custody(
    partner_id: uuid.UUID, member: MakloonViewer, makloon: Makloon, db: TenantSession
) -> CustodyOut:
    return await makloon.custody(db, member.tenant_id, partner_id)


@makloon_router.post(
    "/dispatches",
    status_code=status.HTTP_201_CREATED,
    response_model=DispatchOut,
    summary="Send cut pieces per size and/or material to a partner (`MK/…`; Idempotency-Key)",
    responses=error_responses(
        *NOT_FOUND_ERRORS,
        PIECES_EXCEED_AVAILABLE,
        JOB_CLOSED,
        INSUFFICIENT_STOCK,
        STOCK_OUT_OF_RANGE,
        *IDEMPOTENCY_ERRORS,
    ),
)
async def create_dispatch(
    body: DispatchCreate,
    member: MakloonManager,
    makloon: Makloon,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
) -> DispatchOut:
    return await makloon.dispatch(db, central, member.tenant_id, body, member.user_id)


@makloon_router.get(
    "/dispatches",
    response_model=DispatchList,
    summary="Makloon dispatches, newest first; filter by partner or status",
    responses=error_responses(*READ_ERRORS),
)
async def list_dispatches(
    member: MakloonViewer,
    makloon: Makloon,
    db: TenantSession,
    page: DispatchPage,
    partner_id: Annotated[uuid.UUID | None, Query(description="Only this partner's.")] = None,
    status: Annotated[DispatchStatus | None, Query(description="Only in this state.")] = None,
) -> DispatchList:
    rows, cursor = await makloon.list_dispatches(
        db, member.tenant_id, partner_id=partner_id, status=status, page=page
    )
    return DispatchList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@makloon_router.get(
    "/dispatches/{dispatch_id}",
    response_model=DispatchOut,
    summary="One dispatch with sent, accepted, rejected, short and balance per size",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def get_dispatch(
    dispatch_id: uuid.UUID, member: MakloonViewer, makloon: Makloon, db: TenantSession
) -> DispatchOut:
    return await makloon.get_dispatch(db, member.tenant_id, dispatch_id)


@makloon_router.post(
    "/dispatches/{dispatch_id}/receipts",
    response_model=DispatchOut,
    summary="Receive a (partial) return: pieces accepted, rejected, short; material back or used",
    responses=error_responses(
        *NOT_FOUND_ERRORS,
        MAKLOON_RETURN_EXCEEDS,
        MAKLOON_MATERIAL_EXCEEDS,
        JOB_CLOSED,
        STOCK_OUT_OF_RANGE,
        *IDEMPOTENCY_ERRORS,
    ),
)
async def receive_dispatch(
    dispatch_id: uuid.UUID,
    body: ReceiptCreate,
    member: MakloonManager,
    makloon: Makloon,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
) -> DispatchOut:
    return await makloon.receive(db, central, member.tenant_id, dispatch_id, body, member.user_id)


# --- wages -----------------------------------------------------------------------------------


@wages_router.get(
    "/rates",
    response_model=RateList,
    summary="Borongan rates per operation",
    responses=error_responses(*READ_ERRORS),
)
async def list_rates(member: WageViewer, wages: Wages, db: TenantSession) -> RateList:
    rows = await wages.list_rates(db, member.tenant_id)
    return RateList(data=[RateOut.model_validate(row) for row in rows])


@wages_router.post(
    "/rates",
    status_code=status.HTTP_201_CREATED,
    response_model=RateOut,
    summary="A rate per accepted piece of an operation, for a product, a category or all",
    responses={
        **etag_response(201, "Created.", location="The new rate."),
        **error_responses(*READ_ERRORS, *IDEMPOTENCY_ERRORS),
    },
)
async def create_rate(
    body: RateCreate,
    member: WageManager,
    wages: Wages,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> RateOut:
    rate = await wages.create_rate(db, member.tenant_id, body, member.user_id)
    response.headers["Location"] = request.url_for("get_rate", rate_id=rate.id).path
    set_etag(response, rate.version)
    return RateOut.model_validate(rate)


@wages_router.get(
    "/rates/{rate_id}",
    response_model=RateOut,
    summary="One rate (its ETag is its version)",
    responses={**etag_response(200, "The rate."), **error_responses(*NOT_FOUND_ERRORS)},
)
async def get_rate(
    rate_id: uuid.UUID, member: WageViewer, wages: Wages, db: TenantSession, response: Response
) -> RateOut:
    rate = await wages.get_rate(db, member.tenant_id, rate_id)
    set_etag(response, rate.version)
    return RateOut.model_validate(rate)


@wages_router.patch(
    "/rates/{rate_id}",
    response_model=RateOut,
    summary="Change a rate (If-Match; locked periods keep the rates they were locked with)",
    responses={
        **etag_response(200, "The changed rate."),
        **error_responses(*NOT_FOUND_ERRORS, CONFLICT),
    },
)
async def update_rate(
    rate_id: uuid.UUID,
    body: RateUpdate,
    member: WageManager,
    wages: Wages,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> RateOut:
    changes = {
        key: value
        for key, value in body.model_dump(exclude_unset=True).items()
        if value is not None
    }
    rate = await wages.update_rate(db, member.tenant_id, rate_id, changes, expected, member.user_id)
    set_etag(response, rate.version)
    return RateOut.model_validate(rate)


@wages_router.delete(
    "/rates/{rate_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a rate",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def delete_rate(
    rate_id: uuid.UUID, member: WageManager, wages: Wages, db: TenantSession
) -> Response:
    await wages.delete_rate(db, member.tenant_id, rate_id, member.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@wages_router.get(
    "/periods",
    response_model=PeriodList,
    summary="Wage periods, newest first",
    responses=error_responses(*READ_ERRORS),
)
async def list_periods(member: WageViewer, wages: Wages, db: TenantSession) -> PeriodList:
    rows = await wages.list_periods(db, member.tenant_id)
    return PeriodList(data=[PeriodOut.model_validate(row) for row in rows])


@wages_router.post(
    "/periods",
    status_code=status.HTTP_201_CREATED,
    response_model=PeriodOut,
    summary="Open a wage period (dates inclusive; Idempotency-Key honoured)",
    responses=error_responses(*READ_ERRORS, WAGE_PERIOD_OVERLAPS, *IDEMPOTENCY_ERRORS),
)
async def create_period(
    body: PeriodCreate,
    member: WageManager,
    wages: Wages,
    db: TenantSession,
    idempotency: Idempotent,
) -> PeriodOut:
    return PeriodOut.model_validate(
        await wages.create_period(db, member.tenant_id, body, member.user_id)
    )


@wages_router.get(
    "/periods/{period_id}/earnings",
    response_model=EarningsOut,
    summary="Earnings per worker in the period (frozen once locked)",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def period_earnings(
    period_id: uuid.UUID, member: WageViewer, wages: Wages, db: TenantSession
) -> EarningsOut:
    return await wages.earnings(db, member.tenant_id, period_id)


@wages_router.get(
    "/periods/{period_id}/export",
    summary="The period's earnings per worker as CSV",
    response_class=Response,
    responses={
        200: {
            "description": "CSV, one row per worker.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(*NOT_FOUND_ERRORS),
    },
)
async def export_period(
    period_id: uuid.UUID, member: WageViewer, wages: Wages, db: TenantSession
) -> Response:
    body = await wages.export_csv(db, member.tenant_id, period_id)
    return Response(
        content=body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="borongan-{period_id}.csv"'},
    )


@wages_router.post(
    "/periods/{period_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    response_model=AdjustmentOut,
    summary="A bonus or deduction for a worker (a locked period refuses)",
    responses=error_responses(*NOT_FOUND_ERRORS, WAGE_PERIOD_LOCKED, *IDEMPOTENCY_ERRORS),
)
async def add_adjustment(
    period_id: uuid.UUID,
    body: AdjustmentCreate,
    member: WageManager,
    wages: Wages,
    db: TenantSession,
    idempotency: Idempotent,
) -> AdjustmentOut:
    adjustment = await wages.add_adjustment(db, member.tenant_id, period_id, body, member.user_id)
    return AdjustmentOut.model_validate(adjustment)


@wages_router.post(
    "/periods/{period_id}/lock",
    response_model=PeriodOut,
    summary="Lock a period: its lines are frozen and edits are refused (If-Match)",
    responses={
        **etag_response(200, "The locked period."),
        **error_responses(*NOT_FOUND_ERRORS, CONFLICT, WAGE_PERIOD_LOCKED, *IDEMPOTENCY_ERRORS),
    },
)
async def lock_period(
    period_id: uuid.UUID,
    member: WageManager,
    wages: Wages,
    db: TenantSession,
    expected: IfMatch,
    idempotency: Idempotent,
    response: Response,
) -> PeriodOut:
    period = await wages.lock(db, member.tenant_id, period_id, expected, member.user_id)
    set_etag(response, period.version)
    return PeriodOut.model_validate(period)
