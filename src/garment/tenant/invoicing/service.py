"""Customer invoices from orders: the down payment (DP) invoice and the final invoice that
deducts it, PPN by the tax rule of `tax.py`, numbering at issue, payments applied (each one an
order payment, so money is counted once), the PDF, the Coretax export with its checks and the
NSFP imported back, replacements, the monthly turnover report of non-PKP tenants and the
receivables ageing.

Orders, customers, products and the tenant settings are other contexts: they are reached through
the ports below (the runtime passes their services), never through their tables. Writes take the
tenant session (the change and its audit row) and, where an event or an order payment is
published, the central session (ADR 0014)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.context import current_context
from garment.platform.errors import (
    INVALID_STATE_TRANSITION,
    RESOURCE_NOT_FOUND,
    AppError,
    FieldErrors,
    invalid,
)
from garment.platform.events import publish
from garment.platform.pagination import PageParams
from garment.platform.ppn import TaxRule
from garment.platform.versioning import apply_changes, check_version
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.conventions.service import DocumentType, next_document_number
from garment.tenant.customers.service import check_tax_ids
from garment.tenant.invoicing import coretax, tax
from garment.tenant.invoicing.documents import invoice_pdf
from garment.tenant.invoicing.errors import (
    AMOUNT_ONLY_FOR_DOWN_PAYMENT,
    BASE_RATIO,
    CSV_ROW,
    CSV_UNREADABLE,
    DOWN_PAYMENT_EXCEEDS_ORDER,
    DOWN_PAYMENT_INVOICE_NOT_ISSUED,
    DOWN_PAYMENT_NOT_REQUESTED,
    DOWN_PAYMENT_TOO_HIGH,
    DUPLICATE_IN_BATCH,
    FINAL_INVOICE_EXISTS,
    INVOICE_ALREADY_EXISTS,
    INVOICE_EXPORTED,
    INVOICE_HAS_PAYMENTS,
    INVOICE_NOT_EXPORTED,
    INVOICE_NOT_EXPORTED_FIELD,
    INVOICE_NOT_ISSUED,
    INVOICE_NOT_TAXABLE,
    INVOICE_PAYMENT_EXCEEDS_BALANCE,
    NOT_A_MONTH,
    NSFP_ALREADY_SET,
    NSFP_CONFLICT_FIELD,
    NSFP_SOURCE,
    NSFP_TAKEN,
    ORDER_NOT_INVOICEABLE,
    ORDER_PAYMENT_ALREADY_APPLIED,
    PAYMENT_SOURCE,
    UNKNOWN_INVOICE,
    UNKNOWN_ORDER,
    UNKNOWN_ORDER_PAYMENT,
)
from garment.tenant.invoicing.events import InvoiceIssued
from garment.tenant.invoicing.models import Invoice, InvoiceLine, InvoicePayment, TaxSettings
from garment.tenant.invoicing.repository import (
    INVOICE_KEYSET,
    InvoiceRepository,
    TaxSettingsRepository,
)
from garment.tenant.invoicing.schemas import (
    AgeingBuckets,
    AgeingOut,
    CustomerAgeing,
    InvoiceCreate,
    InvoiceDetail,
    InvoiceLineOut,
    InvoiceOut,
    InvoicePaymentIn,
    InvoicePaymentOut,
    NsfpImportIn,
    ReplacementIn,
    TaxSettingsIn,
    TaxSettingsOut,
    TurnoverOut,
)
from garment.tenant.invoicing.states import (
    LIVE,
    TRANSITIONS,
    GoodsOrService,
    InvoiceKind,
    InvoiceStatus,
    status_for_payment,
)
from garment.tenant.orders.schemas import PaymentIn
from garment.tenant.orders.states import OrderStatus

ENTITY = "invoice"
SETTINGS_ENTITY = "tax_settings"
CORETAX_FEATURE = "coretax_export"
LOCAL = ZoneInfo("Asia/Jakarta")
INVOICE_AUDITED = (
    "number",
    "kind",
    "status",
    "order_id",
    "customer_id",
    "replaces_id",
    "issue_date",
    "due_date",
    "price",
    "ppn",
    "total",
    "paid_amount",
    "notes",
    "coretax_exported_at",
    "nsfp",
)
SETTINGS_AUDITED = (
    "npwp",
    "nitku",
    "ppn_rate",
    "base_numerator",
    "base_denominator",
    "seller_address",
    "unit_code",
    "goods_code",
)
# Orders that can be invoiced: confirmed and later, never a draft or a cancelled one.
INVOICEABLE = frozenset(
    {
        OrderStatus.CONFIRMED,
        OrderStatus.IN_PRODUCTION,
        OrderStatus.READY,
        OrderStatus.DELIVERED,
        OrderStatus.CLOSED,
    }
)
AGEING_LIMITS = ((30, "days_0_30"), (60, "days_31_60"), (90, "days_61_90"))


# --- ports (collaborators passed in by the composition root) ----------------------------------


class OrderLookup(Protocol):
    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> Any: ...

    async def payments(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> Any: ...

    async def record_payment(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        body: PaymentIn,
    ) -> Any: ...


class RecordLookup(Protocol):
    """Customers and products: `get` answers the row or raises RESOURCE_NOT_FOUND."""

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, record_id: uuid.UUID
    ) -> Any: ...


class SettingsLookup(Protocol):
    async def sales_policy(self, session: AsyncSession, tenant_id: uuid.UUID) -> Any: ...

    async def set_sales_policy(
        self, session: AsyncSession, tenant_id: uuid.UUID, policy: Any
    ) -> Any: ...

    async def business_name(self, session: AsyncSession, tenant_id: uuid.UUID) -> str: ...


class FeatureCheck(Protocol):
    def require_feature(self, plan_code: str, feature: str) -> None: ...


# --- pure helpers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftLine:
    description: str
    qty: int
    unit_price: int

    @property
    def amount(self) -> int:
        return self.qty * self.unit_price


def local_today() -> date:
    return datetime.now(LOCAL).date()


def not_found() -> AppError:
    return AppError(RESOURCE_NOT_FOUND)


def rule_of(invoice: Invoice) -> TaxRule:
    return TaxRule(invoice.pkp, invoice.ppn_rate, invoice.base_numerator, invoice.base_denominator)


def tax_of(invoice: Invoice) -> tax.InvoiceTax:
    return tax.InvoiceTax(invoice.price, invoice.other_tax_base, invoice.ppn)


def month_bounds(month: str) -> tuple[date, date]:
    """`YYYY-MM` → its first and last day."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise invalid("query.month", NOT_A_MONTH) from exc
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def ageing_bucket(days_past_due: int) -> str:
    if days_past_due < 0:
        return "not_due"
    for limit, name in AGEING_LIMITS:
        if days_past_due <= limit:
            return name
    return "days_over_90"


