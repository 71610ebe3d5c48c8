"""Queries over materials, lots, movements and reservations (every statement also filters by
tenant). Stock changes lock the material row first (`FOR UPDATE`), so concurrent movements of
one material run one after another and on-hand stays exact."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, or_, select

from garment.platform.pagination import Keyset, PageParams
from garment.platform.repository import Repository
from garment.tenant.materials.models import Material, MaterialLot, StockMovement, StockReservation

EXAMPLE_ID = uuid.UUID("0c6f9d7e-3b1a-4d8e-9f2a-6b5c4d3e2f10")
MATERIAL_KEYSET = Keyset.of(Material.name, Material.id, example=("Cotton Combed 30s", EXAMPLE_ID))
LOT_KEYSET = Keyset.of(MaterialLot.lot_number, MaterialLot.id, example=("R-0012", EXAMPLE_ID))
MOVEMENT_KEYSET = Keyset.of(StockMovement.seq, StockMovement.id, example=(42, EXAMPLE_ID))
RESERVATION_KEYSET = Keyset.of(
    StockReservation.created_at,
    StockReservation.id,
    example=(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), EXAMPLE_ID),
)


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class MaterialRepository(Repository[Material]):
    model = Material

    async def by_id(
        self, tenant_id: uuid.UUID, material_id: uuid.UUID, *, for_update: bool = False
    ) -> Material | None:
        return await self.get((tenant_id, material_id), for_update=for_update)

    async def locked(self, tenant_id: uuid.UUID, material_id: uuid.UUID) -> Material | None:
        """The material row, locked until the transaction ends, with its current values
        (another transaction may have changed it since this session loaded it)."""
        statement = (
            select(Material)
            .where(Material.tenant_id == tenant_id, Material.id == material_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await self.one_or_none(statement)

    async def code_taken(self, tenant_id: uuid.UUID, code: str) -> bool:
        statement = select(Material.id).where(
            Material.tenant_id == tenant_id, Material.code == code
        )
        return (await self.session.execute(statement)).first() is not None

    async def existing_ids(self, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        statement = select(Material.id).where(
            Material.tenant_id == tenant_id, Material.id.in_(wanted)
        )
        return {row[0] for row in await self.session.execute(statement)}

    async def listed(
        self,
        tenant_id: uuid.UUID,
        *,
        search: str | None,
        unit: str | None,
        include_archived: bool,
        low_stock: bool,
        page: PageParams,
    ) -> tuple[list[Material], str | None]:
        statement = select(Material).where(Material.tenant_id == tenant_id)
        if search is not None:
            pattern = like_pattern(search)
            statement = statement.where(
                or_(Material.name.ilike(pattern), Material.code.ilike(pattern))
            )
        if unit is not None:
            statement = statement.where(Material.unit == unit)
        if not include_archived:
            statement = statement.where(Material.archived.is_(False))
        if low_stock:
            statement = statement.where(
                Material.on_hand - Material.reserved < Material.reorder_level
            )
        return await self.page(statement, keyset=MATERIAL_KEYSET, params=page, descending=False)


class LotRepository(Repository[MaterialLot]):
    model = MaterialLot

    async def locked(
        self, tenant_id: uuid.UUID, material_id: uuid.UUID, lot_id: uuid.UUID
    ) -> MaterialLot | None:
        statement = (
            select(MaterialLot)
            .where(
                MaterialLot.tenant_id == tenant_id,
                MaterialLot.material_id == material_id,
                MaterialLot.id == lot_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await self.one_or_none(statement)

    async def number_taken(self, tenant_id: uuid.UUID, material_id: uuid.UUID, number: str) -> bool:
        statement = select(MaterialLot.id).where(
            MaterialLot.tenant_id == tenant_id,
            MaterialLot.material_id == material_id,
            MaterialLot.lot_number == number,
        )
        return (await self.session.execute(statement)).first() is not None

    async def listed(
        self,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        *,
        include_consumed: bool,
        page: PageParams,
    ) -> tuple[list[MaterialLot], str | None]:
        statement = select(MaterialLot).where(
            MaterialLot.tenant_id == tenant_id, MaterialLot.material_id == material_id
        )
        if not include_consumed:
            statement = statement.where(MaterialLot.consumed.is_(False))
        return await self.page(statement, keyset=LOT_KEYSET, params=page, descending=False)


class MovementRepository(Repository[StockMovement]):
    model = StockMovement

    async def next_seq(self, tenant_id: uuid.UUID, material_id: uuid.UUID) -> int:
        """The next movement number of the material (call with the material row locked)."""
        statement = select(func.coalesce(func.max(StockMovement.seq), 0)).where(
            StockMovement.tenant_id == tenant_id, StockMovement.material_id == material_id
        )
        return int((await self.session.execute(statement)).scalar_one()) + 1

    async def listed(
        self, tenant_id: uuid.UUID, material_id: uuid.UUID, page: PageParams
    ) -> tuple[list[StockMovement], str | None]:
        statement = select(StockMovement).where(
            StockMovement.tenant_id == tenant_id, StockMovement.material_id == material_id
        )
        return await self.page(statement, keyset=MOVEMENT_KEYSET, params=page, descending=True)


class ReservationRepository(Repository[StockReservation]):
    model = StockReservation

    async def of_material(
        self, tenant_id: uuid.UUID, material_id: uuid.UUID, reservation_id: uuid.UUID
    ) -> StockReservation | None:
        statement = select(StockReservation).where(
            StockReservation.tenant_id == tenant_id,
            StockReservation.material_id == material_id,
            StockReservation.id == reservation_id,
        )
        return await self.one_or_none(statement)

    async def listed(
        self,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        *,
        status: str | None,
        page: PageParams,
    ) -> tuple[list[StockReservation], str | None]:
        statement = select(StockReservation).where(
            StockReservation.tenant_id == tenant_id, StockReservation.material_id == material_id
        )
        if status is not None:
            statement = statement.where(StockReservation.status == status)
        return await self.page(statement, keyset=RESERVATION_KEYSET, params=page, descending=True)
