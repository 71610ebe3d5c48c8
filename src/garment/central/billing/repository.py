"""Queries of billing: plans, subscriptions, invoices and their numbering, payment attempts,
webhook receipts and their dedupe keys, the dunning log, and the figures of the report."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from garment.central.billing.invoice_states import InvoiceStatus, ReceiptStatus
from garment.central.billing.models import (
    DunningEntry,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    PaymentAttempt,
    Plan,
    Subscription,
    WebhookReceipt,
)
from garment.central.billing.subscription_states import SubscriptionStatus
from garment.platform.db import Database, DriverQuery, execute_alone
from garment.platform.repository import Repository, affected_rows


class PlanRepository(Repository[Plan]):
    model = Plan

    async def listed(self, *, active_only: bool = True) -> list[Plan]:
        statement = self.select().order_by(Plan.position, Plan.code)
        if active_only:
            statement = statement.where(Plan.active.is_(True))
        return await self.all(statement)

    async def upsert(self, values: dict[str, Any]) -> None:
        """Insert the plan or overwrite its prices, trial and entitlements."""
        statement = pg_insert(Plan).values(**values)
        columns = {key: statement.excluded[key] for key in values if key != "code"}
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[Plan.code], set_={**columns, "updated_at": func.now()}
            )
        )


class SubscriptionRepository(Repository[Subscription]):
    model = Subscription

    async def of_tenant(
        self, tenant_id: uuid.UUID, *, for_update: bool = False
    ) -> Subscription | None:
        statement = self.select().where(Subscription.tenant_id == tenant_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.one_or_none(statement)

    async def claim(self, values: dict[str, Any]) -> Subscription | None:
        """Insert the tenant's subscription unless it has one (a redelivered event)."""
        inserted = await self.session.execute(
            pg_insert(Subscription)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Subscription.tenant_id])
            .returning(Subscription.id)
        )
        subscription_id = inserted.scalar_one_or_none()
        return await self.get(subscription_id) if subscription_id is not None else None

    async def period_ended(self, now: datetime, limit: int = 500) -> list[Subscription]:
        """Billable subscriptions whose period (or trial) ended: renewal is due."""
        return await self.all(
            self.select()
            .where(
                Subscription.status.in_([SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE]),
                Subscription.current_period_end <= now,
            )
            .order_by(Subscription.current_period_end)
            .limit(limit)
        )

    async def counts_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Subscription.status, func.count()).group_by(Subscription.status)
        )
        return {str(status): int(count) for status, count in rows}

    async def listed(self) -> list[Subscription]:
        return await self.all(self.select().order_by(Subscription.created_at))


class InvoiceCounterRepository(Repository[InvoiceCounter]):
    model = InvoiceCounter

    async def take(self, month: str) -> int:
        """The next number of `month`. The counter row stays locked (the upsert takes its row
        lock) until the issuing transaction ends: a rollback gives the number back, so numbers
        have no gaps, and concurrent issuers queue on the row."""
        result = await self.session.execute(
            pg_insert(InvoiceCounter)
            .values(month=month, last_number=1)
            .on_conflict_do_update(
                index_elements=[InvoiceCounter.month],
                set_={"last_number": InvoiceCounter.last_number + 1},
            )
            .returning(InvoiceCounter.last_number)
        )
        return int(result.scalar_one())


