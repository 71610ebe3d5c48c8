"""Reconciliation: every open or paid invoice compared with the provider's own state, through
the adapter (`fetch_payment`, `list_payments`). Mismatches are printed; `--fix` applies the
provider's truth through the same state machine, recording a receipt with source
`reconciliation` (so the forensic record shows why the invoice changed)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from garment.central.billing.ingress import BillingWebhookForensicService
from garment.central.billing.invoice_states import InvoiceStatus, ReceiptStatus
from garment.central.billing.providers.base import PaymentEvent, PaymentEventKind, RemotePayment
from garment.central.billing.repository import InvoiceRepository
from garment.central.billing.subscriptions import BillingService
from garment.platform.db import Database
from garment.platform.errors import CommandError

PAID_REMOTELY = "paid_remotely_open_here"
AMOUNT_DIFFERS = "amount_differs"
UNKNOWN_REMOTE = "unknown_remote_payment"
NOT_PAID_REMOTELY = "paid_here_not_remotely"
DEFAULT_WINDOW_DAYS = 90
# Adapters with no API to ask (a generic signed sender, the local sandbox): they know no remote
# state, so reconciling against them would report every paid invoice.
NO_REMOTE_STATE = frozenset({"standard", "sandbox"})


@dataclass(slots=True)
class Mismatch:
    kind: str
    provider: str
    reference: str
    invoice_id: str | None = None
    number: str | None = None
    local_status: str | None = None
    remote_status: str | None = None
    local_amount: int | None = None
    remote_amount: int | None = None
    fixed: bool = False
    outcome: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Reconciler:
    def __init__(
        self,
        *,
        central: Database,
        billing: BillingService,
        webhooks: BillingWebhookForensicService,
        providers: Any,
    ) -> None:
        self.central = central
        self.billing = billing
        self.webhooks = webhooks
        self.providers = providers

    async def run(
        self,
        *,
        provider: str | None = None,
        since: datetime | None = None,
        fix: bool = False,
        now: datetime | None = None,
    ) -> list[Mismatch]:
        now = now or datetime.now(UTC)
        since = since or now - timedelta(days=DEFAULT_WINDOW_DAYS)
        names = [provider] if provider else list(self.providers.names())
        found: list[Mismatch] = []
        for name in names:
            try:
                adapter = self.providers.get(name)
            except KeyError as error:
                raise CommandError(f"unknown provider {name!r}") from error
            if not adapter.configured or name in NO_REMOTE_STATE:
                continue
            async with self.central.transaction() as session:
                invoices = await InvoiceRepository(session).with_statuses(
                    [InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE],
                    since=since,
                    provider=name,
                )
            known = {invoice.reference for invoice in invoices}
            for invoice in invoices:
                remote = await adapter.fetch_payment(invoice.reference)
                if remote is None:
                    if invoice.status == InvoiceStatus.PAID:
                        found.append(self._mismatch(NOT_PAID_REMOTELY, name, invoice, None))
                    continue
                if remote.amount is not None and remote.amount != invoice.total:
                    found.append(self._mismatch(AMOUNT_DIFFERS, name, invoice, remote))
                    continue
                if remote.status is PaymentEventKind.SUCCEEDED and invoice.status in (
                    InvoiceStatus.OPEN,
                    InvoiceStatus.UNCOLLECTIBLE,
                ):
                    mismatch = self._mismatch(PAID_REMOTELY, name, invoice, remote)
                    if fix:
                        await self._apply(mismatch, remote, now)
                    found.append(mismatch)
                elif (
                    remote.status is not PaymentEventKind.SUCCEEDED
                    and invoice.status == InvoiceStatus.PAID
                ):
                    found.append(self._mismatch(NOT_PAID_REMOTELY, name, invoice, remote))
            for remote in await adapter.list_payments(since):
                if remote.reference not in known:
                    found.append(
                        Mismatch(
                            UNKNOWN_REMOTE,
                            name,
                            remote.reference,
                            remote_status=remote.status.value,
                            remote_amount=remote.amount,
                        )
                    )
        return found

    def _mismatch(
        self, kind: str, provider: str, invoice: Any, remote: RemotePayment | None
    ) -> Mismatch:
        return Mismatch(
            kind,
            provider,
            invoice.reference,
            invoice_id=str(invoice.id),
            number=invoice.number,
            local_status=invoice.status,
            remote_status=remote.status.value if remote else None,
            local_amount=invoice.total,
            remote_amount=remote.amount if remote else None,
        )

    async def _apply(self, mismatch: Mismatch, remote: RemotePayment, now: datetime) -> None:
        event = PaymentEvent(
            provider=remote.provider,
            event_id=f"reconcile:{remote.provider_reference or remote.reference}",
            kind=remote.status,
            reference=remote.reference,
            amount=remote.amount,
            occurred_at=remote.paid_at,
            raw_status="reconciliation",
        )
        async with self.central.transaction() as session:
            receipt = await self.webhooks.record_reconciliation(
                session,
                event,
                {
                    "remote": dataclasses.asdict(remote),
                    "mismatch": mismatch.kind,
                    "local_status": mismatch.local_status,
                },
            )
            outcome = await self.billing.apply_event(session, event, now=now)
            receipt.status = ReceiptStatus.PROCESSED if outcome.changed else ReceiptStatus.IGNORED
            receipt.outcome = outcome.outcome
            receipt.processed_at = now
        mismatch.fixed = outcome.changed
        mismatch.outcome = outcome.outcome
