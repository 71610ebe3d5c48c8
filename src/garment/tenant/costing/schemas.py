"""The HTTP contract of order costing (HPP): planned against actual cost, per order, per line
and per piece, and the margin against the order's price. Integer rupiah throughout."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from garment.tenant.orders.states import OrderStatus

ROUNDING = (
    "Integer rupiah. A material's cost (quantity x unit cost) is rounded half away from zero "
    "per line and material; every total is the sum of its rounded parts. Per-piece figures "
    "are the total divided by the order's (or line's) pieces, rounded half away from zero."
)


class CostBreakdown(BaseModel):
    materials: int = Field(description="Material quantity x the material's unit cost.")
    labour: int = Field(description="Borongan: the stage's piece rate x pieces.")
    makloon: int = Field(description="Makloon: pieces x the dispatch's rate per piece.")
    services: int = Field(description="The BOM's service lines (sablon, bordir) x pieces.")
    total: int
    per_piece: int = Field(description="total / pieces, rounded half away from zero.")


class Margin(BaseModel):
    amount: int = Field(description="Revenue - total cost (negative: a loss).")
    per_piece: int
    percent: str = Field(description="amount / revenue x 100, two decimals (`0.00` w/o revenue).")


class MaterialCost(BaseModel):
    material_id: uuid.UUID
    unit: str
    unit_cost: int
    planned_quantity: str = Field(description="The BOM's per-size consumption x pieces ordered.")
    actual_quantity: str = Field(description="What was issued at cutting.")
    planned: int
    actual: int


class LineCosting(BaseModel):
    line_id: uuid.UUID
    product_id: uuid.UUID
    color: str
    pieces: int
    revenue: int = Field(description="The line's amount (before the order's discount).")
    started: bool = Field(description="Whether the line is in production (actuals exist).")
    planned: CostBreakdown
    actual: CostBreakdown
    materials: list[MaterialCost]


class CostingOut(BaseModel):
    order_id: uuid.UUID
    number: str
    status: OrderStatus
    pieces: int
    revenue: int = Field(description="Subtotal - discount (PPN is not revenue).")
    planned: CostBreakdown = Field(
        description="From the BOM, the routing's piece rates and the pieces ordered; makloon "
        "at the pieces sent."
    )
    actual: CostBreakdown = Field(
        description="Material issued at cutting, pieces out by named workers x rate, makloon "
        "charges on accepted pieces, services on the pieces cut."
    )
    planned_margin: Margin
    actual_margin: Margin
    lines: list[LineCosting]
    rounding: str = Field(ROUNDING, description="How the figures are rounded.")