class InvoiceRepository(Repository[Invoice]):
    model = Invoice

    async def of_tenant(self, tenant_id: uuid.UUID, limit: int = 100) -> list[Invoice]:
        return await self.all(
            self.select()
            .where(Invoice.tenant_id == tenant_id, Invoice.status != InvoiceStatus.DRAFT)
            .order_by(Invoice.created_at.desc())
            .limit(limit)
        )

    async def by_number(self, number: str) -> Invoice | None:
        return await self.one_or_none(self.select().where(Invoice.number == number))

    async def unpaid_of_subscription(self, subscription_id: uuid.UUID) -> list[Invoice]:
        return await self.all(
            self.select()
            .where(
                Invoice.subscription_id == subscription_id,
                Invoice.status.in_([InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE]),
            )
            .order_by(Invoice.created_at)
        )

    async def for_period(
        self, subscription_id: uuid.UUID, period_start: datetime
    ) -> Invoice | None:
        return await self.one_or_none(
            self.select()
            .where(
                Invoice.subscription_id == subscription_id,
                Invoice.period_start == period_start,
                Invoice.status != InvoiceStatus.VOID,
            )
            .limit(1)
        )

    async def open_due_before(self, now: datetime, limit: int = 1000) -> list[Invoice]:
        return await self.all(
            self.select()
            .where(Invoice.status == InvoiceStatus.OPEN, Invoice.due_at < now)
            .order_by(Invoice.due_at)
            .limit(limit)
        )

    async def with_statuses(
        self,
        statuses: Sequence[str],
        *,
        since: datetime | None = None,
        provider: str | None = None,
    ) -> list[Invoice]:
        statement = self.select().where(Invoice.status.in_(list(statuses)))
        if since is not None:
            statement = statement.where(Invoice.issued_at >= since)
        if provider is not None:
            statement = statement.where(Invoice.provider == provider)
        return await self.all(statement.order_by(Invoice.issued_at))

    async def issued_between(self, start: datetime, end: datetime) -> list[Invoice]:
        return await self.all(
            self.select()
            .where(Invoice.issued_at >= start, Invoice.issued_at < end)
            .order_by(Invoice.number)
        )

    async def paid_between(self, start: datetime, end: datetime) -> list[Invoice]:
        return await self.all(
            self.select()
            .where(Invoice.paid_at >= start, Invoice.paid_at < end)
            .order_by(Invoice.number)
        )

    async def outstanding_at(self, moment: datetime) -> list[Invoice]:
        """Issued before `moment` and not settled by then (paid later, or not yet)."""
        return await self.all(
            self.select()
            .where(
                Invoice.issued_at < moment,
                Invoice.status.in_(
                    [InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.PAID]
                ),
                (Invoice.paid_at.is_(None)) | (Invoice.paid_at >= moment),
            )
            .order_by(Invoice.due_at)
        )


class InvoiceLineRepository(Repository[InvoiceLine]):
    model = InvoiceLine

    async def of_invoice(self, invoice_id: uuid.UUID) -> list[InvoiceLine]:
        return await self.all(
            self.select().where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position)
        )


class PaymentAttemptRepository(Repository[PaymentAttempt]):
    model = PaymentAttempt

    async def latest_pending(self, invoice_id: uuid.UUID, provider: str) -> PaymentAttempt | None:
        return await self.one_or_none(
            self.select()
            .where(
                PaymentAttempt.invoice_id == invoice_id,
                PaymentAttempt.provider == provider,
                PaymentAttempt.status == "pending",
            )
            .order_by(PaymentAttempt.created_at.desc())
            .limit(1)
        )

    async def of_invoice(self, invoice_id: uuid.UUID) -> list[PaymentAttempt]:
        return await self.all(
            self.select()
            .where(PaymentAttempt.invoice_id == invoice_id)
            .order_by(PaymentAttempt.created_at)
        )


