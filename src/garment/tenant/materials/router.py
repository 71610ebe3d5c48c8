"""Materials with their lots (rolls), stock movements and reservations, and the low-stock
list, on the Tenant API (`materials.view`, `materials.manage`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from garment.platform.errors import CONFLICT, RESOURCE_NOT_FOUND, VALIDATION_FAILED
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
from garment.tenant.materials.dependencies import (
    LotPage,
    MaterialPage,
    Materials,
    MovementPage,
    ReservationPage,
)
from garment.tenant.materials.errors import (
    INSUFFICIENT_STOCK,
    LOT_NUMBER_TAKEN,
    MATERIAL_CODE_TAKEN,
    STOCK_OUT_OF_RANGE,
)
from garment.tenant.materials.schemas import (
    CreateLotRequest,
    CreateMaterialRequest,
    CreateMovementRequest,
    CreateReservationRequest,
    LotList,
    LotOut,
    MaterialList,
    MaterialOut,
    MovementList,
    MovementOut,
    ReservationList,
    ReservationOut,
    UpdateMaterialRequest,
)
from garment.tenant.materials.states import ReservationStatus, Unit

router = Router(prefix="/tenant/materials", tags=["tenant"], route_class=ConventionRoute)

MaterialViewer = Annotated[TenantMember, Depends(RequirePermission("materials.view"))]
MaterialManager = Annotated[TenantMember, Depends(RequirePermission("materials.manage"))]
NOT_FOUND_ERRORS = (*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND)


@router.get(
    "",
    response_model=MaterialList,
    summary="Materials by name; search by code or name, filter by unit",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_materials(
    member: MaterialViewer,
    materials: Materials,
    db: TenantSession,
    page: MaterialPage,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Part of the code or name.")
    ] = None,
    unit: Annotated[Unit | None, Query(description="Only this unit.")] = None,
    archived: Annotated[bool, Query(description="Include archived materials.")] = False,
) -> MaterialList:
    rows, cursor = await materials.list_materials(
        db,
        member.tenant_id,
        search=q,
        unit=unit.value if unit else None,
        include_archived=archived,
        page=page,
    )
    return MaterialList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.get(
    "/low-stock",
    response_model=MaterialList,
    summary="Materials whose stock on hand minus reserved is below their reorder level",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def low_stock(
    member: MaterialViewer, materials: Materials, db: TenantSession, page: MaterialPage
) -> MaterialList:
    rows, cursor = await materials.list_materials(db, member.tenant_id, low_stock=True, page=page)
    return MaterialList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MaterialOut,
    summary="Create a material (unit and reorder level; Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created.", location="The new material."),
        **error_responses(
            *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, MATERIAL_CODE_TAKEN, *IDEMPOTENCY_ERRORS
        ),
    },
)
async def create_material(
    body: CreateMaterialRequest,
    member: MaterialManager,
    materials: Materials,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> MaterialOut:
    material = await materials.create(db, member.tenant_id, body, actor_id=member.user_id)
    response.headers["Location"] = request.url_for(
        "get_material", material_id=str(material.id)
    ).path
    set_etag(response, material.version)
    return material


@router.get(
    "/{material_id:uuid}",
    response_model=MaterialOut,
    summary="One material with its stock on hand, reserved and available",
    responses={**etag_response(200, "The material."), **error_responses(*NOT_FOUND_ERRORS)},
)
async def get_material(
    material_id: uuid.UUID,
    member: MaterialViewer,
    materials: Materials,
    db: TenantSession,
    response: Response,
) -> MaterialOut:
    material = await materials.get(db, member.tenant_id, material_id)
    set_etag(response, material.version)
    return material


@router.patch(
    "/{material_id:uuid}",
    response_model=MaterialOut,
    summary="Change a material's name, reorder level or archived flag (If-Match; stock "
    "moves only through movements)",
    responses={
        **etag_response(200, "The changed material."),
        **error_responses(*NOT_FOUND_ERRORS, CONFLICT),
    },
)
async def update_material(
    material_id: uuid.UUID,
    body: UpdateMaterialRequest,
    member: MaterialManager,
    materials: Materials,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> MaterialOut:
    material = await materials.update(
        db, member.tenant_id, material_id, body, expected, actor_id=member.user_id
    )
    set_etag(response, material.version)
    return material


@router.delete(
    "/{material_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Archive a material (its movements stay; PATCH `archived: false` restores it)",
    responses=error_responses(*NOT_FOUND_ERRORS, CONFLICT),
)
async def archive_material(
    material_id: uuid.UUID,
    member: MaterialManager,
    materials: Materials,
    db: TenantSession,
    expected: IfMatch,
) -> Response:
    await materials.archive(db, member.tenant_id, material_id, expected, actor_id=member.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{material_id}/lots",
    response_model=LotList,
    summary="A material's lots (rolls) by lot number; consumed ones on request",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def list_lots(
    material_id: uuid.UUID,
    member: MaterialViewer,
    materials: Materials,
    db: TenantSession,
    page: LotPage,
    consumed: Annotated[bool, Query(description="Include consumed lots.")] = False,
) -> LotList:
    rows, cursor = await materials.list_lots(
        db, member.tenant_id, material_id, include_consumed=consumed, page=page
    )
    return LotList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.post(
    "/{material_id}/lots",
    status_code=status.HTTP_201_CREATED,
    response_model=LotOut,
    summary="Receive a lot (roll): it enters stock as an `in` movement (Idempotency-Key honoured)",
    responses=error_responses(
        *NOT_FOUND_ERRORS, LOT_NUMBER_TAKEN, STOCK_OUT_OF_RANGE, *IDEMPOTENCY_ERRORS
    ),
)
async def create_lot(
    material_id: uuid.UUID,
    body: CreateLotRequest,
    member: MaterialManager,
    materials: Materials,
    db: TenantSession,
    idempotency: Idempotent,
) -> LotOut:
    return await materials.create_lot(
        db, member.tenant_id, material_id, body, actor_id=member.user_id
    )


@router.get(
    "/{material_id}/movements",
    response_model=MovementList,
    summary="A material's stock movements, newest first",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def list_movements(
    material_id: uuid.UUID,
    member: MaterialViewer,
    materials: Materials,
    db: TenantSession,
    page: MovementPage,
) -> MovementList:
    rows, cursor = await materials.list_movements(db, member.tenant_id, material_id, page)
    return MovementList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.post(
    "/{material_id}/movements",
    status_code=status.HTTP_201_CREATED,
    response_model=MovementOut,
    summary="Move stock in, out, or adjust it to a count, with a reason (Idempotency-Key "
    "honoured; concurrent movements never lose an update)",
    responses=error_responses(
        *NOT_FOUND_ERRORS, INSUFFICIENT_STOCK, STOCK_OUT_OF_RANGE, *IDEMPOTENCY_ERRORS
    ),
)
async def create_movement(
    material_id: uuid.UUID,
    body: CreateMovementRequest,
    member: MaterialManager,
    materials: Materials,
    db: TenantSession,
    idempotency: Idempotent,
) -> MovementOut:
    return await materials.move(db, member.tenant_id, material_id, body, actor_id=member.user_id)


@router.get(
    "/{material_id}/reservations",
    response_model=ReservationList,
    summary="Stock reserved from this material, newest first",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def list_reservations(
    material_id: uuid.UUID,
    member: MaterialViewer,
    materials: Materials,
    db: TenantSession,
    page: ReservationPage,
    status: Annotated[ReservationStatus | None, Query(description="Only this status.")] = None,
) -> ReservationList:
    rows, cursor = await materials.list_reservations(
        db, member.tenant_id, material_id, status=status.value if status else None, page=page
    )
    return ReservationList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.post(
    "/{material_id}/reservations",
    status_code=status.HTTP_201_CREATED,
    response_model=ReservationOut,
    summary="Reserve stock for an order (at most what is available; Idempotency-Key honoured)",
    responses=error_responses(*NOT_FOUND_ERRORS, INSUFFICIENT_STOCK, *IDEMPOTENCY_ERRORS),
)
async def create_reservation(
    material_id: uuid.UUID,
    body: CreateReservationRequest,
    member: MaterialManager,
    materials: Materials,
    db: TenantSession,
    idempotency: Idempotent,
) -> ReservationOut:
    return await materials.reserve(db, member.tenant_id, material_id, body)


@router.delete(
    "/{material_id}/reservations/{reservation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Release a reservation (releasing it again changes nothing)",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def release_reservation(
    material_id: uuid.UUID,
    reservation_id: uuid.UUID,
    member: MaterialManager,
    materials: Materials,
    db: TenantSession,
) -> Response:
    await materials.release(db, member.tenant_id, material_id, reservation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