def parse_nsfp_csv(text: str) -> list[tuple[str, str]]:
    """`number,nsfp` per row (`;` works too); a first row that is not an invoice number is a
    header."""
    delimiter = ";" if text.count(";") > text.count(",") else ","
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    except csv.Error as exc:
        raise invalid("body.csv", CSV_UNREADABLE, problem=str(exc)) from exc
    if rows and not rows[0][0].strip().upper().startswith("INV/"):
        rows = rows[1:]
    problems = FieldErrors()
    pairs: list[tuple[str, str]] = []
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if len(cells) < 2 or not cells[1].isdigit() or len(cells[1]) != 17:
            problems.add("body.csv", CSV_ROW, row=number)
            continue
        pairs.append((cells[0].upper(), cells[1]))
    problems.raise_if_any()
    if not pairs:
        raise invalid("body.csv", CSV_UNREADABLE, problem="no rows")
    return pairs


class TaxRules:
    """The tenant's tax rule (PKP from its sales policy, rate and base ratio from its tax
    settings): what its orders and its invoices both price PPN by, so they never disagree."""

    async def rule(self, session: AsyncSession, tenant_id: uuid.UUID, *, pkp: bool) -> TaxRule:
        """The rule for a tenant whose PKP flag is `pkp` (a non-PKP tenant owes no PPN, and its
        tax settings are not read)."""
        if not pkp:
            return TaxRule(False)
        row = await TaxSettingsRepository(session).current(tenant_id)
        return TaxRule(True, row.ppn_rate, row.base_numerator, row.base_denominator)


