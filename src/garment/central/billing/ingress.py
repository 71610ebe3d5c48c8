"""Webhook ingress and the forensic record (`BillingWebhookForensicService`).

In the spec's order, for every delivery:

1. the **receipt** is the first thing written: provider, time, remote address, the raw body
   bytes, the headers with the provider's secret headers redacted, the size (an oversized body
   keeps its first bytes);
2. with it, the verification result and reason; a refusal is a `401`, an unknown provider a
   `404`, an oversized body a `413` — all recorded, nothing else changes;
3. the provider's event id is claimed in `billing_webhook_events` (unique per provider): a
   second delivery of the same event is stored `duplicate` (naming the first) and answered
   `200`;
4. in the same statement, the first receipt of an event is stored `verified` and its
   processing job enqueued; the answer is a fast `200`.

The hot path is one statement and one database round trip per delivery (`IngressStatements`,
bench/README.md): the signature is checked in memory first (an HMAC over at most
`billing.webhook_max_body_bytes`, microseconds, every exception of a verifier caught), then the
receipt, its verdict, the claim and the job are written together, atomically. Should that
statement fail for any reason but a lost database, the receipt is still stored on its own
(`received`, with the error) before the `500`, so the provider's retry and an operator both
find it: no delivery goes unrecorded.

The job (`billing.process_webhook`) applies the mapped event through the state machines and
marks the receipt `processed`, `ignored` (nothing to change: a late `pending` after `paid`) or
`failed` (retried with backoff) in the same transaction as the change itself. A receipt left in
`processing` by a worker that died is enqueued again by the sweep (`billing.sweep_webhooks`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.billing.invoice_states import ReceiptSource, ReceiptStatus
from garment.central.billing.models import WebhookReceipt
from garment.central.billing.providers.base import (
    MalformedWebhook,
    PaymentEvent,
    PaymentEventKind,
    PaymentProvider,
    Verification,
    WebhookDelivery,
)
from garment.central.billing.providers.sandbox import build_simulated_delivery
from garment.central.billing.repository import IngressStatements, ReceiptRepository
from garment.central.billing.subscriptions import BillingService, ProviderSource
from garment.config import BillingSettings
from garment.platform.context import current_context
from garment.platform.db import Database, is_connection_failure
from garment.platform.errors import CommandError
from garment.platform.jobs import JobQueue, enqueue_from
from garment.platform.metrics import BILLING_WEBHOOK_RECEIPTS

logger = structlog.get_logger(__name__)

PROCESS_TASK = "billing.process_webhook"
REDACTED = "[redacted]"
# Redacted whatever the provider says: credentials a caller may send along.
ALWAYS_SECRET = frozenset({"authorization", "cookie", "proxy-authorization", "x-callback-token"})
FINAL = frozenset({ReceiptStatus.PROCESSED, ReceiptStatus.IGNORED})
REPLAYABLE = frozenset(
    {
        ReceiptStatus.VERIFIED,
        ReceiptStatus.PROCESSING,
        ReceiptStatus.PROCESSED,
        ReceiptStatus.IGNORED,
        ReceiptStatus.FAILED,
    }
)


PROCESSING_DEDUPE_PREFIX = "billing-webhook:"


def processing_dedupe_key(receipt_id: int) -> str:
    return f"{PROCESSING_DEDUPE_PREFIX}{receipt_id}"


@dataclass(frozen=True, slots=True)
class IngressResult:
    """What the ingress answers: the HTTP status, the receipt and why."""

    status_code: int
    receipt_id: int
    status: ReceiptStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """A receipt as operators see it (`garment billing webhooks show`, the admin API)."""

    id: int
    provider: str
    source: str
    received_at: datetime
    remote_addr: str | None
    size: int
    truncated: bool
    headers: dict[str, Any]
    body: bytes
    verified: bool | None
    verification_reason: str | None
    provider_event_id: str | None
    event_kind: str | None
    reference: str | None
    amount: int | None
    duplicate_of: int | None
    status: str
    outcome: str | None
    error: str | None
    attempts: int
    processing_started_at: datetime | None
    processed_at: datetime | None

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "source": self.source,
            "received_at": self.received_at.isoformat(),
            "remote_addr": self.remote_addr,
            "size": self.size,
            "status": self.status,
            "verified": self.verified,
            "verification_reason": self.verification_reason,
            "provider_event_id": self.provider_event_id,
            "event_kind": self.event_kind,
            "reference": self.reference,
            "outcome": self.outcome,
            "attempts": self.attempts,
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "truncated": self.truncated,
            "headers": self.headers,
            "body": pretty_body(self.body),
            "amount": self.amount,
            "duplicate_of": self.duplicate_of,
            "error": self.error,
            "processing_started_at": _iso(self.processing_started_at),
            "processed_at": _iso(self.processed_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def pretty_body(body: bytes) -> str:
    """The body for a human: indented JSON when it is JSON, else the text (bytes that are not
    UTF-8 shown escaped)."""
    text = body.decode("utf-8", errors="backslashreplace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text


def record_of(row: WebhookReceipt) -> ReceiptRecord:
    return ReceiptRecord(
        id=row.id,
        provider=row.provider,
        source=row.source,
        received_at=row.received_at,
        remote_addr=row.remote_addr,
        size=row.size,
        truncated=row.truncated,
        headers=dict(row.headers or {}),
        body=bytes(row.body),
        verified=row.verified,
        verification_reason=row.verification_reason,
        provider_event_id=row.provider_event_id,
        event_kind=row.event_kind,
        reference=row.reference,
        amount=row.amount,
        duplicate_of=row.duplicate_of,
        status=row.status,
        outcome=row.outcome,
        error=row.error,
        attempts=row.attempts,
        processing_started_at=row.processing_started_at,
        processed_at=row.processed_at,
    )


def redact(headers: Mapping[str, str], secret: frozenset[str]) -> dict[str, str]:
    hidden = secret | ALWAYS_SECRET
    return {
        name.lower(): (REDACTED if name.lower() in hidden else value)
        for name, value in headers.items()
    }


class BillingWebhookForensicService:
    def __init__(
        self,
        *,
        central: Database,
        settings: BillingSettings,
        providers: ProviderSource,
        billing: BillingService,
        jobs: JobQueue,
    ) -> None:
        self.central = central
        self.settings = settings
        self.providers = providers
        self.billing = billing
        self.jobs = jobs
        self.statements = IngressStatements(
            central,
            enqueue=enqueue_from(
                "claimed",
                PROCESS_TASK,
                id_column="receipt_id",
                dedupe_prefix=PROCESSING_DEDUPE_PREFIX,
            ),
        )

    def _provider(self, name: str) -> PaymentProvider | None:
        try:
            return self.providers.get(name)
        except KeyError:
            return None

    # --- ingress -----------------------------------------------------------------------------

    async def receive(
        self,
        provider_name: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        size: int,
        truncated: bool = False,
        remote_addr: str | None = None,
        received_at: datetime | None = None,
    ) -> IngressResult:
        """Store, verify, deduplicate, enqueue (module docstring). Never raises for what a
        delivery contains: every outcome is a recorded receipt and a status code."""
        provider = self._provider(provider_name)
        lowered = {name.lower(): value for name, value in headers.items()}
        secret = provider.secret_headers() if provider is not None else frozenset()
        received_at = received_at or datetime.now(UTC)
        receipt: dict[str, Any] = {
            "provider": provider_name[:64],
            "received_at": received_at,
            "remote_addr": (remote_addr or current_context().client_ip or None),
            "body": body,
            "headers": json.dumps(redact(lowered, secret)),
            "size": size,
            "truncated": truncated,
        }
        if provider is None:
            return await self._reject(receipt, "unknown_provider", 404)
        if truncated:
            return await self._reject(receipt, "body_too_large", 413)
        delivery = WebhookDelivery(body=body, headers=lowered, received_at=received_at)
        verification = self._verify(provider, delivery)
        if not verification.valid:
            return await self._reject(receipt, verification.reason or "invalid", 401)
        try:
            event = provider.parse(delivery)
        except MalformedWebhook as error:
            # Verified but unusable: a provider retry would carry the same bytes, so it is
            # answered 200 and kept as `failed` for an operator.
            receipt_id = await self._store(
                receipt,
                verified=True,
                status=ReceiptStatus.FAILED,
                error=f"malformed: {error}"[:2000],
            )
            return IngressResult(200, receipt_id, ReceiptStatus.FAILED, "malformed")
        except Exception as error:  # an adapter's defect: the delivery is still kept
            await self._keep_unaccepted(receipt, {"verified": True}, error)
            raise
        return await self._accept(receipt, event)

    def _verify(self, provider: PaymentProvider, delivery: WebhookDelivery) -> Verification:
        try:
            return provider.verify(delivery)
        except Exception as error:  # a verifier must never turn a forgery into a 500
            logger.warning("billing.verifier_raised", error=type(error).__name__)
            return Verification.refused("malformed_header")

    async def _store(self, receipt: dict[str, Any], **fields: Any) -> int:
        status = ReceiptStatus(fields.pop("status"))
        receipt_id = await self.statements.store({**receipt, **fields, "status": status.value})
        self._count(receipt["provider"], status)
        return receipt_id

    async def _reject(
        self, receipt: dict[str, Any], reason: str, status_code: int
    ) -> IngressResult:
        receipt_id = await self._store(
            receipt,
            verified=False if status_code == 401 else None,
            verification_reason=reason,
            status=ReceiptStatus.REJECTED,
        )
        logger.warning(
            "billing.webhook_rejected",
            receipt_id=receipt_id,
            provider=receipt["provider"],
            reason=reason,
        )
        return IngressResult(status_code, receipt_id, ReceiptStatus.REJECTED, reason)

    async def _accept(self, receipt: dict[str, Any], event: PaymentEvent) -> IngressResult:
        fields = {
            "verified": True,
            "verification_reason": None,
            "provider_event_id": event.event_id[:200],
            "event_kind": event.kind.value,
            "reference": event.reference[:200],
            "amount": event.amount,
        }
        try:
            accepted = await self.statements.accept({**receipt, **fields})
        except Exception as error:
            await self._keep_unaccepted(receipt, fields, error)
            raise
        status = ReceiptStatus.DUPLICATE if accepted.duplicate else ReceiptStatus.VERIFIED
        self._count(receipt["provider"], status)
        return IngressResult(200, accepted.receipt_id, status)

    async def _keep_unaccepted(
        self, receipt: dict[str, Any], fields: dict[str, Any], error: Exception
    ) -> None:
        """The accepting statement failed: store the receipt alone (`received`, the error
        kept), so the delivery is on record; the caller answers 500 and the provider retries.
        Nothing can be stored when the database itself is gone."""
        if is_connection_failure(error):
            return
        try:
            await self.statements.store(
                {
                    **receipt,
                    **fields,
                    "status": ReceiptStatus.RECEIVED.value,
                    "error": f"ingest failed: {type(error).__name__}: {error}"[:2000],
                }
            )
        except Exception as second:
            logger.error("billing.webhook_unrecorded", error=type(second).__name__)

    async def enqueue(self, session: AsyncSession, receipt_id: int) -> None:
        await self.jobs.enqueue_in(
            session,
            PROCESS_TASK,
            {"receipt_id": receipt_id},
            dedupe_key=processing_dedupe_key(receipt_id),
        )

    def _count(self, provider: str, status: ReceiptStatus) -> None:
        BILLING_WEBHOOK_RECEIPTS.labels(provider[:32], status.value).inc()

    # --- processing (the job) ----------------------------------------------------------------

    async def process(self, receipt_id: int, *, now: datetime | None = None) -> str:
        """Apply the receipt's event; returns its final status. Idempotent: a receipt already
        `processed` or `ignored` is left alone, and applying an event twice changes nothing
        twice (the invoice's row lock and its state decide)."""
        now = now or datetime.now(UTC)
        async with self.central.transaction() as session:
            receipt = await ReceiptRepository(session).get(receipt_id, for_update=True)
            if receipt is None:
                return "missing"
            if ReceiptStatus(receipt.status) in FINAL:
                return receipt.status
            if ReceiptStatus(receipt.status) not in REPLAYABLE:
                return receipt.status
            receipt.status = ReceiptStatus.PROCESSING
            receipt.attempts += 1
            receipt.processing_started_at = now
            provider = receipt.provider
        try:
            async with self.central.transaction() as session:
                receipt = await ReceiptRepository(session).get(receipt_id, for_update=True)
                assert receipt is not None
                if ReceiptStatus(receipt.status) in FINAL:
                    return receipt.status  # another run finished it meanwhile
                event = event_of(receipt)
                outcome = await self.billing.apply_event(session, event, now=now)
                receipt.status = (
                    ReceiptStatus.PROCESSED if outcome.changed else ReceiptStatus.IGNORED
                )
                receipt.outcome = outcome.outcome[:200]
                receipt.error = None
                receipt.processed_at = datetime.now(UTC)
                final = ReceiptStatus(receipt.status)
        except Exception as error:
            async with self.central.transaction() as session:
                await ReceiptRepository(session).mark(
                    receipt_id,
                    status=ReceiptStatus.FAILED,
                    error=f"{type(error).__name__}: {error}"[:2000],
                )
            self._count(provider, ReceiptStatus.FAILED)
            raise
        self._count(event.provider, final)
        return final.value

    async def sweep_stuck(self, *, now: datetime | None = None) -> list[int]:
        """Receipts `processing` for longer than `billing.processing_stuck_minutes` (their
        worker died): back to `verified` with their job enqueued again."""
        now = now or datetime.now(UTC)
        before = now - timedelta(minutes=self.settings.processing_stuck_minutes)
        async with self.central.transaction() as session:
            stuck = await ReceiptRepository(session).stuck(before)
            for receipt in stuck:
                receipt.status = ReceiptStatus.VERIFIED
                receipt.error = "picked up again: processing never finished"
                await self.enqueue(session, receipt.id)
            return [receipt.id for receipt in stuck]

    async def purge(self, *, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(days=self.settings.receipt_retention_days)
        async with self.central.transaction() as session:
            return await ReceiptRepository(session).purge_before(cutoff)

    # --- forensics ---------------------------------------------------------------------------

    async def list(
        self,
        session: AsyncSession,
        *,
        provider: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        reference: str | None = None,
        limit: int = 100,
    ) -> list[ReceiptRecord]:
        rows = await ReceiptRepository(session).listed(
            provider=provider, status=status, since=since, reference=reference, limit=limit
        )
        return [record_of(row) for row in rows]

    async def counts(self, session: AsyncSession) -> dict[tuple[str, str], int]:
        """Stored receipts by (provider, status), for the metrics gauge."""
        return await ReceiptRepository(session).counts()

    async def show(self, session: AsyncSession, receipt_id: int) -> ReceiptRecord | None:
        row = await ReceiptRepository(session).get(receipt_id)
        return record_of(row) if row else None

    async def replay(self, receipt_id: int) -> str:
        """Run processing of a stored, verified receipt again (idempotent: a paid invoice stays
        paid once). A processed receipt is reopened so the run is recorded."""
        async with self.central.transaction() as session:
            receipt = await ReceiptRepository(session).get(receipt_id, for_update=True)
            if receipt is None:
                raise CommandError(f"no webhook receipt {receipt_id}")
            status = ReceiptStatus(receipt.status)
            if status not in REPLAYABLE:
                raise CommandError(
                    f"receipt {receipt_id} is {status.value}: only verified receipts are "
                    "processed (a rejected or duplicate delivery never changes anything)"
                )
            receipt.status = ReceiptStatus.VERIFIED
        return await self.process(receipt_id)

    async def simulate_sandbox_payment(
        self, reference: str, *, fail: bool, secret: str
    ) -> tuple[IngressResult | None, Any]:
        """The sandbox pay page's button: a signed sandbox delivery for the invoice, through
        the same ingress as any provider's (stored, verified, deduplicated, enqueued). None
        when there is no such invoice."""
        async with self.central.transaction() as session:
            invoice = await self.billing.invoice_of(session, reference)
        if invoice is None:
            return None, None
        body, headers = build_simulated_delivery(
            invoice.reference, invoice.total, fail=fail, secret=secret
        )
        result = await self.receive("sandbox", body=body, headers=headers, size=len(body))
        return result, invoice

    async def record_reconciliation(
        self, session: AsyncSession, event: PaymentEvent, body: dict[str, Any]
    ) -> WebhookReceipt:
        """A receipt with source `reconciliation`: what `reconcile --fix` applied, and why."""
        receipt = WebhookReceipt(
            provider=event.provider,
            source=ReceiptSource.RECONCILIATION,
            received_at=datetime.now(UTC),
            remote_addr=None,
            body=json.dumps(body, default=str, sort_keys=True).encode(),
            headers={},
            size=0,
            truncated=False,
            verified=True,
            verification_reason="reconciliation",
            provider_event_id=event.event_id[:200],
            event_kind=event.kind.value,
            reference=event.reference[:200],
            amount=event.amount,
            status=ReceiptStatus.PROCESSING,
            attempts=1,
            processing_started_at=datetime.now(UTC),
        )
        session.add(receipt)
        await session.flush()
        receipt.size = len(receipt.body)
        return receipt


def event_of(receipt: WebhookReceipt) -> PaymentEvent:
    """The mapped event as the ingress recorded it on the receipt."""
    if receipt.event_kind is None or receipt.reference is None:
        raise MalformedWebhook("the receipt carries no mapped event")
    return PaymentEvent(
        provider=receipt.provider,
        event_id=receipt.provider_event_id or f"receipt-{receipt.id}",
        kind=PaymentEventKind(receipt.event_kind),
        reference=receipt.reference,
        amount=receipt.amount,
        occurred_at=None,
        raw_status="",
    )


def new_reference() -> str:
    return str(uuid.uuid4())