class ReceiptRepository(Repository[WebhookReceipt]):
    model = WebhookReceipt

    async def listed(
        self,
        *,
        provider: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        reference: str | None = None,
        limit: int = 100,
    ) -> list[WebhookReceipt]:
        statement = self.select().order_by(WebhookReceipt.id.desc()).limit(limit)
        if provider:
            statement = statement.where(WebhookReceipt.provider == provider)
        if status:
            statement = statement.where(WebhookReceipt.status == status)
        if since is not None:
            statement = statement.where(WebhookReceipt.received_at >= since)
        if reference:
            statement = statement.where(WebhookReceipt.reference == reference)
        return await self.all(statement)

    async def stuck(self, before: datetime, limit: int = 100) -> list[WebhookReceipt]:
        """Receipts whose processing began before `before` and never finished."""
        return await self.all(
            self.select()
            .where(
                WebhookReceipt.status == ReceiptStatus.PROCESSING,
                WebhookReceipt.processing_started_at < before,
            )
            .order_by(WebhookReceipt.id)
            .limit(limit)
        )

    async def purge_before(self, moment: datetime) -> int:
        result = await self.session.execute(
            delete(WebhookReceipt).where(WebhookReceipt.received_at < moment)
        )
        return affected_rows(result)

    async def counts(self) -> dict[tuple[str, str], int]:
        rows = await self.session.execute(
            select(WebhookReceipt.provider, WebhookReceipt.status, func.count()).group_by(
                WebhookReceipt.provider, WebhookReceipt.status
            )
        )
        return {(str(p), str(s)): int(c) for p, s, c in rows}

    async def mark(self, receipt_id: int, **values: Any) -> None:
        await self.session.execute(
            update(WebhookReceipt).where(WebhookReceipt.id == receipt_id).values(**values)
        )


# The ingress's two statements, each one round trip in its own implicit transaction (no
# BEGIN/COMMIT, no unit of work, no SQLAlchemy result processing): built once, compiled to the
# driver's SQL on first use (`DriverQuery`), run by `execute_alone`.
RECEIPT_COLUMNS = (
    "provider, source, received_at, remote_addr, body, headers, size, truncated, verified, "
    "verification_reason, provider_event_id, event_kind, reference, amount, status, "
    "duplicate_of, error, attempts"
)
RECEIPT_VALUES = (
    "CAST(:provider AS varchar), 'webhook', CAST(:received_at AS timestamptz), "
    "CAST(:remote_addr AS varchar), CAST(:body AS bytea), CAST(:headers AS text)::jsonb, "
    "CAST(:size AS bigint), CAST(:truncated AS boolean), CAST(:verified AS boolean), "
    "CAST(:verification_reason AS varchar), CAST(:provider_event_id AS varchar), "
    "CAST(:event_kind AS varchar), CAST(:reference AS varchar), CAST(:amount AS bigint)"
)
STORE_RECEIPT = text(
    f"INSERT INTO billing_webhook_receipts ({RECEIPT_COLUMNS}) "
    f"VALUES ({RECEIPT_VALUES}, CAST(:status AS varchar), NULL, CAST(:error AS text), 0) "
    "RETURNING id"
)
# A verified delivery, in the spec's order within one statement: the receipt's id is taken,
# the event id claimed in `billing_webhook_events` (unique per provider), the receipt stored
# with its verification result as `verified` — or `duplicate` of the receipt that claimed the
# event first — and, only for the first, its processing job enqueued. The claim names a
# receipt inserted by the same statement: the foreign key is checked at the statement's end.
ACCEPT_RECEIPT = (
    "WITH ids AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence("
    "'billing_webhook_receipts', 'id')) AS receipt_id), "
    "claimed AS (INSERT INTO billing_webhook_events (provider, provider_event_id, receipt_id) "
    "SELECT CAST(:provider AS varchar), CAST(:provider_event_id AS varchar), receipt_id "
    "FROM ids ON CONFLICT (provider, provider_event_id) DO NOTHING RETURNING receipt_id), "
    f"stored AS (INSERT INTO billing_webhook_receipts (id, {RECEIPT_COLUMNS}) "
    f"SELECT ids.receipt_id, {RECEIPT_VALUES}, "
    "CASE WHEN claimed.receipt_id IS NULL THEN 'duplicate' ELSE 'verified' END, "
    "CASE WHEN claimed.receipt_id IS NULL THEN (SELECT first.receipt_id "
    "FROM billing_webhook_events AS first WHERE first.provider = CAST(:provider AS varchar) "
    "AND first.provider_event_id = CAST(:provider_event_id AS varchar)) END, NULL, 0 "
    "FROM ids LEFT JOIN claimed ON true RETURNING id, status, duplicate_of), "
    "{enqueue} SELECT id, status, duplicate_of FROM stored"
)
# A duplicate whose first receipt committed while this statement ran (a concurrent delivery
# of the same event) did not see it in its snapshot: it is named afterwards.
NAME_FIRST = text(
    "UPDATE billing_webhook_receipts SET duplicate_of = first.receipt_id "
    "FROM billing_webhook_events AS first WHERE billing_webhook_receipts.id = "
    "CAST(:receipt_id AS bigint) AND first.provider = CAST(:provider AS varchar) AND "
    "first.provider_event_id = CAST(:provider_event_id AS varchar) RETURNING first.receipt_id"
)


