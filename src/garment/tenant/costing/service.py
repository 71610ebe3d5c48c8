"""Order costing (HPP): planned against actual cost of one order, read from the contexts that
own each figure (orders, products, materials, production, wages) through their services.

Planned: the BOM's per-size consumption x pieces ordered x the material's unit cost; the piece
rate of every stage of the design's routing x pieces ordered; makloon at the pieces sent x the
dispatch rate; the BOM's service lines x pieces ordered. Actual: material issued at cutting x
unit cost; pieces out of each stage by a named worker x rate (what borongan pays); makloon
charges (accepted pieces x rate); service lines x pieces cut. Unit costs and rates are today's
(standard costing), not those at the time of the work."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from garment.tenant.costing.ports import (
    CatalogueReader,
    MaterialReader,
    OrderReader,
    ProductionReader,
    RateReader,
)
from garment.tenant.costing.schemas import (
    CostBreakdown,
    CostingOut,
    LineCosting,
    Margin,
    MaterialCost,
)
from garment.tenant.orders.states import OrderStatus

ZERO = Decimal(0)


def rupiah(value: Decimal) -> int:
    """Whole rupiah, half away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def per_piece(total: int, pieces: int) -> int:
    """total / pieces in whole rupiah, half away from zero, exactly (integers only)."""
    if pieces <= 0:
        return 0
    sign = -1 if total < 0 else 1
    return sign * ((2 * abs(total) + pieces) // (2 * pieces))


def quantity_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def breakdown(
    materials: int, labour: int, makloon: int, services: int, pieces: int
) -> CostBreakdown:
    total = materials + labour + makloon + services
    return CostBreakdown(
        materials=materials,
        labour=labour,
        makloon=makloon,
        services=services,
        total=total,
        per_piece=per_piece(total, pieces),
    )


def margin(revenue: int, cost: CostBreakdown, pieces: int) -> Margin:
    amount = revenue - cost.total
    percent = (
        (Decimal(amount) * 100 / Decimal(revenue)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if revenue
        else Decimal("0.00")
    )
    return Margin(amount=amount, per_piece=per_piece(amount, pieces), percent=str(percent))


class CostingService:
    def __init__(
        self,
        *,
        orders: OrderReader,
        products: CatalogueReader,
        materials: MaterialReader,
        production: ProductionReader,
        wages: RateReader,
    ) -> None:
        self.orders = orders
        self.products = products
        self.materials = materials
        self.production = production
        self.wages = wages

    async def order_costing(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> CostingOut:
        """404 for an unknown or another tenant's order (the orders service looks it up)."""
        order = await self.orders.get(session, tenant_id, order_id)
        facts = {
            job.order_line_id: job
            for job in await self.production.cost_facts(session, tenant_id, order_id)
        }
        costs: dict[uuid.UUID, tuple[str, int]] = {}  # material -> (unit, unit cost)
        lines = [
            await self._line(session, tenant_id, line, facts.get(line.id), costs)
            for line in order.lines
        ]
        pieces = sum(line.pieces for line in lines)
        planned = self._sum([line.planned for line in lines], pieces)
        actual = self._sum([line.actual for line in lines], pieces)
        revenue = order.subtotal - order.discount
        return CostingOut(
            order_id=order.id,
            number=order.number,
            status=OrderStatus(order.status),
            pieces=pieces,
            revenue=revenue,
            planned=planned,
            actual=actual,
            planned_margin=margin(revenue, planned, pieces),
            actual_margin=margin(revenue, actual, pieces),
            lines=lines,
        )

    @staticmethod
    def _sum(parts: list[CostBreakdown], pieces: int) -> CostBreakdown:
        return breakdown(
            sum(part.materials for part in parts),
            sum(part.labour for part in parts),
            sum(part.makloon for part in parts),
            sum(part.services for part in parts),
            pieces,
        )

    async def _material(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        costs: dict[uuid.UUID, tuple[str, int]],
    ) -> tuple[str, int]:
        if material_id not in costs:
            material = await self.materials.get(session, tenant_id, material_id)
            costs[material_id] = (str(material.unit), int(material.unit_cost))
        return costs[material_id]

    async def _line(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        line: Any,
        job: Any | None,
        costs: dict[uuid.UUID, tuple[str, int]],
    ) -> LineCosting:
        product = await self.products.get(session, tenant_id, line.product_id)
        bom = await self.products.get_bom(session, tenant_id, line.product_id)
        sizes: dict[str, int] = dict(line.sizes)
        pieces = sum(sizes.values())
        # materials: planned from the BOM per size, actual as issued at cutting
        planned_use: dict[uuid.UUID, Decimal] = {}
        for bom_line in bom.lines:
            if bom_line.material_id is None:
                continue
            for item in bom_line.consumption:
                planned_use[bom_line.material_id] = planned_use.get(
                    bom_line.material_id, ZERO
                ) + Decimal(item.quantity) * sizes.get(item.size, 0)
        actual_use: dict[uuid.UUID, Decimal] = dict(job.materials) if job is not None else {}
        materials: list[MaterialCost] = []
        for material_id in sorted({*planned_use, *actual_use}, key=str):
            unit, unit_cost = await self._material(session, tenant_id, material_id, costs)
            plan, used = planned_use.get(material_id, ZERO), actual_use.get(material_id, ZERO)
            materials.append(
                MaterialCost(
                    material_id=material_id,
                    unit=unit,
                    unit_cost=unit_cost,
                    planned_quantity=quantity_text(plan),
                    actual_quantity=quantity_text(used),
                    planned=rupiah(plan * unit_cost),
                    actual=rupiah(used * unit_cost),
                )
            )
        # labour: the stages the line follows (its job's snapshot, else the routing today)
        stages = (
            list(job.stages)
            if job is not None
            else await self.production.stages_for(session, tenant_id, line.product_id)
        )
        rates = await self.wages.piece_rates(
            session, tenant_id, stages, line.product_id, product.category_id
        )
        planned_labour = sum(rates[stage] * pieces for stage in stages)
        paid: dict[str, int] = dict(job.paid_out) if job is not None else {}
        actual_labour = sum(rates.get(stage, 0) * count for stage, count in paid.items())
        dispatches = list(job.makloon) if job is not None else []
        planned_makloon = sum(item.sent * item.rate_per_piece for item in dispatches)
        actual_makloon = sum(item.charge for item in dispatches)
        service = int(bom.service_cost_per_piece)
        cut = job.cut if job is not None else 0
        return LineCosting(
            line_id=line.id,
            product_id=line.product_id,
            color=line.color,
            pieces=pieces,
            revenue=line.amount,
            started=job is not None,
            planned=breakdown(
                sum(item.planned for item in materials),
                planned_labour,
                planned_makloon,
                service * pieces,
                pieces,
            ),
            actual=breakdown(
                sum(item.actual for item in materials),
                actual_labour,
                actual_makloon,
                service * cut,
                pieces,
            ),
            materials=materials,
        )