class InvoiceService:
    invoice_keyset = INVOICE_KEYSET

    def __init__(
        self,
        *,
        orders: OrderLookup,
        customers: RecordLookup,
        products: RecordLookup,
        settings: SettingsLookup,
        entitlements: FeatureCheck,
        tax_rules: TaxRules,
    ) -> None:
        self.orders = orders
        self.customers = customers
        self.products = products
        self.settings = settings
        self.entitlements = entitlements
        self.tax_rules = tax_rules

    # --- tax settings ---------------------------------------------------------------------

    async def _settings_out(
        self, session: AsyncSession, tenant_id: uuid.UUID, row: TaxSettings
    ) -> TaxSettingsOut:
        policy = await self.settings.sales_policy(session, tenant_id)
        return TaxSettingsOut(
            pkp=policy.pkp,
            **{name: getattr(row, name) for name in SETTINGS_AUDITED},
            version=row.version,
            updated_at=row.updated_at,
        )

    async def tax_settings(self, session: AsyncSession, tenant_id: uuid.UUID) -> TaxSettingsOut:
        row = await TaxSettingsRepository(session).current(tenant_id)
        return await self._settings_out(session, tenant_id, row)

    async def set_tax_settings(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        body: TaxSettingsIn,
        *,
        expected_version: int | None,
    ) -> TaxSettingsOut:
        """Replace the settings (If-Match); `pkp` goes to the tenant settings' one flag."""
        values = body.model_dump()
        check_tax_ids(values)
        if body.base_numerator > body.base_denominator:
            raise invalid("body.base_numerator", BASE_RATIO)
        row = await TaxSettingsRepository(session).ensure(tenant_id, for_update=True)
        check_version(row, expected_version)
        before = {**snapshot(row, SETTINGS_AUDITED)}
        policy = await self.settings.sales_policy(session, tenant_id)
        before["pkp"] = policy.pkp
        changes = {name: values[name] for name in SETTINGS_AUDITED}
        # One conditional UPDATE (the version moves once; `updated_at` follows by onupdate).
        await apply_changes(session, row, expected_version, changes)
        if policy.pkp != body.pkp:
            await self.settings.set_sales_policy(session, tenant_id, replace(policy, pkp=body.pkp))
        after = {**snapshot(row, SETTINGS_AUDITED), "pkp": body.pkp}
        if after != before:
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=actor_id,
                action=AuditAction.UPDATE,
                entity_type=SETTINGS_ENTITY,
                entity_id=tenant_id,
                before=before,
                after=after,
            )
        return await self._settings_out(session, tenant_id, row)

    async def _rule(self, session: AsyncSession, tenant_id: uuid.UUID) -> TaxRule:
        policy = await self.settings.sales_policy(session, tenant_id)
        return await self.tax_rules.rule(session, tenant_id, pkp=policy.pkp)

    # --- reading --------------------------------------------------------------------------

    async def _invoice(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        invoice_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> Invoice:
        invoice = await InvoiceRepository(session).of_tenant(
            tenant_id, invoice_id, for_update=for_update
        )
        if invoice is None:
            raise not_found()
        return invoice

    async def detail(self, session: AsyncSession, invoice: Invoice) -> InvoiceDetail:
        invoices = InvoiceRepository(session)
        lines = await invoices.lines(invoice.tenant_id, invoice.id)
        payments = await invoices.payments(invoice.tenant_id, [invoice.id])
        return InvoiceDetail(
            **invoice_out(invoice).model_dump(),
            lines=[InvoiceLineOut.model_validate(line) for line in lines],
            payments=[InvoicePaymentOut.model_validate(payment) for payment in payments],
        )

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, invoice_id: uuid.UUID
    ) -> InvoiceDetail:
        return await self.detail(session, await self._invoice(session, tenant_id, invoice_id))

    async def list_invoices(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        status: InvoiceStatus | None,
        kind: InvoiceKind | None,
        order_id: uuid.UUID | None,
        customer_id: uuid.UUID | None,
        page: PageParams,
    ) -> tuple[list[InvoiceOut], str | None]:
        rows, cursor = await InvoiceRepository(session).listed(
            tenant_id,
            status=status.value if status else None,
            kind=kind.value if kind else None,
            order_id=order_id,
            customer_id=customer_id,
            page=page,
        )
        return [invoice_out(row) for row in rows], cursor

    # --- creating -------------------------------------------------------------------------

    async def _order(self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> Any:
        try:
            order = await self.orders.get(session, tenant_id, order_id)
        except AppError as exc:
            if exc.spec is RESOURCE_NOT_FOUND:
                raise invalid("body.order_id", UNKNOWN_ORDER) from exc
            raise
        if OrderStatus(order.status) not in INVOICEABLE:
            raise AppError(ORDER_NOT_INVOICEABLE, params={"status": order.status})
        return order

    async def _order_lines(
        self, session: AsyncSession, tenant_id: uuid.UUID, order: Any
    ) -> list[DraftLine]:
        names: dict[uuid.UUID, str] = {}
        lines: list[DraftLine] = []
        for line in order.lines:
            if line.product_id not in names:
                product = await self.products.get(session, tenant_id, line.product_id)
                names[line.product_id] = product.name
            for row in line.rows:
                description = f"{names[line.product_id]} {line.color} {row.size}"
                lines.append(DraftLine(description[:300], row.qty, row.unit_price))
        return lines

    async def _build(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        order: Any,
        kind: InvoiceKind,
        amount: int | None,
        active: list[Invoice],
    ) -> tuple[TaxRule, tax.InvoiceTax, list[DraftLine], Invoice | None]:
        """The figures of a new invoice of `kind` for `order`, given the order's active
        invoices (the DP one is deducted by the final one)."""
        down_payment = next((row for row in active if row.kind == InvoiceKind.DOWN_PAYMENT), None)
        order_price = order.subtotal - order.discount
        if kind is InvoiceKind.DOWN_PAYMENT:
            gross = amount if amount is not None else order.down_payment_due
            if gross <= 0:
                raise AppError(DOWN_PAYMENT_NOT_REQUESTED)
            if gross >= order.total:
                raise invalid("body.amount", DOWN_PAYMENT_TOO_HIGH, total=order.total)
            rule = await self._rule(session, tenant_id)
            figures = tax.down_payment(rule, gross, order_price=order_price)
            line = DraftLine(f"Uang muka pesanan {order.number}", 1, figures.price)
            return rule, figures, [line], None
        if amount is not None:
            raise invalid("body.amount", AMOUNT_ONLY_FOR_DOWN_PAYMENT)
        if down_payment is not None and down_payment.status == InvoiceStatus.DRAFT:
            raise AppError(DOWN_PAYMENT_INVOICE_NOT_ISSUED)
        # The pair shares one rule: the DP invoice's, so a settings change in between cannot
        # break "DP + final = one invoice for the whole order".
        if down_payment is not None:
            rule = rule_of(down_payment)
            figures = tax.final(rule, order_price, tax_of(down_payment))
        else:
            rule = await self._rule(session, tenant_id)
            figures = tax.final(rule, order_price, None)
        if figures.price < 0 or figures.ppn < 0 or figures.other_tax_base < 0:
            raise invalid("body.order_id", DOWN_PAYMENT_EXCEEDS_ORDER)
        lines = await self._order_lines(session, tenant_id, order)
        return rule, figures, lines, down_payment

    async def _insert(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order: Any,
        kind: InvoiceKind,
        built: tuple[TaxRule, tax.InvoiceTax, list[DraftLine], Invoice | None],
        *,
        notes: str | None,
        replaces: Invoice | None = None,
        paid_amount: int = 0,
    ) -> Invoice:
        rule, figures, lines, down_payment = built
        settings = await TaxSettingsRepository(session).current(tenant_id)
        subtotal = sum(line.amount for line in lines)
        now = datetime.now(UTC)
        invoice = Invoice(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            kind=kind.value,
            status=InvoiceStatus.DRAFT.value,
            order_id=order.id,
            order_number=order.number,
            customer_id=order.customer_id,
            replaces_id=replaces.id if replaces else None,
            pkp=rule.pkp,
            ppn_rate=rule.rate,
            base_numerator=rule.base_numerator,
            base_denominator=rule.base_denominator,
            subtotal=subtotal,
            discount=order.discount if kind is InvoiceKind.FINAL else 0,
            deduction=down_payment.price if down_payment else 0,
            deducted_ppn=down_payment.ppn if down_payment else 0,
            down_payment_invoice_id=down_payment.id if down_payment else None,
            price=figures.price,
            other_tax_base=figures.other_tax_base,
            ppn=figures.ppn,
            total=figures.total,
            paid_amount=paid_amount,
            notes=notes,
            created_by=actor_id,
            created_at=now,
            updated_at=now,
        )

        def taken() -> AppError:
            return AppError(
                INVOICE_ALREADY_EXISTS,
                params={"kind": kind.value, "invoice_id": "-"},
                extra={"kind": kind.value},
            )

        await InvoiceRepository(session).create_unique(invoice, taken)
        opt = GoodsOrService.GOODS.value
        for position, line in enumerate(lines, start=1):
            session.add(
                InvoiceLine(
                    tenant_id=tenant_id,
                    id=uuid.uuid4(),
                    invoice_id=invoice.id,
                    position=position,
                    description=line.description,
                    opt=opt,
                    goods_code=settings.goods_code,
                    unit_code=settings.unit_code,
                    qty=line.qty,
                    unit_price=line.unit_price,
                    amount=line.amount,
                )
            )
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type=ENTITY,
            entity_id=invoice.id,
            after=snapshot(invoice, INVOICE_AUDITED),
        )
        return invoice

    def _check_slots(self, kind: InvoiceKind, active: Iterable[Invoice]) -> None:
        for row in active:
            if row.kind == kind:
                raise AppError(
                    INVOICE_ALREADY_EXISTS,
                    params={"kind": kind.value, "invoice_id": str(row.id)},
                    extra={"kind": kind.value, "invoice_id": str(row.id)},
                )
            if kind is InvoiceKind.DOWN_PAYMENT and row.kind == InvoiceKind.FINAL:
                raise AppError(FINAL_INVOICE_EXISTS, extra={"invoice_id": str(row.id)})

    async def create(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        body: InvoiceCreate,
    ) -> InvoiceDetail:
        """A draft invoice for an order; it gets its number when issued."""
        order = await self._order(session, tenant_id, body.order_id)
        active = await InvoiceRepository(session).active_of_order(
            tenant_id, order.id, for_update=True
        )
        self._check_slots(body.kind, active)
        built = await self._build(session, tenant_id, order, body.kind, body.amount, active)
        invoice = await self._insert(
            session, tenant_id, actor_id, order, body.kind, built, notes=body.notes
        )
        return await self.detail(session, invoice)

    # --- changing -------------------------------------------------------------------------

    @staticmethod
    def _mutable(invoice: Invoice) -> None:
        """An exported invoice is a tax document on record: corrections are replacements."""
        if invoice.coretax_exported_at is not None:
            raise AppError(INVOICE_EXPORTED, extra={"invoice_id": str(invoice.id)})

    async def _audited(
        self,
        session: AsyncSession,
        invoice: Invoice,
        actor_id: uuid.UUID | None,
        before: dict[str, Any],
        action: str = AuditAction.UPDATE,
    ) -> None:
        invoice.updated_at = datetime.now(UTC)
        await session.flush()
        await record_change(
            session,
            tenant_id=invoice.tenant_id,
            actor_id=actor_id,
            action=action,
            entity_type=ENTITY,
            entity_id=invoice.id,
            before=before,
            after=snapshot(invoice, INVOICE_AUDITED),
        )

    @staticmethod
    def _move(invoice: Invoice, target: InvoiceStatus) -> None:
        current = InvoiceStatus(invoice.status)
        if target is not current and target not in TRANSITIONS[current]:
            raise AppError(
                INVALID_STATE_TRANSITION,
                params={"current": current.value, "target": target.value},
                extra={"allowed": sorted(s.value for s in TRANSITIONS[current])},
            )
        invoice.status = target.value

    async def update(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        invoice_id: uuid.UUID,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> InvoiceDetail:
        invoice = await self._invoice(session, tenant_id, invoice_id, for_update=True)
        check_version(invoice, expected_version)
        self._mutable(invoice)
        if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.REPLACED):
            raise AppError(INVOICE_NOT_ISSUED, params={"status": invoice.status})
        before = snapshot(invoice, INVOICE_AUDITED)
        if await apply_changes(session, invoice, expected_version, changes):
            await self._audited(session, invoice, actor_id, before)
        return await self.detail(session, invoice)

    async def issue(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        invoice_id: uuid.UUID,
        *,
        expected_version: int | None,
    ) -> InvoiceDetail:
        """draft → issued: the number (`INV/YYYY/NNNNNN`, gap-free: taken in this
        transaction), the issue day and the due day from the customer's credit terms."""
        invoice = await self._invoice(session, tenant_id, invoice_id, for_update=True)
        check_version(invoice, expected_version)
        if invoice.status != InvoiceStatus.DRAFT:
            raise AppError(
                INVALID_STATE_TRANSITION,
                params={"current": invoice.status, "target": InvoiceStatus.ISSUED.value},
                extra={
                    "allowed": sorted(s.value for s in TRANSITIONS[InvoiceStatus(invoice.status)])
                },
            )
        before = snapshot(invoice, INVOICE_AUDITED)
        self._move(invoice, status_for_payment(invoice.total, invoice.paid_amount))
        customer = await self.customers.get(session, tenant_id, invoice.customer_id)
        today = local_today()
        invoice.number = await next_document_number(session, tenant_id, DocumentType.INVOICE)
        invoice.issue_date = today
        if invoice.due_date is None:
            invoice.due_date = today + timedelta(days=int(customer.credit_days))
        await self._audited(session, invoice, actor_id, before)
        await publish(
            central,
            InvoiceIssued(
                tenant_id=tenant_id,
                invoice_id=invoice.id,
                number=invoice.number,
                order_id=invoice.order_id,
                kind=invoice.kind,
                total=invoice.total,
                ppn=invoice.ppn,
            ),
        )
        return await self.detail(session, invoice)

    async def void(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        invoice_id: uuid.UUID,
        *,
        expected_version: int | None,
    ) -> InvoiceDetail:
        """A draft, or an issued invoice with nothing paid and never exported, is void; its
        number stays used (a gap-free series keeps its voided numbers)."""
        invoice = await self._invoice(session, tenant_id, invoice_id, for_update=True)
        check_version(invoice, expected_version)
        self._mutable(invoice)
        if invoice.paid_amount > 0:
            raise AppError(INVOICE_HAS_PAYMENTS)
        before = snapshot(invoice, INVOICE_AUDITED)
        self._move(invoice, InvoiceStatus.VOID)
        await self._audited(session, invoice, actor_id, before)
        return await self.detail(session, invoice)

    async def void_for_cancelled_order(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> list[uuid.UUID]:
        """The invoices of a cancelled order that `void` would take back (drafts, and issued
        invoices with nothing paid and never exported) are void, audited as the system's
        change; the ids voided. A paid or exported invoice stays: it is money received or a tax
        document on record, settled by a replacement or by hand (chapter 27)."""
        voided = []
        for invoice in await InvoiceRepository(session).active_of_order(
            tenant_id, order_id, for_update=True
        ):
            if invoice.coretax_exported_at is not None or invoice.paid_amount > 0:
                continue
            before = snapshot(invoice, INVOICE_AUDITED)
            self._move(invoice, InvoiceStatus.VOID)
            await self._audited(session, invoice, None, before)
            voided.append(invoice.id)
        return voided

    async def replace(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        invoice_id: uuid.UUID,
        body: ReplacementIn,
    ) -> InvoiceDetail:
        """A correction: the original (issued, possibly exported) becomes `replaced`, a new
        draft referencing it is computed from the order again and takes over its payments."""
        original = await self._invoice(session, tenant_id, invoice_id, for_update=True)
        if InvoiceStatus(original.status) not in LIVE:
            raise AppError(INVOICE_NOT_ISSUED, params={"status": original.status})
        kind = InvoiceKind(original.kind)
        order = await self._order(session, tenant_id, original.order_id)
        invoices = InvoiceRepository(session)
        active = await invoices.active_of_order(tenant_id, order.id, for_update=True)
        others = [row for row in active if row.id != original.id]
        if kind is InvoiceKind.DOWN_PAYMENT and any(r.kind == InvoiceKind.FINAL for r in others):
            raise AppError(FINAL_INVOICE_EXISTS)
        amount = body.amount
        if kind is InvoiceKind.DOWN_PAYMENT and amount is None:
            amount = original.total
        built = await self._build(session, tenant_id, order, kind, amount, others)
        if built[1].total < original.paid_amount:
            balance = built[1].total
            raise AppError(INVOICE_PAYMENT_EXCEEDS_BALANCE, params={"balance": balance})
        before = snapshot(original, INVOICE_AUDITED)
        self._move(original, InvoiceStatus.REPLACED)
        paid = original.paid_amount
        payments = await invoices.payments(tenant_id, [original.id])
        original.paid_amount = 0
        await self._audited(session, original, actor_id, before)
        replacement = await self._insert(
            session,
            tenant_id,
            actor_id,
            order,
            kind,
            built,
            notes=body.notes if body.notes is not None else original.notes,
            replaces=original,
            paid_amount=paid,
        )
        for payment in payments:
            payment.invoice_id = replacement.id
        await session.flush()
        return await self.detail(session, replacement)

    # --- payments -------------------------------------------------------------------------

    async def apply_payment(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        invoice_id: uuid.UUID,
        body: InvoicePaymentIn,
    ) -> InvoiceDetail:
        """Apply money to an issued invoice. The money itself is an order payment (recorded
        here through the orders context, or one recorded before): the order's ledger counts it
        once, the invoice only says which invoice it settles."""
        existing = body.order_payment_id is not None
        new = body.method is not None or body.paid_on is not None
        if existing == new or (new and (body.method is None or body.paid_on is None)):
            raise invalid("body.order_payment_id", PAYMENT_SOURCE)
        invoice = await self._invoice(session, tenant_id, invoice_id, for_update=True)
        if InvoiceStatus(invoice.status) not in LIVE:
            raise AppError(INVOICE_NOT_ISSUED, params={"status": invoice.status})
        balance = invoice.total - invoice.paid_amount
        if body.amount > balance:
            raise AppError(
                INVOICE_PAYMENT_EXCEEDS_BALANCE,
                params={"balance": balance},
                extra={"balance": balance},
            )
        invoices = InvoiceRepository(session)
        if body.order_payment_id is not None:
            payment_id = body.order_payment_id
            listed = await self.orders.payments(session, tenant_id, invoice.order_id)
            found = next((p for p in listed.data if p.id == payment_id), None)
            if found is None:
                raise invalid("body.order_payment_id", UNKNOWN_ORDER_PAYMENT)
            await invoices.lock_order_payment(tenant_id, payment_id)
            available = found.amount - await invoices.applied_of_order_payment(
                tenant_id, payment_id
            )
            if body.amount > available:
                raise AppError(
                    ORDER_PAYMENT_ALREADY_APPLIED,
                    params={"available": available},
                    extra={"available": available},
                )
            paid_on = found.paid_on
        else:
            assert body.method is not None and body.paid_on is not None
            recorded = await self.orders.record_payment(
                session,
                central,
                tenant_id,
                actor_id,
                invoice.order_id,
                PaymentIn(
                    method=body.method,
                    amount=body.amount,
                    paid_on=body.paid_on,
                    proof_reference=body.proof_reference,
                ),
            )
            payment_id, paid_on = recorded.id, recorded.paid_on
        session.add(
            InvoicePayment(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                invoice_id=invoice.id,
                order_payment_id=payment_id,
                amount=body.amount,
                paid_on=paid_on,
                actor_id=actor_id,
                created_at=datetime.now(UTC),
            )
        )
        before = snapshot(invoice, INVOICE_AUDITED)
        invoice.paid_amount += body.amount
        self._move(invoice, status_for_payment(invoice.total, invoice.paid_amount))
        await self._audited(session, invoice, actor_id, before)
        return await self.detail(session, invoice)

    # --- the PDF --------------------------------------------------------------------------

    async def pdf(
        self, session: AsyncSession, tenant_id: uuid.UUID, invoice_id: uuid.UUID, lang: str | None
    ) -> tuple[str, bytes]:
        invoice = await self._invoice(session, tenant_id, invoice_id)
        lines = await InvoiceRepository(session).lines(tenant_id, invoice.id)
        customer = await self.customers.get(session, tenant_id, invoice.customer_id)
        settings = await TaxSettingsRepository(session).current(tenant_id)
        replaces = None
        if invoice.replaces_id is not None:
            replaces = (await self._invoice(session, tenant_id, invoice.replaces_id)).number
        content = invoice_pdf(
            locale=lang or current_context().locale,
            business_name=await self.settings.business_name(session, tenant_id),
            seller_npwp=settings.npwp if invoice.pkp else None,
            seller_address=settings.seller_address,
            invoice=invoice,
            lines=lines,
            customer=customer,
            replaces_number=replaces,
        )
        name = (invoice.number or f"draft-{invoice.id}").replace("/", "-")
        return f"{name}.pdf", content

    # --- Coretax --------------------------------------------------------------------------

    async def _tax_document(
        self, session: AsyncSession, invoice: Invoice, replaced: Invoice | None
    ) -> coretax.TaxDocument:
        customer = await self.customers.get(session, invoice.tenant_id, invoice.customer_id)
        lines = await InvoiceRepository(session).lines(invoice.tenant_id, invoice.id)
        ref = invoice.number or ""
        if replaced is not None:
            ref += f" pengganti {replaced.number}"
            if replaced.nsfp:
                ref += f" (NSFP {replaced.nsfp})"
        assert invoice.issue_date is not None  # live invoices are issued
        return coretax.TaxDocument(
            number=invoice.number or "",
            issue_date=invoice.issue_date,
            ref_desc=ref,
            buyer=coretax.Buyer(
                name=customer.name,
                npwp=customer.npwp,
                nik=customer.nik,
                nitku=customer.nitku,
                address=customer.address,
                email=customer.email,
            ),
            items=[
                coretax.Item(
                    opt=line.opt,
                    code=line.goods_code,
                    name=line.description,
                    unit=line.unit_code,
                    price=line.unit_price,
                    qty=line.qty,
                    amount=line.amount,
                )
                for line in lines
            ],
            deductions=invoice.discount + invoice.deduction,
            price=invoice.price,
            other_tax_base=invoice.other_tax_base,
            ppn=invoice.ppn,
            rate=invoice.ppn_rate,
        )

    async def coretax_export(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        plan_code: str,
        invoice_ids: list[uuid.UUID],
        *,
        batch: bool,
    ) -> tuple[str, bytes]:
        """The `TaxInvoiceBulk` file of these invoices, after every check passed (a 422 names
        each field that fails, prefixed by `body.invoice_ids.<i>.` in a batch). The invoices
        are marked exported: from now on they are immutable."""
        self.entitlements.require_feature(plan_code, CORETAX_FEATURE)
        invoices = InvoiceRepository(session)
        found = await invoices.many(tenant_id, invoice_ids, for_update=True)
        problems = FieldErrors()
        seen: set[uuid.UUID] = set()
        for index, invoice_id in enumerate(invoice_ids):
            if invoice_id not in found:
                if not batch:
                    raise not_found()
                problems.add(f"body.invoice_ids.{index}", UNKNOWN_INVOICE)
            elif invoice_id in seen:
                problems.add(f"body.invoice_ids.{index}", DUPLICATE_IN_BATCH)
            seen.add(invoice_id)
        problems.raise_if_any()
        ordered = [found[invoice_id] for invoice_id in invoice_ids]
        for invoice in ordered:
            if InvoiceStatus(invoice.status) not in LIVE:
                raise AppError(
                    INVOICE_NOT_ISSUED,
                    params={"status": invoice.status},
                    extra={"invoice_id": str(invoice.id)},
                )
            if not invoice.pkp:
                raise AppError(INVOICE_NOT_TAXABLE, extra={"invoice_id": str(invoice.id)})
        settings = await TaxSettingsRepository(session).current(tenant_id)
        seller = coretax.Seller(
            settings.npwp, settings.nitku, settings.base_numerator, settings.base_denominator
        )
        coretax.check_seller(seller, problems)
        documents: list[coretax.TaxDocument] = []
        for index, invoice in enumerate(ordered):
            replaced = None
            if invoice.replaces_id is not None:
                replaced = await self._invoice(session, tenant_id, invoice.replaces_id)
            document = await self._tax_document(session, invoice, replaced)
            coretax.check_document(
                document, problems, prefix=f"body.invoice_ids.{index}." if batch else ""
            )
            documents.append(document)
        problems.raise_if_any()
        content = coretax.tax_invoice_bulk(seller, documents)
        now = datetime.now(UTC)
        for invoice in ordered:
            if invoice.coretax_exported_at is None:
                before = snapshot(invoice, INVOICE_AUDITED)
                invoice.coretax_exported_at = now
                await self._audited(session, invoice, actor_id, before)
        if batch:
            name = f"coretax-{local_today().isoformat()}-{len(ordered)}"
        else:
            name = f"{(ordered[0].number or '').replace('/', '-')}-coretax"
        return f"{name}.xml", content

    async def _check_nsfp(
        self, session: AsyncSession, invoice: Invoice, nsfp: str
    ) -> AppError | None:
        """Why `nsfp` cannot be recorded on `invoice` (None: it can, or it already is)."""
        if invoice.coretax_exported_at is None:
            return AppError(INVOICE_NOT_EXPORTED, extra={"invoice_id": str(invoice.id)})
        if invoice.nsfp is not None and invoice.nsfp != nsfp:
            return AppError(NSFP_ALREADY_SET, params={"nsfp": invoice.nsfp})
        holder = await InvoiceRepository(session).by_nsfp(invoice.tenant_id, nsfp)
        if holder is not None and holder.id != invoice.id:
            return AppError(NSFP_TAKEN, params={"nsfp": nsfp})
        return None

    async def _set_nsfp(
        self, session: AsyncSession, invoice: Invoice, nsfp: str, actor_id: uuid.UUID | None
    ) -> None:
        if invoice.nsfp == nsfp:
            return
        before = snapshot(invoice, INVOICE_AUDITED)
        invoice.nsfp = nsfp
        await self._audited(session, invoice, actor_id, before)

    async def set_nsfp(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        plan_code: str,
        invoice_id: uuid.UUID,
        nsfp: str,
    ) -> InvoiceDetail:
        self.entitlements.require_feature(plan_code, CORETAX_FEATURE)
        invoice = await self._invoice(session, tenant_id, invoice_id, for_update=True)
        refusal = await self._check_nsfp(session, invoice, nsfp)
        if refusal is not None:
            raise refusal
        await self._set_nsfp(session, invoice, nsfp, actor_id)
        return await self.detail(session, invoice)

    async def import_nsfp(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        plan_code: str,
        body: NsfpImportIn,
    ) -> list[InvoiceOut]:
        """Many `(invoice number, NSFP)` pairs at once: every row is checked first and a 422
        names each bad one (`body.items.<i>.number` / `.nsfp`, or `body.csv`); all or none."""
        self.entitlements.require_feature(plan_code, CORETAX_FEATURE)
        if (body.items is None) == (body.csv is None):
            raise invalid("body.items", NSFP_SOURCE)
        if body.items is not None:
            pairs = [(item.number, item.nsfp) for item in body.items]
            fields = [f"body.items.{index}" for index in range(len(pairs))]
        else:
            pairs = parse_nsfp_csv(body.csv or "")
            fields = ["body.csv"] * len(pairs)
        invoices = InvoiceRepository(session)
        problems = FieldErrors()
        matched: list[tuple[Invoice, str]] = []
        numbers: set[str] = set()
        nsfps: set[str] = set()
        for (number, nsfp), field in zip(pairs, fields, strict=True):
            if number in numbers or nsfp in nsfps:
                problems.add(f"{field}.number" if body.items else field, DUPLICATE_IN_BATCH)
                continue
            numbers.add(number)
            nsfps.add(nsfp)
            invoice = await invoices.by_number(tenant_id, number)
            if invoice is None:
                problems.add(f"{field}.number" if body.items else field, UNKNOWN_INVOICE)
                continue
            refusal = await self._check_nsfp(session, invoice, nsfp)
            if refusal is not None and refusal.spec is INVOICE_NOT_EXPORTED:
                problems.add(
                    f"{field}.number" if body.items else field,
                    INVOICE_NOT_EXPORTED_FIELD,
                    number=number,
                )
            elif refusal is not None:
                problems.add(
                    f"{field}.nsfp" if body.items else field, NSFP_CONFLICT_FIELD, nsfp=nsfp
                )
            else:
                matched.append((invoice, nsfp))
        problems.raise_if_any()
        for invoice, nsfp in matched:
            await self._set_nsfp(session, invoice, nsfp, actor_id)
        return [invoice_out(invoice) for invoice, _ in matched]

    # --- reports --------------------------------------------------------------------------

    async def turnover(
        self, session: AsyncSession, tenant_id: uuid.UUID, month: str
    ) -> TurnoverOut:
        """The month's gross turnover (Σ totals of live invoices without PPN, by issue day)
        and the 0.5% final income tax on it."""
        first, last = month_bounds(month)
        rows = await InvoiceRepository(session).issued_between(tenant_id, first, last, pkp=False)
        gross = sum(row.total for row in rows)
        policy = await self.settings.sales_policy(session, tenant_id)
        return TurnoverOut(
            month=first.strftime("%Y-%m"),
            gross_turnover=gross,
            tax_rate_per_mille=tax.TURNOVER_TAX_PER_MILLE,
            tax=tax.turnover_tax(gross),
            invoice_count=len(rows),
            pkp=policy.pkp,
        )

    async def ageing(
        self, session: AsyncSession, tenant_id: uuid.UUID, as_of: date | None
    ) -> AgeingOut:
        """What customers owe on `as_of` (default today): each live invoice issued by then,
        less the payments applied by then, in a bucket by days past its due day."""
        day = as_of or local_today()
        invoices = InvoiceRepository(session)
        rows = await invoices.receivable(tenant_id, day)
        payments = await invoices.payments(tenant_id, [row.id for row in rows])
        paid: dict[uuid.UUID, int] = {}
        for payment in payments:
            if payment.paid_on <= day:
                paid[payment.invoice_id] = paid.get(payment.invoice_id, 0) + payment.amount
        zero = dict.fromkeys(AgeingBuckets.model_fields, 0)
        per_customer: dict[uuid.UUID, dict[str, int]] = {}
        counts: dict[uuid.UUID, int] = {}
        totals = dict(zero)
        for row in rows:
            owed = row.total - paid.get(row.id, 0)
            if owed <= 0:
                continue
            due = row.due_date or row.issue_date or day
            bucket = ageing_bucket((day - due).days)
            figures = per_customer.setdefault(row.customer_id, dict(zero))
            for target in (figures, totals):
                target[bucket] += owed
                target["total"] += owed
            counts[row.customer_id] = counts.get(row.customer_id, 0) + 1
        customers: list[CustomerAgeing] = []
        for customer_id, figures in per_customer.items():
            customer = await self.customers.get(session, tenant_id, customer_id)
            customers.append(
                CustomerAgeing(
                    customer_id=customer_id,
                    customer_name=customer.name,
                    invoice_count=counts[customer_id],
                    **figures,
                )
            )
        customers.sort(key=lambda entry: (-entry.total, entry.customer_name))
        return AgeingOut(as_of=day, customers=customers, totals=AgeingBuckets(**totals))


# --- output mappers -----------------------------------------------------------------------


def invoice_out(invoice: Invoice) -> InvoiceOut:
    values = {name: getattr(invoice, name) for name in InvoiceOut.model_fields if name != "balance"}
    return InvoiceOut(**values, balance=invoice.total - invoice.paid_amount)
