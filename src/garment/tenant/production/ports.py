"""What production needs from orders (`OrdersGateway` adapts the orders service to it): the
plan of an order put into production, and its two status moves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class LinePlan:
    line_id: uuid.UUID
    product_id: uuid.UUID
    color: str | None
    sizes: dict[str, int]  # {size: pieces}, in the product's size order


@dataclass(frozen=True, slots=True)
class OrderPlan:
    order_id: uuid.UUID
    number: str
    due_date: date | None
    lines: list[LinePlan]


class OrderGateway(Protocol):
    """The orders context as production calls it (no models cross the boundary)."""

    async def production_plan(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> OrderPlan:
        """The order's lines and due date; 404 for an unknown (or another tenant's) order."""
        ...

    async def start_production(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        actor_id: uuid.UUID | None,
    ) -> None:
        """Move the order to `in_production`; refuses with the order's gate codes (status,
        artwork, down payment)."""
        ...

    async def mark_ready(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        actor_id: uuid.UUID | None,
    ) -> None:
        """Move the order to `ready` (every size packed or written off)."""
        ...
