"""Queries over orders, their grid rows, history and payments, quotations and deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, select, text

from garment.platform.pagination import Keyset, PageParams
from garment.platform.repository import Repository
from garment.tenant.orders.models import (
    Delivery,
    DeliveryLine,
    Order,
    OrderLine,
    OrderLinePerson,
    OrderLineSize,
    OrderPayment,
    OrderStatusChange,
    Quotation,
    QuotationRevision,
)

EXAMPLE_ID = uuid.UUID("5b1f3c2e-8a8d-4c6e-9f64-0d6f0f3b7a11")
EXAMPLE_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ORDER_KEYSET = Keyset.of(Order.created_at, Order.id, example=(EXAMPLE_AT, EXAMPLE_ID))
QUOTATION_KEYSET = Keyset.of(Quotation.created_at, Quotation.id, example=(EXAMPLE_AT, EXAMPLE_ID))
DELIVERY_KEYSET = Keyset.of(Delivery.created_at, Delivery.id, example=(EXAMPLE_AT, EXAMPLE_ID))


def like_pattern(text_: str) -> str:
    escaped = text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class OrderRepository(Repository[Order]):
    model = Order

    async def referencing_product(
        self, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> tuple[int, int]:
        """How many orders (through their lines) and quotations (any revision) name the
        product."""
        orders = await self.session.scalar(
            select(func.count(func.distinct(OrderLine.order_id))).where(
                OrderLine.tenant_id == tenant_id, OrderLine.product_id == product_id
            )
        )
        quotations = await self.session.scalar(
            select(func.count(func.distinct(QuotationRevision.quotation_id))).where(
                QuotationRevision.tenant_id == tenant_id,
                QuotationRevision.lines.contains([{"product_id": str(product_id)}]),
            )
        )
        return int(orders or 0), int(quotations or 0)

    async def of_tenant(
        self, tenant_id: uuid.UUID, order_id: uuid.UUID, *, for_update: bool = False
    ) -> Order | None:
        return await self.get((tenant_id, order_id), for_update=for_update)

    async def lock_monthly_count(self, tenant_id: uuid.UUID) -> None:
        """Serialise order creation per tenant (the plan's `max_orders_per_month` holds)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('orders:' || :tenant, 0))"),
            {"tenant": str(tenant_id)},
        )

    async def count_created_since(self, tenant_id: uuid.UUID, since: datetime) -> int:
        statement = select(func.count()).where(
            Order.tenant_id == tenant_id, Order.created_at >= since
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def listed(
        self,
        tenant_id: uuid.UUID,
        *,
        status: str | None,
        customer_id: uuid.UUID | None,
        date_from: date | None,
        date_to: date | None,
        search: str | None,
        page: PageParams,
    ) -> tuple[list[Order], str | None]:
        statement = select(Order).where(Order.tenant_id == tenant_id)
        if status is not None:
            statement = statement.where(Order.status == status)
        if customer_id is not None:
            statement = statement.where(Order.customer_id == customer_id)
        if date_from is not None:
            statement = statement.where(Order.order_date >= date_from)
        if date_to is not None:
            statement = statement.where(Order.order_date <= date_to)
        if search:
            statement = statement.where(Order.number.ilike(like_pattern(search), escape="\\"))
        return await self.page(statement, keyset=ORDER_KEYSET, params=page)

    # --- lines and the grid -------------------------------------------------------------------

    async def lines(self, tenant_id: uuid.UUID, order_id: uuid.UUID) -> list[OrderLine]:
        statement = (
            select(OrderLine)
            .where(OrderLine.tenant_id == tenant_id, OrderLine.order_id == order_id)
            .order_by(OrderLine.position)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def line(
        self, tenant_id: uuid.UUID, order_id: uuid.UUID, line_id: uuid.UUID
    ) -> OrderLine | None:
        line = await self.session.get(OrderLine, (tenant_id, line_id))
        return line if line is not None and line.order_id == order_id else None

    async def size_rows(
        self, tenant_id: uuid.UUID, order_id: uuid.UUID, *, for_update: bool = False
    ) -> list[OrderLineSize]:
        statement = (
            select(OrderLineSize)
            .where(OrderLineSize.tenant_id == tenant_id, OrderLineSize.order_id == order_id)
            .order_by(OrderLineSize.line_id, OrderLineSize.position)
        )
        if for_update:
            statement = statement.with_for_update()
        return list((await self.session.execute(statement)).scalars().all())

    async def delete_size_row(self, row: OrderLineSize) -> None:
        await self.session.delete(row)

    async def people_counts(
        self, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> dict[uuid.UUID, int]:
        statement = (
            select(OrderLinePerson.line_id, func.count())
            .where(OrderLinePerson.tenant_id == tenant_id, OrderLinePerson.order_id == order_id)
            .group_by(OrderLinePerson.line_id)
        )
        return {line_id: int(count) for line_id, count in await self.session.execute(statement)}

    async def people(self, tenant_id: uuid.UUID, order_id: uuid.UUID) -> list[OrderLinePerson]:
        statement = (
            select(OrderLinePerson)
            .where(OrderLinePerson.tenant_id == tenant_id, OrderLinePerson.order_id == order_id)
            .order_by(OrderLinePerson.line_id, OrderLinePerson.position)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def replace_people(
        self, tenant_id: uuid.UUID, line_id: uuid.UUID, people: Sequence[OrderLinePerson]
    ) -> None:
        await self.session.execute(
            delete(OrderLinePerson).where(
                OrderLinePerson.tenant_id == tenant_id, OrderLinePerson.line_id == line_id
            )
        )
        self.session.add_all(people)
        await self.session.flush()

    # --- history and payments -----------------------------------------------------------------

    async def history(self, tenant_id: uuid.UUID, order_id: uuid.UUID) -> list[OrderStatusChange]:
        statement = (
            select(OrderStatusChange)
            .where(OrderStatusChange.tenant_id == tenant_id, OrderStatusChange.order_id == order_id)
            .order_by(OrderStatusChange.seq)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def next_history_seq(self, tenant_id: uuid.UUID, order_id: uuid.UUID) -> int:
        statement = select(func.coalesce(func.max(OrderStatusChange.seq), 0)).where(
            OrderStatusChange.tenant_id == tenant_id, OrderStatusChange.order_id == order_id
        )
        return int((await self.session.execute(statement)).scalar_one()) + 1

    async def payments(self, tenant_id: uuid.UUID, order_id: uuid.UUID) -> list[OrderPayment]:
        statement = (
            select(OrderPayment)
            .where(OrderPayment.tenant_id == tenant_id, OrderPayment.order_id == order_id)
            .order_by(OrderPayment.created_at, OrderPayment.id)
        )
        return list((await self.session.execute(statement)).scalars().all())

    def add_all(self, rows: Sequence[Any]) -> None:
        self.session.add_all(rows)


class QuotationRepository(Repository[Quotation]):
    model = Quotation

    async def of_tenant(
        self, tenant_id: uuid.UUID, quotation_id: uuid.UUID, *, for_update: bool = False
    ) -> Quotation | None:
        return await self.get((tenant_id, quotation_id), for_update=for_update)

    async def revisions(
        self, tenant_id: uuid.UUID, quotation_id: uuid.UUID
    ) -> list[QuotationRevision]:
        statement = (
            select(QuotationRevision)
            .where(
                QuotationRevision.tenant_id == tenant_id,
                QuotationRevision.quotation_id == quotation_id,
            )
            .order_by(QuotationRevision.revision)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def listed(
        self, tenant_id: uuid.UUID, *, status: str | None, page: PageParams
    ) -> tuple[list[Quotation], str | None]:
        statement = select(Quotation).where(Quotation.tenant_id == tenant_id)
        if status is not None:
            statement = statement.where(Quotation.status == status)
        return await self.page(statement, keyset=QUOTATION_KEYSET, params=page)


class DeliveryRepository(Repository[Delivery]):
    model = Delivery

    async def of_tenant(self, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery | None:
        return await self.get((tenant_id, delivery_id))

    async def lines_of(
        self, tenant_id: uuid.UUID, delivery_ids: Sequence[uuid.UUID]
    ) -> list[DeliveryLine]:
        if not delivery_ids:
            return []
        statement = (
            select(DeliveryLine)
            .where(DeliveryLine.tenant_id == tenant_id, DeliveryLine.delivery_id.in_(delivery_ids))
            .order_by(DeliveryLine.delivery_id, DeliveryLine.line_id, DeliveryLine.size)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def order_numbers(
        self, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        if not order_ids:
            return {}
        statement = select(Order.id, Order.number).where(
            Order.tenant_id == tenant_id, Order.id.in_(order_ids)
        )
        return {row[0]: row[1] for row in await self.session.execute(statement)}

    async def listed(
        self, tenant_id: uuid.UUID, *, order_id: uuid.UUID | None, page: PageParams
    ) -> tuple[list[Delivery], str | None]:
        statement = select(Delivery).where(Delivery.tenant_id == tenant_id)
        if order_id is not None:
            statement = statement.where(Delivery.order_id == order_id)
        return await self.page(statement, keyset=DELIVERY_KEYSET, params=page)
