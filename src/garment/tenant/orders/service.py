"""Sales: orders whose lines carry a size breakdown (`{size: qty}` per product and colour),
expanded into one row per line x size and kept as a grid; prices from the design's tier
(counted over every size and colour of the design on the order) plus the size surcharge;
the status flow of `states.py` with history and reasons; payments against the order and the
down payment / full payment gates; names-and-sizes lists; quotations with revisions; delivery
notes per size.

Writes take the tenant session (the change and its audit row) and the central session (the
outbox event, ADR 0014). Production calls `production_started`, `mark_ready` and
`size_rows` here; it never reads these tables itself."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.context import current_context
from garment.platform.errors import (
    PERMISSION_DENIED,
    RESOURCE_NOT_FOUND,
    AppError,
    FieldErrors,
    invalid,
)
from garment.platform.events import publish
from garment.platform.pagination import PageParams
from garment.platform.ppn import TaxRule
from garment.platform.versioning import check_version
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.conventions.service import DocumentType, next_document_number
from garment.tenant.orders import states
from garment.tenant.orders.documents import delivery_note_pdf
from garment.tenant.orders.errors import (
    ARTWORK_NOT_APPROVED,
    CSV_ROW_NAME,
    CSV_ROW_SIZE,
    CSV_UNREADABLE,
    DELIVERY_EXCEEDS_REMAINING,
    DISCOUNT_TOO_HIGH,
    DOWN_PAYMENT_REQUIRED,
    DUPLICATE_LINE,
    FULL_PAYMENT_REQUIRED,
    NOT_A_DAY,
    NOT_ON_LINE,
    ORDER_HAS_NO_LINES,
    ORDER_NOT_DELIVERABLE,
    ORDER_NOT_EDITABLE,
    ORDER_NOT_FULLY_DELIVERED,
    ORDER_NOT_PAYABLE,
    ORDER_SET_BY_PRODUCTION,
    ORDER_TRANSITION_FORBIDDEN,
    PAYMENT_EXCEEDS_BALANCE,
    PERCENT_TOO_HIGH,
    QUOTATION_CLOSED,
    QUOTATION_EXPIRED,
    QUOTATION_SUPERSEDED,
    REASON_REQUIRED,
    UNKNOWN_COLOR,
    UNKNOWN_CUSTOMER,
    UNKNOWN_LINE,
    UNKNOWN_ORDER,
    UNKNOWN_PRODUCT,
    UNKNOWN_SIZE,
    VALID_UNTIL_PAST,
)
from garment.tenant.orders.events import (
    DeliveryCreated,
    OrderCreated,
    OrderStatusChanged,
    PaymentReceived,
    QuotationConverted,
)
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
from garment.tenant.orders.repository import (
    DELIVERY_KEYSET,
    ORDER_KEYSET,
    QUOTATION_KEYSET,
    DeliveryRepository,
    OrderRepository,
    QuotationRepository,
)
from garment.tenant.orders.schemas import (
    ArtworkUpdate,
    DeliveryCreate,
    DeliveryLineOut,
    DeliveryOut,
    LineIn,
    LineOut,
    OrderCreate,
    OrderDetail,
    OrderOut,
    PackingEntry,
    PackingList,
    PaymentIn,
    PaymentList,
    PaymentOut,
    PeopleIn,
    PersonIn,
    QuotationCreate,
    QuotationDetail,
    QuotationOut,
    QuotedLineOut,
    QuotedRowOut,
    RevisionCreate,
    RevisionOut,
    SalesPolicyIn,
    SalesPolicyOut,
    SizeRowOut,
)
from garment.tenant.orders.states import (
    ArtworkStatus,
    DownPaymentKind,
    OrderStatus,
    QuotationStatus,
)
from garment.tenant.products.errors import UNKNOWN_VARIANT
from garment.tenant.products.schemas import QuoteLineIn, QuoteRequest
from garment.tenant.products.states import CustomerType
from garment.tenant.settings.service import SalesPolicy

ORDER_ENTITY = "order"
QUOTATION_ENTITY = "quotation"
DELIVERY_ENTITY = "delivery"
ORDER_LIMIT = "max_orders_per_month"
APPROVE_PERMISSION = "orders.approve"
LOCAL = ZoneInfo("Asia/Jakarta")
ORDER_AUDITED = (
    "number",
    "customer_id",
    "status",
    "due_date",
    "notes",
    "quantity",
    "subtotal",
    "discount",
    "tax_base",
    "ppn",
    "total",
    "paid_amount",
)


# --- ports (collaborators passed in by the composition root) ----------------------------------


class ProductLookup(Protocol):
    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> Any: ...

    async def quote(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID, body: Any
    ) -> Any: ...


class CustomerLookup(Protocol):
    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID
    ) -> Any: ...


class PolicyLookup(Protocol):
    async def sales_policy(self, session: AsyncSession, tenant_id: uuid.UUID) -> SalesPolicy: ...

    async def business_name(self, session: AsyncSession, tenant_id: uuid.UUID) -> str: ...

    async def set_sales_policy(
        self, session: AsyncSession, tenant_id: uuid.UUID, policy: SalesPolicy
    ) -> SalesPolicy: ...


class TaxRuleLookup(Protocol):
    async def rule(self, session: AsyncSession, tenant_id: uuid.UUID, *, pkp: bool) -> TaxRule: ...


class LimitCheck(Protocol):
    def require_within_limit(
        self, plan_code: str, name: str, usage: int, *, adding: int = 1
    ) -> None: ...


# --- pure helpers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PricedRow:
    size: str
    position: int
    variant_id: uuid.UUID
    qty: int
    unit_price: int

    @property
    def amount(self) -> int:
        return self.qty * self.unit_price


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: uuid.UUID
    color: str
    sizes: dict[str, int]
    rows: list[PricedRow]

    @property
    def quantity(self) -> int:
        return sum(row.qty for row in self.rows)

    @property
    def amount(self) -> int:
        return sum(row.amount for row in self.rows)


@dataclass(frozen=True, slots=True)
class Totals:
    quantity: int
    subtotal: int
    discount: int
    tax_base: int
    ppn: int
    total: int


def compute_totals(quantity: int, subtotal: int, discount: int, rule: TaxRule) -> Totals:
    """Exact to the rupiah: the taxable price is the subtotal less the discount; a PKP tenant
    adds PPN on it by its tax rule (by default floor(price x 11 / 100), on a tax base of
    floor(price x 11 / 12)), the rule its invoices use."""
    price = subtotal - discount
    ppn = rule.ppn(price)
    return Totals(quantity, subtotal, discount, rule.tax_base(price), ppn, price + ppn)


@dataclass(frozen=True, slots=True)
class SizeRef:
    """What production counts against: one order x size row (`order_line_sizes.id`)."""

    line_size_id: uuid.UUID
    line_id: uuid.UUID
    product_id: uuid.UUID
    variant_id: uuid.UUID
    color: str
    size: str
    qty: int


def local_today() -> date:
    return datetime.now(LOCAL).date()


def month_start_utc(now: datetime) -> datetime:
    local = now.astimezone(LOCAL)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def not_found() -> AppError:
    return AppError(RESOURCE_NOT_FOUND)


def parse_people_csv(text: str) -> list[PersonIn]:
    """`name,size[,note]` per row; a first row whose size column reads `size`/`ukuran` is a
    header. Semicolons work as separators too (spreadsheets in id locale)."""
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise invalid("body.csv", CSV_UNREADABLE, problem=str(exc)) from exc
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if rows and len(rows[0]) > 1 and rows[0][1].strip().lower() in {"size", "ukuran"}:
        rows = rows[1:]
    problems = FieldErrors()
    people: list[PersonIn] = []
    for number, row in enumerate(rows, start=1):
        name = row[0].strip() if row else ""
        size = row[1].strip().upper() if len(row) > 1 else ""
        note = row[2].strip() if len(row) > 2 and row[2].strip() else None
        if not name or len(name) > 200:
            problems.add("body.csv", CSV_ROW_NAME, row=number)
            continue
        if not size or len(size) > 8 or not size.isalnum():
            problems.add("body.csv", CSV_ROW_SIZE, row=number, size=size or "-")
            continue
        people.append(PersonIn(name=name, size=size, note=note[:200] if note else None))
    problems.raise_if_any()
    if not people:
        raise invalid("body.csv", CSV_UNREADABLE, problem="no rows")
    return people


class OrderService:
    order_keyset = ORDER_KEYSET
    quotation_keyset = QUOTATION_KEYSET
    delivery_keyset = DELIVERY_KEYSET

    def __init__(
        self,
        *,
        entitlements: LimitCheck,
        products: ProductLookup,
        customers: CustomerLookup,
        settings: PolicyLookup,
        tax_rules: TaxRuleLookup,
    ) -> None:
        self.entitlements = entitlements
        self.products = products
        self.customers = customers
        self.settings = settings
        self.tax_rules = tax_rules

    async def product_references(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> tuple[int, int]:
        """(orders, quotations) that name the product: the catalogue asks before a delete."""
        return await OrderRepository(session).referencing_product(tenant_id, product_id)

    # --- the sales policy ----------------------------------------------------------------------

    async def sales_policy(self, session: AsyncSession, tenant_id: uuid.UUID) -> SalesPolicyOut:
        policy = await self.settings.sales_policy(session, tenant_id)
        return SalesPolicyOut.model_validate(policy)

    async def set_sales_policy(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        body: SalesPolicyIn,
    ) -> SalesPolicyOut:
        """The policy applies to orders priced from now on (an order keeps its down payment
        until its grid or discount changes)."""
        if body.down_payment_kind is DownPaymentKind.PERCENT and body.down_payment_value > 100:
            raise invalid("body.down_payment_value", PERCENT_TOO_HIGH)
        before = await self.settings.sales_policy(session, tenant_id)
        policy = SalesPolicy(body.down_payment_kind.value, body.down_payment_value, body.pkp)
        await self.settings.set_sales_policy(session, tenant_id, policy)
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.UPDATE,
            entity_type="sales_settings",
            entity_id=tenant_id,
            before=asdict(before),
            after=asdict(policy),
        )
        return SalesPolicyOut.model_validate(policy)

    # --- pricing ------------------------------------------------------------------------------

    async def _customer(
        self, session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID, field: str
    ) -> Any:
        try:
            return await self.customers.get(session, tenant_id, customer_id)
        except AppError as exc:
            if exc.spec is RESOURCE_NOT_FOUND:
                raise invalid(field, UNKNOWN_CUSTOMER) from exc
            raise

    async def price_lines(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        customer_type: str,
        lines: Sequence[tuple[uuid.UUID, str, dict[str, int]]],
        *,
        field: str = "body.lines",
    ) -> list[PricedLine]:
        """Price (product, colour, {size: qty}) lines: unknown products, colours and sizes are
        422 naming the field (`body.lines.0.sizes.XXXL`); the tier of a design is picked by its
        pieces over every line of that design."""
        problems = FieldErrors()
        designs: dict[uuid.UUID, Any] = {}
        seen: dict[tuple[uuid.UUID, str], int] = {}
        for index, (product_id, color, sizes) in enumerate(lines):
            where = f"{field}.{index}"
            if (product_id, color) in seen:
                problems.add(where, DUPLICATE_LINE, index=seen[(product_id, color)])
                continue
            seen[(product_id, color)] = index
            if product_id not in designs:
                try:
                    designs[product_id] = await self.products.get(session, tenant_id, product_id)
                except AppError as exc:
                    if exc.spec is not RESOURCE_NOT_FOUND:
                        raise
                    designs[product_id] = None
            design = designs[product_id]
            if design is None:
                problems.add(f"{where}.product_id", UNKNOWN_PRODUCT)
                continue
            if color not in design.colors:
                problems.add(f"{where}.color", UNKNOWN_COLOR, color=color)
            known = [size.code for size in design.sizes]
            for size in sizes:
                if size not in known:
                    problems.add(f"{where}.sizes.{size}", UNKNOWN_SIZE, size=size)
        problems.raise_if_any()
        quotes: dict[uuid.UUID, dict[tuple[str, str], Any]] = {}
        for product_id in designs:
            request_lines = [
                QuoteLineIn(size=size, color=color, quantity=qty)
                for pid, color, sizes in lines
                if pid == product_id
                for size, qty in sizes.items()
                if qty > 0
            ]
            if not request_lines:
                quotes[product_id] = {}
                continue
            try:
                quoted = await self.products.quote(
                    session,
                    tenant_id,
                    product_id,
                    QuoteRequest(customer_type=CustomerType(customer_type), lines=request_lines),
                )
            except AppError as exc:
                if exc.errors:  # a size/colour pair without a variant
                    raise invalid(field, UNKNOWN_VARIANT, size="?", color="?") from exc
                raise
            quotes[product_id] = {(row.size, row.color): row for row in quoted.lines}
        priced: list[PricedLine] = []
        for product_id, color, sizes in lines:
            order = [size.code for size in designs[product_id].sizes]
            rows = []
            for size in sorted((s for s, q in sizes.items() if q > 0), key=order.index):
                quoted_row = quotes[product_id][(size, color)]
                rows.append(
                    PricedRow(
                        size=size,
                        position=order.index(size),
                        variant_id=quoted_row.variant_id,
                        qty=sizes[size],
                        unit_price=quoted_row.unit_price,
                    )
                )
            grid = {row.size: row.qty for row in rows}
            priced.append(PricedLine(product_id, color, grid, rows))
        return priced

    # --- orders -------------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        plan_code: str,
        actor_id: uuid.UUID | None,
        body: OrderCreate,
        *,
        quotation_id: uuid.UUID | None = None,
    ) -> OrderDetail:
        customer = await self._customer(session, tenant_id, body.customer_id, "body.customer_id")
        priced = await self.price_lines(
            session,
            tenant_id,
            customer.type,
            [(item.product_id, item.color, item.sizes) for item in body.lines],
        )
        return await self._create_priced(
            session,
            central,
            tenant_id,
            plan_code,
            actor_id,
            customer_id=body.customer_id,
            order_date=body.order_date,
            due_date=body.due_date,
            discount=body.discount,
            notes=body.notes,
            priced=priced,
            quotation_id=quotation_id,
        )

    async def _create_priced(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        plan_code: str,
        actor_id: uuid.UUID | None,
        *,
        customer_id: uuid.UUID,
        order_date: date | None,
        due_date: date | None,
        discount: int,
        notes: str | None,
        priced: list[PricedLine],
        quotation_id: uuid.UUID | None,
    ) -> OrderDetail:
        subtotal = sum(line.amount for line in priced)
        if discount > subtotal:
            raise invalid("body.discount", DISCOUNT_TOO_HIGH, subtotal=subtotal)
        orders = OrderRepository(session)
        now = datetime.now(UTC)
        await orders.lock_monthly_count(tenant_id)
        usage = await orders.count_created_since(tenant_id, month_start_utc(now))
        self.entitlements.require_within_limit(plan_code, ORDER_LIMIT, usage)
        policy = await self.settings.sales_policy(session, tenant_id)
        rule = await self.tax_rules.rule(session, tenant_id, pkp=policy.pkp)
        totals = compute_totals(sum(line.quantity for line in priced), subtotal, discount, rule)
        number = await next_document_number(session, tenant_id, DocumentType.SALES_ORDER, at=now)
        order = await orders.create(
            Order(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                number=number,
                customer_id=customer_id,
                quotation_id=quotation_id,
                status=OrderStatus.DRAFT.value,
                order_date=order_date or local_today(),
                due_date=due_date,
                notes=notes,
                quantity=totals.quantity,
                subtotal=totals.subtotal,
                discount=totals.discount,
                tax_base=totals.tax_base,
                ppn=totals.ppn,
                total=totals.total,
                down_payment_due=policy.down_payment_for(totals.total),
                paid_amount=0,
                created_by=actor_id,
                created_at=now,
                updated_at=now,
            )
        )
        rows: list[Any] = []
        for position, line in enumerate(priced):
            order_line = OrderLine(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                order_id=order.id,
                position=position,
                product_id=line.product_id,
                color=line.color,
                size_breakdown=dict(line.sizes),
                quantity=line.quantity,
                amount=line.amount,
                artwork_status=ArtworkStatus.PENDING.value,
                created_at=now,
                updated_at=now,
            )
            rows.append(order_line)
            rows.extend(
                OrderLineSize(
                    tenant_id=tenant_id,
                    id=uuid.uuid4(),
                    order_id=order.id,
                    line_id=order_line.id,
                    variant_id=row.variant_id,
                    size=row.size,
                    position=row.position,
                    qty=row.qty,
                    unit_price=row.unit_price,
                    amount=row.amount,
                    delivered_qty=0,
                    updated_at=now,
                )
                for row in line.rows
            )
        orders.add_all(rows)
        await self._add_history(session, order, None, actor_id, None)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type=ORDER_ENTITY,
            entity_id=order.id,
            after=snapshot(order, ORDER_AUDITED),
        )
        await publish(
            central,
            OrderCreated(
                tenant_id=tenant_id, order_id=order.id, number=number, version=order.version
            ),
        )
        return await self.detail(session, order)

    async def _order(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> Order:
        order = await OrderRepository(session).of_tenant(tenant_id, order_id, for_update=for_update)
        if order is None:
            raise not_found()
        return order

    async def _add_history(
        self,
        session: AsyncSession,
        order: Order,
        from_status: str | None,
        actor_id: uuid.UUID | None,
        reason: str | None,
    ) -> None:
        seq = await OrderRepository(session).next_history_seq(order.tenant_id, order.id)
        session.add(
            OrderStatusChange(
                tenant_id=order.tenant_id,
                id=uuid.uuid4(),
                order_id=order.id,
                seq=seq,
                from_status=from_status,
                to_status=order.status,
                reason=reason,
                actor_id=actor_id,
                created_at=datetime.now(UTC),
            )
        )

    async def detail(self, session: AsyncSession, order: Order) -> OrderDetail:
        orders = OrderRepository(session)
        lines = await orders.lines(order.tenant_id, order.id)
        rows = await orders.size_rows(order.tenant_id, order.id)
        people = await orders.people_counts(order.tenant_id, order.id)
        by_line: dict[uuid.UUID, list[OrderLineSize]] = {}
        for row in rows:
            by_line.setdefault(row.line_id, []).append(row)
        return OrderDetail(
            **order_out(order).model_dump(),
            lines=[
                LineOut(
                    id=line.id,
                    position=line.position,
                    product_id=line.product_id,
                    color=line.color,
                    sizes={row.size: row.qty for row in by_line.get(line.id, [])},
                    quantity=line.quantity,
                    amount=line.amount,
                    artwork_status=ArtworkStatus(line.artwork_status),
                    artwork_file_ref=line.artwork_file_ref,
                    artwork_note=line.artwork_note,
                    people=people.get(line.id, 0),
                    rows=[size_row_out(row) for row in by_line.get(line.id, [])],
                    version=line.version,
                )
                for line in lines
            ],
        )

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> OrderDetail:
        return await self.detail(session, await self._order(session, tenant_id, order_id))

    async def list_orders(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        status: OrderStatus | None,
        customer_id: uuid.UUID | None,
        date_from: date | str | None,
        date_to: date | str | None,
        search: str | None,
        page: PageParams,
    ) -> tuple[list[OrderOut], str | None]:
        """`date_from`/`date_to`: ISO days (text from the query, checked here)."""
        bounds: dict[str, date | None] = {}
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            try:
                bounds[name] = date.fromisoformat(value) if isinstance(value, str) else value
            except ValueError as exc:
                raise invalid(f"query.{name}", NOT_A_DAY) from exc
        date_from, date_to = bounds["date_from"], bounds["date_to"]
        rows, cursor = await OrderRepository(session).listed(
            tenant_id,
            status=status.value if status else None,
            customer_id=customer_id,
            date_from=date_from,
            date_to=date_to,
            search=search,
            page=page,
        )
        return [order_out(row) for row in rows], cursor

    async def _retotal(self, session: AsyncSession, order: Order, *, discount: int) -> None:
        rows = await OrderRepository(session).size_rows(order.tenant_id, order.id)
        subtotal = sum(row.amount for row in rows)
        if discount > subtotal:
            raise invalid("body.discount", DISCOUNT_TOO_HIGH, subtotal=subtotal)
        policy = await self.settings.sales_policy(session, order.tenant_id)
        rule = await self.tax_rules.rule(session, order.tenant_id, pkp=policy.pkp)
        totals = compute_totals(sum(row.qty for row in rows), subtotal, discount, rule)
        order.quantity = totals.quantity
        order.subtotal = totals.subtotal
        order.discount = totals.discount
        order.tax_base = totals.tax_base
        order.ppn = totals.ppn
        order.total = totals.total
        order.down_payment_due = policy.down_payment_for(totals.total)

    async def _audited_update(
        self,
        session: AsyncSession,
        order: Order,
        actor_id: uuid.UUID | None,
        before: dict[str, Any],
        action: str = AuditAction.UPDATE,
    ) -> None:
        order.updated_at = datetime.now(UTC)
        await session.flush()
        await record_change(
            session,
            tenant_id=order.tenant_id,
            actor_id=actor_id,
            action=action,
            entity_type=ORDER_ENTITY,
            entity_id=order.id,
            before=before,
            after=snapshot(order, ORDER_AUDITED),
        )

    async def update(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> OrderDetail:
        order = await self._order(session, tenant_id, order_id, for_update=True)
        check_version(order, expected_version)
        if changes.get("discount", 0) is None:
            changes.pop("discount")
        # The money (discount) is fixed once production starts; dates and notes until the
        # order is closed or cancelled.
        closed = (OrderStatus.CLOSED, OrderStatus.CANCELLED)
        if order.status in closed or (
            "discount" in changes and order.status not in states.EDITABLE
        ):
            raise AppError(ORDER_NOT_EDITABLE, params={"status": order.status})
        before = snapshot(order, ORDER_AUDITED)
        for name in ("due_date", "notes"):
            if name in changes:
                setattr(order, name, changes[name])
        if "discount" in changes:
            await self._retotal(session, order, discount=changes["discount"])
        if snapshot(order, ORDER_AUDITED) != before:
            await self._audited_update(session, order, actor_id, before)
        return await self.detail(session, order)

    async def edit_line_sizes(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        line_id: uuid.UUID,
        cells: dict[str, int],
        *,
        expected_version: int | None,
    ) -> OrderDetail:
        """Change cells of a line's grid: each named size's row changes (or appears, or goes
        at 0); every other row stays as it was. Unit prices are re-picked when the design's
        pieces cross a tier boundary."""
        order = await self._order(session, tenant_id, order_id, for_update=True)
        check_version(order, expected_version)
        if order.status not in states.EDITABLE:
            raise AppError(ORDER_NOT_EDITABLE, params={"status": order.status})
        orders = OrderRepository(session)
        line = await orders.line(tenant_id, order_id, line_id)
        if line is None:
            raise not_found()
        customer = await self.customers.get(session, tenant_id, order.customer_id)
        lines = await orders.lines(tenant_id, order_id)
        rows = await orders.size_rows(tenant_id, order_id, for_update=True)
        grids: dict[uuid.UUID, dict[str, int]] = {item.id: {} for item in lines}
        for row in rows:
            grids[row.line_id][row.size] = row.qty
        grid = dict(grids[line.id])
        grid.update(cells)
        grids[line.id] = {size: qty for size, qty in grid.items() if qty > 0}
        priced = await self.price_lines(
            session,
            tenant_id,
            customer.type,
            [(item.product_id, item.color, grids[item.id]) for item in lines],
        )
        index = {item.id: n for n, item in enumerate(lines)}
        problems = FieldErrors()
        for size in cells:
            if (
                cells[size] == 0
                and size not in grids[line.id]
                and size not in {row.size for row in rows if row.line_id == line.id}
            ):
                problems.add(f"body.sizes.{size}", NOT_ON_LINE, size=size)
        problems.raise_if_any()
        before = snapshot(order, ORDER_AUDITED)
        existing = {(row.line_id, row.size): row for row in rows}
        now = datetime.now(UTC)
        for item in lines:
            new_rows = {row.size: row for row in priced[index[item.id]].rows}
            for (row_line, row_size), row in list(existing.items()):
                if row_line != item.id:
                    continue
                if row_size not in new_rows:
                    if row.delivered_qty:
                        raise AppError(ORDER_NOT_EDITABLE, params={"status": order.status})
                    await orders.delete_size_row(row)
            for size, priced_row in new_rows.items():
                current = existing.get((item.id, size))
                if current is None:
                    session.add(
                        OrderLineSize(
                            tenant_id=tenant_id,
                            id=uuid.uuid4(),
                            order_id=order.id,
                            line_id=item.id,
                            variant_id=priced_row.variant_id,
                            size=size,
                            position=priced_row.position,
                            qty=priced_row.qty,
                            unit_price=priced_row.unit_price,
                            amount=priced_row.amount,
                            delivered_qty=0,
                            updated_at=now,
                        )
                    )
                elif (current.qty, current.unit_price) != (priced_row.qty, priced_row.unit_price):
                    current.qty = priced_row.qty
                    current.unit_price = priced_row.unit_price
                    current.amount = priced_row.amount
                    current.updated_at = now
            priced_line = priced[index[item.id]]
            if item.id == line.id or item.amount != priced_line.amount:
                item.size_breakdown = dict(priced_line.sizes)
                item.quantity = priced_line.quantity
                item.amount = priced_line.amount
                item.updated_at = now
        await session.flush()
        await self._retotal(session, order, discount=order.discount)
        await self._audited_update(session, order, actor_id, before)
        return await self.detail(session, order)

    async def set_artwork(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        line_id: uuid.UUID,
        body: ArtworkUpdate,
        *,
        expected_version: int | None,
    ) -> OrderDetail:
        """The artwork (design) status of a line; `expected_version` is the line's version."""
        order = await self._order(session, tenant_id, order_id)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED, OrderStatus.DELIVERED):
            raise AppError(ORDER_NOT_EDITABLE, params={"status": order.status})
        line = await OrderRepository(session).line(tenant_id, order_id, line_id)
        if line is None:
            raise not_found()
        check_version(line, expected_version)
        before = {
            "artwork_status": line.artwork_status,
            "artwork_file_ref": line.artwork_file_ref,
        }
        line.artwork_status = body.status.value
        if body.file_ref is not None:
            line.artwork_file_ref = body.file_ref
        line.artwork_note = body.note
        line.updated_at = datetime.now(UTC)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.UPDATE,
            entity_type="order_line",
            entity_id=line.id,
            before=before,
            after={
                "artwork_status": line.artwork_status,
                "artwork_file_ref": line.artwork_file_ref,
            },
        )
        return await self.detail(session, order)

    # --- the status flow ------------------------------------------------------------------------

    async def _balance_gate(self, session: AsyncSession, order: Order) -> None:
        """No delivery before full payment, unless the customer has credit terms."""
        due = order.total - order.paid_amount
        if due <= 0:
            return
        customer = await self.customers.get(session, order.tenant_id, order.customer_id)
        if customer.credit_days > 0:
            return
        raise AppError(
            FULL_PAYMENT_REQUIRED,
            params={"amount_due": due},
            extra={"missing": "full_payment", "amount_due": due},
        )

    async def _check_gates(
        self, session: AsyncSession, order: Order, target: OrderStatus, reason: str | None
    ) -> None:
        if target is OrderStatus.CANCELLED and not reason:
            raise invalid("body.reason", REASON_REQUIRED)
        if target is OrderStatus.CONFIRMED and order.quantity == 0:
            raise AppError(ORDER_HAS_NO_LINES)
        if target is OrderStatus.IN_PRODUCTION:
            lines = await OrderRepository(session).lines(order.tenant_id, order.id)
            pending = [str(ln.id) for ln in lines if ln.artwork_status != ArtworkStatus.APPROVED]
            if pending:
                raise AppError(
                    ARTWORK_NOT_APPROVED,
                    params={"count": len(pending)},
                    extra={"missing": "artwork_approval", "line_ids": pending},
                )
            due = order.down_payment_due - order.paid_amount
            if due > 0:
                raise AppError(
                    DOWN_PAYMENT_REQUIRED,
                    params={"amount_due": due},
                    extra={
                        "missing": "down_payment",
                        "amount_due": due,
                        "down_payment": order.down_payment_due,
                        "paid_amount": order.paid_amount,
                    },
                )
        if target is OrderStatus.DELIVERED:
            rows = await OrderRepository(session).size_rows(order.tenant_id, order.id)
            remaining = sum(row.qty - row.delivered_qty for row in rows)
            if remaining:
                raise AppError(ORDER_NOT_FULLY_DELIVERED, params={"remaining": remaining})
            await self._balance_gate(session, order)
        if target is OrderStatus.CLOSED and order.total > order.paid_amount:
            due = order.total - order.paid_amount
            raise AppError(
                FULL_PAYMENT_REQUIRED,
                params={"amount_due": due},
                extra={"missing": "full_payment", "amount_due": due},
            )

    async def _move(
        self,
        session: AsyncSession,
        central: AsyncSession,
        order: Order,
        target: OrderStatus,
        *,
        actor_id: uuid.UUID | None,
        reason: str | None,
    ) -> None:
        current = OrderStatus(order.status)
        if not states.can_transition(current, target):
            raise AppError(
                ORDER_TRANSITION_FORBIDDEN,
                params={"current": current.value, "target": target.value},
                extra={"allowed": sorted(s.value for s in states.ALLOWED[current])},
            )
        await self._check_gates(session, order, target, reason)
        before = snapshot(order, ORDER_AUDITED)
        order.status = target.value
        await self._add_history(session, order, current.value, actor_id, reason)
        await self._audited_update(session, order, actor_id, before)
        await publish(
            central,
            OrderStatusChanged(
                tenant_id=order.tenant_id,
                order_id=order.id,
                number=order.number,
                from_status=current.value,
                to_status=target.value,
                version=order.version,
            ),
        )

    async def transition(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        target: OrderStatus,
        reason: str | None,
        *,
        permissions: frozenset[str],
        expected_version: int | None = None,
    ) -> OrderDetail:
        """A transition by a member: confirming needs `orders.approve`; `ready` is
        production's to set (`mark_ready`)."""
        if target is OrderStatus.CONFIRMED and APPROVE_PERMISSION not in permissions:
            raise AppError(PERMISSION_DENIED, extra={"permission": APPROVE_PERMISSION})
        order = await self._order(session, tenant_id, order_id, for_update=True)
        check_version(order, expected_version)
        if target is OrderStatus.READY and states.can_transition(order.status, target):
            raise AppError(ORDER_SET_BY_PRODUCTION, params={"target": target.value})
        await self._move(session, central, order, target, actor_id=actor_id, reason=reason)
        return await self.detail(session, order)

    async def history(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> list[OrderStatusChange]:
        await self._order(session, tenant_id, order_id)
        return await OrderRepository(session).history(tenant_id, order_id)

    # --- the production side's API --------------------------------------------------------------

    async def production_started(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        *,
        actor_id: uuid.UUID | None = None,
        reason: str | None = None,
    ) -> OrderOut:
        """confirmed → in_production, with the artwork and down payment gates (the same
        refusals as the transition route). Already in production: nothing changes."""
        order = await self._order(session, tenant_id, order_id, for_update=True)
        if order.status != OrderStatus.IN_PRODUCTION:
            await self._move(
                session,
                central,
                order,
                OrderStatus.IN_PRODUCTION,
                actor_id=actor_id,
                reason=reason or "production started",
            )
        return order_out(order)

    async def mark_ready(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        *,
        actor_id: uuid.UUID | None = None,
        reason: str | None = None,
    ) -> OrderOut:
        """in_production → ready, when production has every size packed or written off
        (production checks that; this only moves the order). Already ready: nothing changes."""
        order = await self._order(session, tenant_id, order_id, for_update=True)
        if order.status != OrderStatus.READY:
            await self._move(
                session,
                central,
                order,
                OrderStatus.READY,
                actor_id=actor_id,
                reason=reason or "production complete",
            )
        return order_out(order)

    async def order_status(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> OrderStatus:
        return OrderStatus((await self._order(session, tenant_id, order_id)).status)

    async def size_rows(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> list[SizeRef]:
        """The order x size rows production counts against (404 for another tenant's id)."""
        await self._order(session, tenant_id, order_id)
        orders = OrderRepository(session)
        lines = {line.id: line for line in await orders.lines(tenant_id, order_id)}
        return [
            SizeRef(
                line_size_id=row.id,
                line_id=row.line_id,
                product_id=lines[row.line_id].product_id,
                variant_id=row.variant_id,
                color=lines[row.line_id].color,
                size=row.size,
                qty=row.qty,
            )
            for row in await orders.size_rows(tenant_id, order_id)
        ]

    # --- payments -------------------------------------------------------------------------------

    async def record_payment(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        body: PaymentIn,
    ) -> PaymentOut:
        order = await self._order(session, tenant_id, order_id, for_update=True)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED):
            raise AppError(ORDER_NOT_PAYABLE, params={"status": order.status})
        balance = order.total - order.paid_amount
        if body.amount > balance:
            raise AppError(
                PAYMENT_EXCEEDS_BALANCE, params={"balance": balance}, extra={"balance": balance}
            )
        now = datetime.now(UTC)
        payment = OrderPayment(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            order_id=order.id,
            method=body.method.value,
            amount=body.amount,
            paid_on=body.paid_on,
            proof_reference=body.proof_reference,
            actor_id=actor_id,
            created_at=now,
        )
        session.add(payment)
        before = snapshot(order, ORDER_AUDITED)
        order.paid_amount += body.amount
        await self._audited_update(session, order, actor_id, before)
        await publish(
            central,
            PaymentReceived(
                tenant_id=tenant_id,
                order_id=order.id,
                payment_id=payment.id,
                amount=payment.amount,
                paid_amount=order.paid_amount,
            ),
        )
        return PaymentOut.model_validate(payment)

    async def payments(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> PaymentList:
        order = await self._order(session, tenant_id, order_id)
        rows = await OrderRepository(session).payments(tenant_id, order_id)
        return PaymentList(
            data=[PaymentOut.model_validate(row) for row in rows],
            total=order.total,
            paid_amount=order.paid_amount,
            balance=order.total - order.paid_amount,
            down_payment_due=order.down_payment_due,
        )

    # --- names-and-sizes lists ------------------------------------------------------------------

    async def attach_people(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        line_id: uuid.UUID,
        body: PeopleIn,
        *,
        expected_version: int | None,
    ) -> OrderDetail:
        """Attach a uniform list to a line: it replaces the list and the line's breakdown
        becomes the count of people per size."""
        if (body.csv is None) == (body.people is None):
            raise invalid("body", CSV_UNREADABLE, problem="send either `csv` or `people`")
        people = parse_people_csv(body.csv) if body.csv is not None else list(body.people or [])
        order = await self._order(session, tenant_id, order_id)
        orders = OrderRepository(session)
        line = await orders.line(tenant_id, order_id, line_id)
        if line is None:
            raise not_found()
        counts: dict[str, int] = {}
        for person in people:
            counts[person.size] = counts.get(person.size, 0) + 1
        current = {
            row.size: row.qty
            for row in await orders.size_rows(tenant_id, order_id)
            if row.line_id == line_id
        }
        cells = {**dict.fromkeys(current, 0), **counts}
        try:
            detail = await self.edit_line_sizes(
                session,
                tenant_id,
                actor_id,
                order_id,
                line_id,
                cells,
                expected_version=expected_version,
            )
        except AppError as exc:
            if exc.errors:
                problems = FieldErrors()
                for number, person in enumerate(people, start=1):
                    if any(key.endswith(f".sizes.{person.size}") for key in exc.errors):
                        problems.add(
                            "body.csv" if body.csv is not None else f"body.people.{number - 1}",
                            CSV_ROW_SIZE,
                            row=number,
                            size=person.size,
                        )
                if problems:
                    problems.raise_if_any()
            raise
        await orders.replace_people(
            tenant_id,
            line_id,
            [
                OrderLinePerson(
                    tenant_id=tenant_id,
                    id=uuid.uuid4(),
                    order_id=order.id,
                    line_id=line_id,
                    position=position,
                    name=person.name,
                    size=person.size,
                    note=person.note,
                )
                for position, person in enumerate(people, start=1)
            ],
        )
        for item in detail.lines:
            if item.id == line_id:
                item.people = len(people)
        return detail

    async def packing_list(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> PackingList:
        order = await self._order(session, tenant_id, order_id)
        orders = OrderRepository(session)
        lines = {line.id: line for line in await orders.lines(tenant_id, order_id)}
        return PackingList(
            order_id=order.id,
            number=order.number,
            data=[
                PackingEntry(
                    line_id=person.line_id,
                    product_id=lines[person.line_id].product_id,
                    color=lines[person.line_id].color,
                    position=person.position,
                    name=person.name,
                    size=person.size,
                    note=person.note,
                )
                for person in await orders.people(tenant_id, order_id)
            ],
        )

    # --- quotations -----------------------------------------------------------------------------

    async def _revision(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        quotation: Quotation,
        revision: int,
        body: QuotationCreate | RevisionCreate,
        customer_type: str,
    ) -> QuotationRevision:
        if body.valid_until < local_today():
            raise invalid("body.valid_until", VALID_UNTIL_PAST)
        priced = await self.price_lines(
            session,
            tenant_id,
            customer_type,
            [(item.product_id, item.color, item.sizes) for item in body.lines],
        )
        subtotal = sum(line.amount for line in priced)
        if body.discount > subtotal:
            raise invalid("body.discount", DISCOUNT_TOO_HIGH, subtotal=subtotal)
        policy = await self.settings.sales_policy(session, tenant_id)
        rule = await self.tax_rules.rule(session, tenant_id, pkp=policy.pkp)
        totals = compute_totals(
            sum(line.quantity for line in priced), subtotal, body.discount, rule
        )
        row = QuotationRevision(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            quotation_id=quotation.id,
            revision=revision,
            valid_until=body.valid_until,
            due_date=body.due_date,
            notes=body.notes,
            discount=totals.discount,
            lines=[quoted_line_json(line) for line in priced],
            quantity=totals.quantity,
            subtotal=totals.subtotal,
            tax_base=totals.tax_base,
            ppn=totals.ppn,
            total=totals.total,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        await session.flush()
        return row

    async def create_quotation(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        body: QuotationCreate,
    ) -> QuotationDetail:
        customer = await self._customer(session, tenant_id, body.customer_id, "body.customer_id")
        now = datetime.now(UTC)
        # A refused request rolls back and gives its number back (no gaps).
        number = await next_document_number(session, tenant_id, DocumentType.QUOTATION, at=now)
        quotation = Quotation(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            number=number,
            customer_id=body.customer_id,
            status=QuotationStatus.OPEN.value,
            current_revision=1,
            created_by=actor_id,
            created_at=now,
            updated_at=now,
        )
        session.add(quotation)
        await session.flush()
        await self._revision(session, tenant_id, quotation, 1, body, customer.type)
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type=QUOTATION_ENTITY,
            entity_id=quotation.id,
            after={"number": quotation.number, "customer_id": str(quotation.customer_id)},
        )
        return await self.quotation_detail(session, quotation)

    async def _quotation(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        quotation_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> Quotation:
        found = await QuotationRepository(session).of_tenant(
            tenant_id, quotation_id, for_update=for_update
        )
        if found is None:
            raise not_found()
        return found

    async def quotation_detail(
        self, session: AsyncSession, quotation: Quotation
    ) -> QuotationDetail:
        revisions = await QuotationRepository(session).revisions(quotation.tenant_id, quotation.id)
        return QuotationDetail(
            **QuotationOut.model_validate(quotation, from_attributes=True).model_dump(),
            revisions=[revision_out(row) for row in revisions],
        )

    async def get_quotation(
        self, session: AsyncSession, tenant_id: uuid.UUID, quotation_id: uuid.UUID
    ) -> QuotationDetail:
        return await self.quotation_detail(
            session, await self._quotation(session, tenant_id, quotation_id)
        )

    async def list_quotations(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        status: QuotationStatus | None,
        page: PageParams,
    ) -> tuple[list[QuotationOut], str | None]:
        rows, cursor = await QuotationRepository(session).listed(
            tenant_id, status=status.value if status else None, page=page
        )
        return [QuotationOut.model_validate(row, from_attributes=True) for row in rows], cursor

    async def revise_quotation(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        quotation_id: uuid.UUID,
        body: RevisionCreate,
        *,
        expected_version: int | None,
    ) -> QuotationDetail:
        quotation = await self._quotation(session, tenant_id, quotation_id, for_update=True)
        check_version(quotation, expected_version)
        if quotation.status != QuotationStatus.OPEN:
            raise AppError(QUOTATION_CLOSED, params={"status": quotation.status})
        customer = await self.customers.get(session, tenant_id, quotation.customer_id)
        revision = quotation.current_revision + 1
        await self._revision(session, tenant_id, quotation, revision, body, customer.type)
        quotation.current_revision = revision
        quotation.updated_at = datetime.now(UTC)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.UPDATE,
            entity_type=QUOTATION_ENTITY,
            entity_id=quotation.id,
            before={"current_revision": revision - 1},
            after={"current_revision": revision},
        )
        return await self.quotation_detail(session, quotation)

    async def convert_quotation(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        plan_code: str,
        actor_id: uuid.UUID | None,
        quotation_id: uuid.UUID,
        revision: int | None,
    ) -> OrderDetail:
        """An order from the latest revision, when it is still valid; an older revision is
        superseded, an expired one refuses, a converted quotation refuses."""
        quotation = await self._quotation(session, tenant_id, quotation_id, for_update=True)
        if quotation.status != QuotationStatus.OPEN:
            raise AppError(QUOTATION_CLOSED, params={"status": quotation.status})
        if revision is not None and revision != quotation.current_revision:
            raise AppError(
                QUOTATION_SUPERSEDED,
                params={"revision": revision, "current": quotation.current_revision},
            )
        revisions = await QuotationRepository(session).revisions(tenant_id, quotation.id)
        latest = revisions[-1]
        if latest.valid_until < local_today():
            raise AppError(
                QUOTATION_EXPIRED, params={"valid_until": latest.valid_until.isoformat()}
            )
        customer = await self.customers.get(session, tenant_id, quotation.customer_id)
        # The quoted prices hold (the customer accepted them): re-checked against the catalogue
        # only for variants that still exist.
        priced = await self.price_lines(
            session,
            tenant_id,
            customer.type,
            [
                (uuid.UUID(line["product_id"]), line["color"], dict(line["sizes"]))
                for line in latest.lines
            ],
        )
        quoted_units = {
            (line["product_id"], line["color"], row["size"]): row["unit_price"]
            for line in latest.lines
            for row in line["rows"]
        }
        priced = [
            PricedLine(
                line.product_id,
                line.color,
                line.sizes,
                [
                    PricedRow(
                        row.size,
                        row.position,
                        row.variant_id,
                        row.qty,
                        quoted_units.get(
                            (str(line.product_id), line.color, row.size), row.unit_price
                        ),
                    )
                    for row in line.rows
                ],
            )
            for line in priced
        ]
        detail = await self._create_priced(
            session,
            central,
            tenant_id,
            plan_code,
            actor_id,
            customer_id=quotation.customer_id,
            order_date=None,
            due_date=latest.due_date,
            discount=latest.discount,
            notes=latest.notes,
            priced=priced,
            quotation_id=quotation.id,
        )
        quotation.status = QuotationStatus.CONVERTED.value
        quotation.order_id = detail.id
        quotation.updated_at = datetime.now(UTC)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.UPDATE,
            entity_type=QUOTATION_ENTITY,
            entity_id=quotation.id,
            before={"status": QuotationStatus.OPEN.value},
            after={"status": quotation.status, "order_id": str(detail.id)},
        )
        await publish(
            central,
            QuotationConverted(
                tenant_id=tenant_id,
                quotation_id=quotation.id,
                order_id=detail.id,
                revision=latest.revision,
            ),
        )
        return detail

    # --- deliveries -----------------------------------------------------------------------------

    async def create_delivery(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        body: DeliveryCreate,
    ) -> DeliveryOut:
        """A delivery note of some pieces per size. Over-delivery of a size is refused (409
        naming the size and what remains); when nothing remains the order is delivered."""
        order = await OrderRepository(session).of_tenant(tenant_id, body.order_id, for_update=True)
        if order is None:
            raise invalid("body.order_id", UNKNOWN_ORDER)
        if order.status not in states.DELIVERABLE:
            raise AppError(ORDER_NOT_DELIVERABLE, params={"status": order.status})
        await self._balance_gate(session, order)
        rows = {
            (row.line_id, row.size): row
            for row in await OrderRepository(session).size_rows(
                tenant_id, order.id, for_update=True
            )
        }
        problems = FieldErrors()
        wanted: dict[tuple[uuid.UUID, str], int] = {}
        for index, item in enumerate(body.lines):
            key = (item.line_id, item.size)
            if key not in rows:
                if not any(line_id == item.line_id for line_id, _ in rows):
                    problems.add(f"body.lines.{index}.line_id", UNKNOWN_LINE)
                else:
                    problems.add(f"body.lines.{index}.size", NOT_ON_LINE, size=item.size)
                continue
            wanted[key] = wanted.get(key, 0) + item.qty
        problems.raise_if_any()
        for key, qty in wanted.items():
            row = rows[key]
            remaining = row.qty - row.delivered_qty
            if qty > remaining:
                raise AppError(
                    DELIVERY_EXCEEDS_REMAINING,
                    params={"size": row.size, "remaining": remaining},
                    extra={
                        "line_id": str(row.line_id),
                        "size": row.size,
                        "requested": qty,
                        "remaining": remaining,
                    },
                )
        now = datetime.now(UTC)
        number = await next_document_number(session, tenant_id, DocumentType.DELIVERY_NOTE, at=now)
        delivery = Delivery(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            number=number,
            order_id=order.id,
            delivered_on=body.delivered_on or local_today(),
            recipient=body.recipient,
            address=body.address,
            notes=body.notes,
            quantity=sum(wanted.values()),
            created_by=actor_id,
            created_at=now,
        )
        session.add(delivery)
        await session.flush()
        lines = []
        for key, qty in wanted.items():
            row = rows[key]
            row.delivered_qty += qty
            row.updated_at = now
            lines.append(
                DeliveryLine(
                    tenant_id=tenant_id,
                    id=uuid.uuid4(),
                    delivery_id=delivery.id,
                    line_size_id=row.id,
                    line_id=row.line_id,
                    size=row.size,
                    qty=qty,
                )
            )
        session.add_all(lines)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type=DELIVERY_ENTITY,
            entity_id=delivery.id,
            after={"number": number, "order_id": str(order.id), "quantity": delivery.quantity},
        )
        await publish(
            central,
            DeliveryCreated(
                tenant_id=tenant_id,
                order_id=order.id,
                delivery_id=delivery.id,
                number=number,
                quantity=delivery.quantity,
            ),
        )
        if all(row.delivered_qty == row.qty for row in rows.values()):
            await self._move(
                session,
                central,
                order,
                OrderStatus.DELIVERED,
                actor_id=actor_id,
                reason=f"delivered by {number}",
            )
        return delivery_out(delivery, lines, order.number)

    async def get_delivery(
        self, session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> DeliveryOut:
        deliveries = DeliveryRepository(session)
        delivery = await deliveries.of_tenant(tenant_id, delivery_id)
        if delivery is None:
            raise not_found()
        lines = await deliveries.lines_of(tenant_id, [delivery.id])
        numbers = await deliveries.order_numbers(tenant_id, [delivery.order_id])
        return delivery_out(delivery, lines, numbers.get(delivery.order_id, ""))

    async def list_deliveries(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        order_id: uuid.UUID | None,
        page: PageParams,
    ) -> tuple[list[DeliveryOut], str | None]:
        deliveries = DeliveryRepository(session)
        rows, cursor = await deliveries.listed(tenant_id, order_id=order_id, page=page)
        lines = await deliveries.lines_of(tenant_id, [row.id for row in rows])
        numbers = await deliveries.order_numbers(tenant_id, list({row.order_id for row in rows}))
        by_delivery: dict[uuid.UUID, list[DeliveryLine]] = {}
        for line in lines:
            by_delivery.setdefault(line.delivery_id, []).append(line)
        return [
            delivery_out(row, by_delivery.get(row.id, []), numbers.get(row.order_id, ""))
            for row in rows
        ], cursor

    async def delivery_document(
        self, session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> tuple[DeliveryOut, OrderDetail, Any]:
        """What the printable note shows: the note, its order (with the grid) and the
        customer."""
        delivery = await self.get_delivery(session, tenant_id, delivery_id)
        order = await self.get(session, tenant_id, delivery.order_id)
        customer = await self.customers.get(session, tenant_id, order.customer_id)
        return delivery, order, customer

    async def delivery_pdf(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        delivery_id: uuid.UUID,
        lang: str | None,
    ) -> tuple[str, bytes]:
        """The printable note (`SJ-2026-000001.pdf`, its bytes) in `lang`, else the request's
        language (Accept-Language; Indonesian by default)."""
        delivery, order, customer = await self.delivery_document(session, tenant_id, delivery_id)
        names: dict[Any, str] = {}
        for line in order.lines:
            if line.product_id not in names:
                product = await self.products.get(session, tenant_id, line.product_id)
                names[line.product_id] = product.name
        content = delivery_note_pdf(
            locale=lang or current_context().locale,
            business_name=await self.settings.business_name(session, tenant_id),
            delivery=delivery,
            order=order,
            customer_name=customer.name,
            product_names=names,
        )
        return delivery.number.replace("/", "-") + ".pdf", content


# --- output mappers -----------------------------------------------------------------------


def order_out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.id,
        number=order.number,
        customer_id=order.customer_id,
        quotation_id=order.quotation_id,
        status=OrderStatus(order.status),
        order_date=order.order_date,
        due_date=order.due_date,
        notes=order.notes,
        quantity=order.quantity,
        subtotal=order.subtotal,
        discount=order.discount,
        tax_base=order.tax_base,
        ppn=order.ppn,
        total=order.total,
        down_payment_due=order.down_payment_due,
        paid_amount=order.paid_amount,
        balance=order.total - order.paid_amount,
        version=order.version,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def size_row_out(row: OrderLineSize) -> SizeRowOut:
    return SizeRowOut(
        id=row.id,
        variant_id=row.variant_id,
        size=row.size,
        qty=row.qty,
        unit_price=row.unit_price,
        amount=row.amount,
        delivered=row.delivered_qty,
        remaining=row.qty - row.delivered_qty,
    )


def quoted_line_json(line: PricedLine) -> dict[str, Any]:
    return {
        "product_id": str(line.product_id),
        "color": line.color,
        "sizes": dict(line.sizes),
        "quantity": line.quantity,
        "amount": line.amount,
        "rows": [
            {
                "size": row.size,
                "variant_id": str(row.variant_id),
                "qty": row.qty,
                "unit_price": row.unit_price,
                "amount": row.amount,
            }
            for row in line.rows
        ],
    }


def revision_out(row: QuotationRevision) -> RevisionOut:
    return RevisionOut(
        revision=row.revision,
        valid_until=row.valid_until,
        due_date=row.due_date,
        notes=row.notes,
        quantity=row.quantity,
        subtotal=row.subtotal,
        discount=row.discount,
        tax_base=row.tax_base,
        ppn=row.ppn,
        total=row.total,
        lines=[
            QuotedLineOut(
                product_id=uuid.UUID(line["product_id"]),
                color=line["color"],
                sizes=line["sizes"],
                quantity=line["quantity"],
                amount=line["amount"],
                rows=[QuotedRowOut(**item) for item in line["rows"]],
            )
            for line in row.lines
        ],
        created_at=row.created_at,
    )


def delivery_out(
    delivery: Delivery, lines: Iterable[DeliveryLine], order_number: str
) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        number=delivery.number,
        order_id=delivery.order_id,
        order_number=order_number,
        delivered_on=delivery.delivered_on,
        recipient=delivery.recipient,
        address=delivery.address,
        notes=delivery.notes,
        quantity=delivery.quantity,
        lines=[DeliveryLineOut.model_validate(line) for line in lines],
        created_at=delivery.created_at,
    )


def line_in(product_id: uuid.UUID, color: str, sizes: dict[str, int]) -> LineIn:
    return LineIn(product_id=product_id, color=color, sizes=sizes)
