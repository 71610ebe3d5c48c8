"""Request and response bodies of materials, lots, stock movements and reservations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.materials.states import MovementKind, ReservationStatus, Unit

# Quantities travel as decimal text, never binary floats: up to 10 integer digits and 3 decimals.
QUANTITY_PATTERN = r"^(?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,3})?$"
POSITIVE_QUANTITY_PATTERN = (
    r"^(?:[1-9][0-9]{0,9}(?:\.[0-9]{1,3})?|0\.(?:[1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$"
)
Quantity = Annotated[
    str,
    StringConstraints(max_length=14, pattern=QUANTITY_PATTERN),
    Field(description="Decimal text in the material's unit, e.g. `25.5`.", examples=["25.5"]),
]
PositiveQuantity = Annotated[
    str,
    StringConstraints(max_length=14, pattern=POSITIVE_QUANTITY_PATTERN),
    Field(description="Decimal text greater than zero, e.g. `12.75`.", examples=["12.75"]),
]
UnitCost = Annotated[
    int,
    Field(
        ge=0,
        le=1_000_000_000,
        description="Standard cost in integer rupiah per unit of the material (order costing).",
        examples=[95_000],
    ),
]
CODE_PATTERN = r"^[A-Z0-9](?:[A-Z0-9-]{0,38}[A-Z0-9])?$"
Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=CODE_PATTERN),
    Field(examples=["CC30S-HITAM"]),
]
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=TRIMMED_TEXT), Field()
]
Name = Annotated[
    str,
    StringConstraints(min_length=2, max_length=200, pattern=TRIMMED_TEXT),
    Field(examples=["Cotton Combed 30s Hitam"]),
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=TRIMMED_TEXT),
    Field(examples=["Terima dari supplier, SJ 0045"]),
]


class CreateMaterialRequest(RequestBody):
    code: Code
    name: Name
    unit: Unit
    reorder_level: Quantity = Field(
        "0", description="Below this (on hand minus reserved) it is on the low-stock list."
    )
    unit_cost: UnitCost = 0


class UpdateMaterialRequest(RequestBody):
    """Only the members sent change; null means "unchanged"."""

    name: Name | None = None
    reorder_level: Quantity | None = None
    unit_cost: UnitCost | None = None
    archived: bool | None = None


class MaterialOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    unit: Unit
    reorder_level: str
    on_hand: str
    reserved: str
    available: str = Field(description="On hand minus reserved.")
    unit_cost: int = Field(description="Integer rupiah per unit (order costing uses it).")
    archived: bool
    version: int
    created_at: datetime
    updated_at: datetime


class MaterialList(BaseModel):
    data: list[MaterialOut]
    meta: PageMeta


class CreateLotRequest(RequestBody):
    lot_number: Code = Field(description="The roll or lot code, unique per material.")
    color: Label | None = None
    dye_lot: Label | None = None
    quantity: PositiveQuantity = Field(description="Received into stock as an `in` movement.")


class LotOut(BaseModel):
    id: uuid.UUID
    material_id: uuid.UUID
    lot_number: str
    color: str | None
    dye_lot: str | None
    quantity: str
    initial_quantity: str
    consumed: bool
    created_at: datetime


class LotList(BaseModel):
    data: list[LotOut]
    meta: PageMeta


class CreateMovementRequest(RequestBody):
    kind: MovementKind = Field(
        description="`in` adds `quantity`, `out` takes it, `adjust` sets the stock counted "
        "(of the lot, or of the material) to `quantity`."
    )
    quantity: Quantity
    lot_id: uuid.UUID | None = Field(None, description="The lot or roll moved, if any.")
    reason: Reason


class MovementOut(BaseModel):
    id: uuid.UUID
    material_id: uuid.UUID
    lot_id: uuid.UUID | None
    seq: int
    kind: MovementKind
    delta: str
    balance: str = Field(description="The material's on-hand after this movement.")
    reason: str
    actor_id: uuid.UUID | None
    created_at: datetime


class MovementList(BaseModel):
    data: list[MovementOut]
    meta: PageMeta


class CreateReservationRequest(RequestBody):
    quantity: PositiveQuantity
    reference: Annotated[
        str,
        StringConstraints(min_length=1, max_length=64, pattern=TRIMMED_TEXT),
        Field(
            description="What the stock is held for, e.g. an order number.",
            examples=["SO/2026/000123"],
        ),
    ]


class ReservationOut(BaseModel):
    id: uuid.UUID
    material_id: uuid.UUID
    quantity: str
    reference: str
    status: ReservationStatus
    created_at: datetime


class ReservationList(BaseModel):
    data: list[ReservationOut]
    meta: PageMeta
