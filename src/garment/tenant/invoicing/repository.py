"""Queries over invoices, their lines and applied payments, and the tax settings row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from garment.platform.pagination import Keyset, PageParams
from garment.platform.ppn import (
    DEFAULT_BASE_DENOMINATOR,
    DEFAULT_BASE_NUMERATOR,
    DEFAULT_RATE,
)
from garment.platform.repository import Repository
from garment.tenant.invoicing.models import (
    DEFAULT_GOODS_CODE,
    DEFAULT_UNIT_CODE,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    TaxSettings,
)
from garment.tenant.invoicing.states import ACTIVE, LIVE

EXAMPLE_ID = uuid.UUID("5b1f3c2e-8a8d-4c6e-9f64-0d6f0f3b7a11")
EXAMPLE_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
INVOICE_KEYSET = Keyset.of(Invoice.created_at, Invoice.id, example=(EXAMPLE_AT, EXAMPLE_ID))


class TaxSettingsRepository(Repository[TaxSettings]):
    model = TaxSettings

    async def current(self, tenant_id: uuid.UUID) -> TaxSettings:
        """The tenant's row, or the defaults (version 1) as a row not added to the session: a
        read never writes (a tenant being moved is read-only)."""
        row = await self.get(tenant_id)
        if row is not None:
            return row
        now = datetime.now(UTC)
        return TaxSettings(
            tenant_id=tenant_id,
            ppn_rate=DEFAULT_RATE,
            base_numerator=DEFAULT_BASE_NUMERATOR,
            base_denominator=DEFAULT_BASE_DENOMINATOR,
            unit_code=DEFAULT_UNIT_CODE,
            goods_code=DEFAULT_GOODS_CODE,
            version=1,
            created_at=now,
            updated_at=now,
        )

    async def ensure(self, tenant_id: uuid.UUID, *, for_update: bool = False) -> TaxSettings:
        """The tenant's row, created with the defaults on first use (re-running is harmless)."""
        await self.session.execute(
            insert(TaxSettings).values(tenant_id=tenant_id).on_conflict_do_nothing()
        )
        row = await self.get(tenant_id, for_update=for_update)
        assert row is not None  # inserted above, and RLS shows the tenant its own row
        return row


class InvoiceRepository(Repository[Invoice]):
    model = Invoice

    async def of_tenant(
        self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, *, for_update: bool = False
    ) -> Invoice | None:
        return await self.get((tenant_id, invoice_id), for_update=for_update)

    async def many(
        self, tenant_id: uuid.UUID, invoice_ids: Sequence[uuid.UUID], *, for_update: bool = False
    ) -> dict[uuid.UUID, Invoice]:
        statement = select(Invoice).where(
            Invoice.tenant_id == tenant_id, Invoice.id.in_(list(invoice_ids))
        )
        if for_update:
            statement = statement.with_for_update()
        rows = (await self.session.execute(statement)).scalars().all()
        return {row.id: row for row in rows}

    async def by_number(self, tenant_id: uuid.UUID, number: str) -> Invoice | None:
        return await self.one_or_none(
            select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.number == number)
        )

    async def by_nsfp(self, tenant_id: uuid.UUID, nsfp: str) -> Invoice | None:
        return await self.one_or_none(
            select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.nsfp == nsfp)
        )

    async def active_of_order(
        self, tenant_id: uuid.UUID, order_id: uuid.UUID, *, for_update: bool = False
    ) -> list[Invoice]:
        """The order's invoices that hold its DP and final slots (drafts and issued ones)."""
        statement = select(Invoice).where(
            Invoice.tenant_id == tenant_id,
            Invoice.order_id == order_id,
            Invoice.status.in_([status.value for status in ACTIVE]),
        )
        if for_update:
            statement = statement.with_for_update()
        return list((await self.session.execute(statement)).scalars().all())

    async def listed(
        self,
        tenant_id: uuid.UUID,
        *,
        status: str | None,
        kind: str | None,
        order_id: uuid.UUID | None,
        customer_id: uuid.UUID | None,
        page: PageParams,
    ) -> tuple[list[Invoice], str | None]:
        statement = select(Invoice).where(Invoice.tenant_id == tenant_id)
        if status is not None:
            statement = statement.where(Invoice.status == status)
        if kind is not None:
            statement = statement.where(Invoice.kind == kind)
        if order_id is not None:
            statement = statement.where(Invoice.order_id == order_id)
        if customer_id is not None:
            statement = statement.where(Invoice.customer_id == customer_id)
        return await self.page(statement, keyset=INVOICE_KEYSET, params=page)

    async def issued_between(
        self, tenant_id: uuid.UUID, first: date, last: date, *, pkp: bool
    ) -> list[Invoice]:
        """Live invoices issued in [first, last] (local days) with or without PPN."""
        statement = (
            select(Invoice)
            .where(
                Invoice.tenant_id == tenant_id,
                Invoice.status.in_([status.value for status in LIVE]),
                Invoice.issue_date >= first,
                Invoice.issue_date <= last,
                Invoice.pkp.is_(pkp),
            )
            .order_by(Invoice.issue_date, Invoice.number)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def receivable(self, tenant_id: uuid.UUID, as_of: date) -> list[Invoice]:
        """Live invoices issued on or before `as_of` (their balance then is computed from the
        payments applied by that day)."""
        statement = (
            select(Invoice)
            .where(
                Invoice.tenant_id == tenant_id,
                Invoice.status.in_([status.value for status in LIVE]),
                Invoice.issue_date <= as_of,
            )
            .order_by(Invoice.customer_id, Invoice.due_date)
        )
        return list((await self.session.execute(statement)).scalars().all())

    # --- lines and payments ----------------------------------------------------------------

    async def lines(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> list[InvoiceLine]:
        statement = (
            select(InvoiceLine)
            .where(InvoiceLine.tenant_id == tenant_id, InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.position)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def payments(
        self, tenant_id: uuid.UUID, invoice_ids: Sequence[uuid.UUID]
    ) -> list[InvoicePayment]:
        statement = (
            select(InvoicePayment)
            .where(
                InvoicePayment.tenant_id == tenant_id,
                InvoicePayment.invoice_id.in_(list(invoice_ids)),
            )
            .order_by(InvoicePayment.created_at, InvoicePayment.id)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def applied_of_order_payment(
        self, tenant_id: uuid.UUID, order_payment_id: uuid.UUID
    ) -> int:
        statement = select(func.coalesce(func.sum(InvoicePayment.amount), 0)).where(
            InvoicePayment.tenant_id == tenant_id,
            InvoicePayment.order_payment_id == order_payment_id,
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def lock_order_payment(self, tenant_id: uuid.UUID, order_payment_id: uuid.UUID) -> None:
        """Serialise allocations of one order payment (two invoices cannot both take its
        last rupiah)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('invoice-payment:' || :key, 0))"),
            {"key": f"{tenant_id}:{order_payment_id}"},
        )
