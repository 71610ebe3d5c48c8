"""The orders service adapted to what production needs (`ports.OrderGateway`)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from garment.tenant.orders.service import OrderService
from garment.tenant.production.ports import LinePlan, OrderPlan


class OrdersGateway:
    def __init__(self, orders: OrderService) -> None:
        self.orders = orders

    async def production_plan(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> OrderPlan:
        order = await self.orders.get(session, tenant_id, order_id)
        lines: dict[uuid.UUID, LinePlan] = {}
        for row in await self.orders.size_rows(session, tenant_id, order_id):
            line = lines.setdefault(
                row.line_id,
                LinePlan(line_id=row.line_id, product_id=row.product_id, color=row.color, sizes={}),
            )
            line.sizes[row.size] = line.sizes.get(row.size, 0) + row.qty
        return OrderPlan(
            order_id=order_id,
            number=order.number,
            due_date=order.due_date,
            lines=list(lines.values()),
        )

    async def start_production(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        actor_id: uuid.UUID | None,
    ) -> None:
        await self.orders.production_started(
            session, central, tenant_id, order_id, actor_id=actor_id
        )

    async def mark_ready(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        actor_id: uuid.UUID | None,
    ) -> None:
        await self.orders.mark_ready(session, central, tenant_id, order_id, actor_id=actor_id)