@dataclass(frozen=True, slots=True)
class Accepted:
    receipt_id: int
    duplicate: bool
    duplicate_of: int | None


class IngressStatements:
    """The ingress's writes on `database`, each one statement and one round trip."""

    def __init__(self, database: Database, *, enqueue: str) -> None:
        self.database = database
        dialect = database.engine.dialect
        self._store = DriverQuery.compile(STORE_RECEIPT, dialect)
        accept = text(ACCEPT_RECEIPT.replace("{enqueue}", enqueue))
        self._accept = DriverQuery.compile(accept, dialect)
        self._name_first = DriverQuery.compile(NAME_FIRST, dialect)

    async def store(self, values: dict[str, Any]) -> int:
        """Insert a receipt with its final status (a rejected or unusable delivery)."""
        row = await execute_alone(self.database, self._store, {**NO_EVENT, **values})
        return int(row["id"])

    async def accept(self, values: dict[str, Any]) -> Accepted:
        """Store a verified receipt, claim its event and enqueue its processing (see
        `ACCEPT_RECEIPT`); a duplicate is stored as one and names the first receipt."""
        row = await execute_alone(
            self.database, self._accept, {"status": None, "error": None, **values}
        )
        receipt_id = int(row["id"])
        if row["status"] != ReceiptStatus.DUPLICATE.value:
            return Accepted(receipt_id, duplicate=False, duplicate_of=None)
        first = row["duplicate_of"]
        if first is None:
            named = await execute_alone(
                self.database,
                self._name_first,
                {
                    "receipt_id": receipt_id,
                    "provider": values["provider"],
                    "provider_event_id": values["provider_event_id"],
                },
            )
            first = named["receipt_id"] if named is not None else None
        return Accepted(receipt_id, duplicate=True, duplicate_of=first)


NO_EVENT: dict[str, Any] = {
    "verified": None,
    "verification_reason": None,
    "provider_event_id": None,
    "event_kind": None,
    "reference": None,
    "amount": None,
    "error": None,
    "truncated": False,
}


class DunningRepository(Repository[DunningEntry]):
    model = DunningEntry

    async def record(self, values: dict[str, Any]) -> bool:
        """Insert the action unless this step was already taken on this invoice."""
        inserted = await self.session.execute(
            pg_insert(DunningEntry)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[DunningEntry.invoice_id, DunningEntry.step])
            .returning(DunningEntry.id)
        )
        return inserted.scalar_one_or_none() is not None

    async def of_invoice(self, invoice_id: uuid.UUID) -> list[DunningEntry]:
        return await self.all(
            self.select()
            .where(DunningEntry.invoice_id == invoice_id)
            .order_by(DunningEntry.occurred_at, DunningEntry.id)
        )

    async def steps_of(self, invoice_id: uuid.UUID) -> set[str]:
        rows = await self.session.execute(
            select(DunningEntry.step).where(DunningEntry.invoice_id == invoice_id)
        )
        return {str(step) for (step,) in rows}

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(DunningEntry.action, func.count()).group_by(DunningEntry.action)
        )
        return {str(action): int(count) for action, count in rows}
