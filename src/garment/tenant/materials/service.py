"""Materials and stock: units, lots (rolls), movements that keep on-hand exact under
concurrency, reservations for orders, and the low-stock list. Quantities are `Decimal`
(`numeric` columns), never floats."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.errors import RESOURCE_NOT_FOUND, AppError
from garment.platform.pagination import PageParams
from garment.platform.versioning import apply_changes
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.materials.errors import (
    INSUFFICIENT_STOCK,
    LOT_NUMBER_TAKEN,
    MATERIAL_CODE_TAKEN,
    STOCK_OUT_OF_RANGE,
)
from garment.tenant.materials.models import (
    Material,
    MaterialLot,
    StockMovement,
    StockReservation,
)
from garment.tenant.materials.repository import (
    LOT_KEYSET,
    MATERIAL_KEYSET,
    MOVEMENT_KEYSET,
    RESERVATION_KEYSET,
    LotRepository,
    MaterialRepository,
    MovementRepository,
    ReservationRepository,
)
from garment.tenant.materials.schemas import (
    CreateLotRequest,
    CreateMaterialRequest,
    CreateMovementRequest,
    CreateReservationRequest,
    LotOut,
    MaterialOut,
    MovementOut,
    ReservationOut,
    UpdateMaterialRequest,
)
from garment.tenant.materials.states import MovementKind, ReservationStatus

# The largest stock a material may hold (numeric(18, 3) holds up to 10^15).
MAX_STOCK = Decimal(10) ** 13
ZERO = Decimal(0)
MATERIAL_FIELDS = ("code", "name", "unit", "reorder_level", "unit_cost", "archived")


def quantity_text(value: Decimal | int) -> str:
    """Decimal text without trailing zeros (`25.5`, `2`), never exponent notation."""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def not_found() -> AppError:
    return AppError(RESOURCE_NOT_FOUND)


def material_out(material: Material) -> MaterialOut:
    return MaterialOut(
        id=material.id,
        code=material.code,
        name=material.name,
        unit=material.unit,
        reorder_level=quantity_text(material.reorder_level),
        on_hand=quantity_text(material.on_hand),
        reserved=quantity_text(material.reserved),
        available=quantity_text(material.on_hand - material.reserved),
        unit_cost=material.unit_cost,
        archived=material.archived,
        version=material.version,
        created_at=material.created_at,
        updated_at=material.updated_at,
    )


def lot_out(lot: MaterialLot) -> LotOut:
    return LotOut(
        id=lot.id,
        material_id=lot.material_id,
        lot_number=lot.lot_number,
        color=lot.color,
        dye_lot=lot.dye_lot,
        quantity=quantity_text(lot.quantity),
        initial_quantity=quantity_text(lot.initial_quantity),
        consumed=lot.consumed,
        created_at=lot.created_at,
    )


def movement_out(movement: StockMovement) -> MovementOut:
    return MovementOut(
        id=movement.id,
        material_id=movement.material_id,
        lot_id=movement.lot_id,
        seq=movement.seq,
        kind=movement.kind,
        delta=quantity_text(movement.delta),
        balance=quantity_text(movement.balance),
        reason=movement.reason,
        actor_id=movement.actor_id,
        created_at=movement.created_at,
    )


def reservation_out(reservation: StockReservation) -> ReservationOut:
    return ReservationOut(
        id=reservation.id,
        material_id=reservation.material_id,
        quantity=quantity_text(reservation.quantity),
        reference=reservation.reference,
        status=reservation.status,
        created_at=reservation.created_at,
    )


def insufficient(available: Decimal, requested: Decimal) -> AppError:
    params = {"available": quantity_text(available), "requested": quantity_text(requested)}
    return AppError(INSUFFICIENT_STOCK, params=params, extra=params)


class MaterialService:
    # Sort keys of the lists, so the routers' `cursor` schemas are the exact formats.
    keyset = MATERIAL_KEYSET
    lot_keyset = LOT_KEYSET
    movement_keyset = MOVEMENT_KEYSET
    reservation_keyset = RESERVATION_KEYSET

    # --- materials ----------------------------------------------------------------------------

    async def existing_ids(
        self, session: AsyncSession, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of `ids` are the tenant's materials (for the products' bill of materials)."""
        return await MaterialRepository(session).existing_ids(tenant_id, ids)

    async def create(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        body: CreateMaterialRequest,
        actor_id: uuid.UUID | None = None,
    ) -> MaterialOut:
        materials = MaterialRepository(session)

        def code_taken() -> AppError:
            return AppError(MATERIAL_CODE_TAKEN, params={"code": body.code})

        if await materials.code_taken(tenant_id, body.code):
            raise code_taken()
        material = await materials.create_unique(
            Material(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                code=body.code,
                name=body.name,
                unit=body.unit.value,
                reorder_level=Decimal(body.reorder_level),
                unit_cost=body.unit_cost,
                on_hand=ZERO,
                reserved=ZERO,
            ),
            code_taken,
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="material",
            entity_id=material.id,
            after=snapshot(material, MATERIAL_FIELDS),
        )
        return material_out(material)

    async def _material(
        self, session: AsyncSession, tenant_id: uuid.UUID, material_id: uuid.UUID
    ) -> Material:
        material = await MaterialRepository(session).by_id(tenant_id, material_id)
        if material is None:
            raise not_found()
        return material

    async def _locked(
        self, session: AsyncSession, tenant_id: uuid.UUID, material_id: uuid.UUID
    ) -> Material:
        material = await MaterialRepository(session).locked(tenant_id, material_id)
        if material is None:
            raise not_found()
        return material

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, material_id: uuid.UUID
    ) -> MaterialOut:
        return material_out(await self._material(session, tenant_id, material_id))

    async def list_materials(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        search: str | None = None,
        unit: str | None = None,
        include_archived: bool = False,
        low_stock: bool = False,
        page: PageParams,
    ) -> tuple[list[MaterialOut], str | None]:
        """Materials by name; `low_stock`: only those whose on-hand minus reserved is below
        their reorder level."""
        rows, cursor = await MaterialRepository(session).listed(
            tenant_id,
            search=search,
            unit=unit,
            include_archived=include_archived,
            low_stock=low_stock,
            page=page,
        )
        return [material_out(row) for row in rows], cursor

    async def update(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        body: UpdateMaterialRequest,
        expected_version: int | None,
        actor_id: uuid.UUID | None = None,
    ) -> MaterialOut:
        material = await self._material(session, tenant_id, material_id)
        changes: dict[str, Any] = {}
        if body.name is not None:
            changes["name"] = body.name
        if body.reorder_level is not None:
            changes["reorder_level"] = Decimal(body.reorder_level)
        if body.unit_cost is not None:
            changes["unit_cost"] = body.unit_cost
        if body.archived is not None:
            changes["archived"] = body.archived
        await self._apply(session, material, expected_version, changes, actor_id)
        return material_out(material)

    async def _apply(
        self,
        session: AsyncSession,
        material: Material,
        expected_version: int | None,
        changes: dict[str, Any],
        actor_id: uuid.UUID | None,
    ) -> None:
        before = snapshot(material, MATERIAL_FIELDS)
        if await apply_changes(session, material, expected_version, changes):
            await record_change(
                session,
                tenant_id=material.tenant_id,
                actor_id=actor_id,
                action=AuditAction.UPDATE,
                entity_type="material",
                entity_id=material.id,
                before=before,
                after=snapshot(material, MATERIAL_FIELDS),
            )

    async def archive(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        expected_version: int | None,
        actor_id: uuid.UUID | None = None,
    ) -> None:
        """Materials are archived, never deleted: their movements are the stock history."""
        material = await self._material(session, tenant_id, material_id)
        await self._apply(session, material, expected_version, {"archived": True}, actor_id)

    # --- lots ---------------------------------------------------------------------------------

    async def create_lot(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        body: CreateLotRequest,
        actor_id: uuid.UUID | None,
    ) -> LotOut:
        """A roll received: the lot, and the `in` movement that puts it into stock."""
        material = await self._locked(session, tenant_id, material_id)
        lots = LotRepository(session)
        if await lots.number_taken(tenant_id, material_id, body.lot_number):
            raise AppError(LOT_NUMBER_TAKEN, params={"lot_number": body.lot_number})
        quantity = Decimal(body.quantity)
        self._check_range(material.on_hand + quantity)
        lot = await lots.create(
            MaterialLot(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                material_id=material_id,
                lot_number=body.lot_number,
                color=body.color,
                dye_lot=body.dye_lot,
                quantity=quantity,
                initial_quantity=quantity,
                consumed=False,
            )
        )
        await self._record(
            session, material, lot, MovementKind.IN, quantity, f"Lot {lot.lot_number}", actor_id
        )
        return lot_out(lot)

    async def list_lots(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        *,
        include_consumed: bool,
        page: PageParams,
    ) -> tuple[list[LotOut], str | None]:
        await self._material(session, tenant_id, material_id)
        rows, cursor = await LotRepository(session).listed(
            tenant_id, material_id, include_consumed=include_consumed, page=page
        )
        return [lot_out(row) for row in rows], cursor

    # --- movements ----------------------------------------------------------------------------

    @staticmethod
    def _check_range(value: Decimal) -> None:
        if value > MAX_STOCK:
            raise AppError(STOCK_OUT_OF_RANGE)

    async def _record(
        self,
        session: AsyncSession,
        material: Material,
        lot: MaterialLot | None,
        kind: MovementKind,
        delta: Decimal,
        reason: str,
        actor_id: uuid.UUID | None,
    ) -> StockMovement:
        """Apply `delta` to the (locked) material and write the movement."""
        material.on_hand = material.on_hand + delta
        movements = MovementRepository(session)
        movement = await movements.create(
            StockMovement(
                tenant_id=material.tenant_id,
                id=uuid.uuid4(),
                material_id=material.id,
                lot_id=lot.id if lot is not None else None,
                seq=await movements.next_seq(material.tenant_id, material.id),
                kind=kind.value,
                delta=delta,
                balance=material.on_hand,
                reason=reason,
                actor_id=actor_id,
            )
        )
        await session.refresh(movement, ["created_at"])
        return movement

    async def move(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        body: CreateMovementRequest,
        actor_id: uuid.UUID | None,
    ) -> MovementOut:
        """One stock movement. The material row (and the lot's) is locked first, so concurrent
        movements of one material apply one after another and never lose an update."""
        material = await self._locked(session, tenant_id, material_id)
        lot: MaterialLot | None = None
        if body.lot_id is not None:
            lot = await LotRepository(session).locked(tenant_id, material_id, body.lot_id)
            if lot is None:
                raise not_found()
        quantity = Decimal(body.quantity)
        held = lot.quantity if lot is not None else material.on_hand
        if body.kind is MovementKind.IN:
            delta = quantity
        elif body.kind is MovementKind.OUT:
            delta = -quantity
            if quantity > held:
                raise insufficient(held, quantity)
        else:
            delta = quantity - held
        if material.on_hand + delta < ZERO:
            raise insufficient(material.on_hand, -delta)
        self._check_range(material.on_hand + delta)
        if lot is not None:
            lot.quantity = lot.quantity + delta
            lot.consumed = lot.quantity == ZERO
        movement = await self._record(
            session, material, lot, body.kind, delta, body.reason, actor_id
        )
        return movement_out(movement)

    async def list_movements(
        self, session: AsyncSession, tenant_id: uuid.UUID, material_id: uuid.UUID, page: PageParams
    ) -> tuple[list[MovementOut], str | None]:
        """Newest first."""
        await self._material(session, tenant_id, material_id)
        rows, cursor = await MovementRepository(session).listed(tenant_id, material_id, page)
        return [movement_out(row) for row in rows], cursor

    # --- reservations -------------------------------------------------------------------------

    async def reserve(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        body: CreateReservationRequest,
    ) -> ReservationOut:
        """Hold stock for an order: at most what is on hand and not yet reserved."""
        material = await self._locked(session, tenant_id, material_id)
        quantity = Decimal(body.quantity)
        available = material.on_hand - material.reserved
        if quantity > available:
            raise insufficient(available, quantity)
        material.reserved = material.reserved + quantity
        reservation = await ReservationRepository(session).create(
            StockReservation(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                material_id=material_id,
                quantity=quantity,
                reference=body.reference,
                status=ReservationStatus.ACTIVE.value,
            )
        )
        return reservation_out(reservation)

    async def release(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        reservation_id: uuid.UUID,
    ) -> None:
        """Give reserved stock back; releasing a released reservation changes nothing."""
        material = await self._locked(session, tenant_id, material_id)
        reservation = await ReservationRepository(session).of_material(
            tenant_id, material_id, reservation_id
        )
        if reservation is None:
            raise not_found()
        if reservation.status != ReservationStatus.ACTIVE:
            return
        reservation.status = ReservationStatus.RELEASED.value
        material.reserved = max(ZERO, material.reserved - reservation.quantity)
        await session.flush()

    async def list_reservations(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        *,
        status: str | None,
        page: PageParams,
    ) -> tuple[list[ReservationOut], str | None]:
        await self._material(session, tenant_id, material_id)
        rows, cursor = await ReservationRepository(session).listed(
            tenant_id, material_id, status=status, page=page
        )
        return [reservation_out(row) for row in rows], cursor
