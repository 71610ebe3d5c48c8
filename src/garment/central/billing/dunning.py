"""Dunning: what happens to an invoice that is not paid by its due date.

`DunningService.run()` (the hourly `billing.dunning` job and `garment billing dunning`) first
issues renewal invoices for periods that ended, then, for each open invoice past its due date:
moves the subscription to `past_due`, sends a reminder on each of `billing.dunning_days` after
the due date (retrying the provider charge where the provider supports it), suspends the
subscription (and so the tenant) after `billing.grace_days`, and cancels it after
`billing.cancel_after_days` suspended (the invoice becomes `uncollectible`). Every action is a
row of the dunning log whose `step` is unique per invoice: running twice does nothing twice.
`explain()` says, for one invoice, why each step was or was not taken.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.billing import invoice_states, subscription_states
from garment.central.billing.events import (
    InvoiceReminderDue,
    SubscriptionSuspended,
)
from garment.central.billing.invoice_states import DunningAction, InvoiceStatus
from garment.central.billing.models import Invoice, Subscription
from garment.central.billing.repository import (
    DunningRepository,
    InvoiceRepository,
    SubscriptionRepository,
)
from garment.central.billing.subscription_states import SubscriptionStatus
from garment.central.billing.subscriptions import BillingService, ProviderSource, end_subscription
from garment.config import BillingSettings
from garment.platform.db import Database
from garment.platform.errors import CommandError
from garment.platform.events import publish
from garment.platform.metrics import BILLING_DUNNING_ACTIONS

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DunningStep:
    invoice_id: uuid.UUID
    number: str | None
    tenant_id: uuid.UUID
    action: DunningAction
    step: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoice_id": str(self.invoice_id),
            "number": self.number,
            "tenant_id": str(self.tenant_id),
            "action": self.action.value,
            "step": self.step,
            "details": self.details,
        }


@dataclass(slots=True)
class Explanation:
    invoice_id: uuid.UUID
    number: str | None
    status: str
    subscription_status: str | None
    days_overdue: int | None
    lines: list[str] = field(default_factory=list)
    due: list[DunningStep] = field(default_factory=list)
    taken: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoice_id": str(self.invoice_id),
            "number": self.number,
            "status": self.status,
            "subscription_status": self.subscription_status,
            "days_overdue": self.days_overdue,
            "reasons": self.lines,
            "would_do": [step.as_dict() for step in self.due],
            "log": self.taken,
        }


@dataclass(slots=True)
class DunningRun:
    renewals: list[str] = field(default_factory=list)
    steps: list[DunningStep] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "renewals": self.renewals,
            "actions": [step.as_dict() for step in self.steps],
        }


def days_overdue(invoice: Invoice, now: datetime) -> int | None:
    if invoice.due_at is None or now <= invoice.due_at:
        return None
    return (now - invoice.due_at).days


class DunningService:
    def __init__(
        self,
        *,
        central: Database,
        settings: BillingSettings,
        billing: BillingService,
        providers: ProviderSource,
    ) -> None:
        self.central = central
        self.settings = settings
        self.billing = billing
        self.providers = providers

    async def run(self, *, now: datetime | None = None, dry_run: bool = False) -> DunningRun:
        now = now or datetime.now(UTC)
        result = DunningRun(dry_run=dry_run)
        if not dry_run:
            async with self.central.transaction() as session:
                result.renewals = await self.billing.renew_due(session, now=now)
        async with self.central.transaction() as session:
            overdue = [
                invoice.id for invoice in await InvoiceRepository(session).open_due_before(now)
            ]
            suspended = await self._suspended_invoices(session)
        for invoice_id in dict.fromkeys([*overdue, *suspended]):
            try:
                async with self.central.transaction() as session:
                    result.steps.extend(
                        await self._dun(session, invoice_id, now=now, dry_run=dry_run)
                    )
            except Exception:
                # One invoice's failure (a provider down for its retry) must not stop the rest;
                # its steps roll back and are taken on the next run.
                logger.exception("billing.dunning_failed", invoice_id=str(invoice_id))
        return result

    async def _suspended_invoices(self, session: AsyncSession) -> list[uuid.UUID]:
        """Unpaid invoices of suspended subscriptions (cancellation counts from suspension)."""
        found: list[uuid.UUID] = []
        for subscription in await SubscriptionRepository(session).listed():
            if subscription.status == SubscriptionStatus.SUSPENDED:
                unpaid = await InvoiceRepository(session).unpaid_of_subscription(subscription.id)
                found.extend(invoice.id for invoice in unpaid)
        return found

    async def _dun(
        self, session: AsyncSession, invoice_id: uuid.UUID, *, now: datetime, dry_run: bool
    ) -> list[DunningStep]:
        invoice = await InvoiceRepository(session).get(invoice_id, for_update=True)
        if invoice is None:
            return []
        subscription = await SubscriptionRepository(session).get(
            invoice.subscription_id, for_update=True
        )
        if subscription is None:
            return []
        taken = await DunningRepository(session).steps_of(invoice.id)
        steps = self.due_steps(invoice, subscription, taken, now, [])
        if dry_run:
            return steps
        done = []
        for step in steps:
            if not await DunningRepository(session).record(
                {
                    "invoice_id": invoice.id,
                    "tenant_id": invoice.tenant_id,
                    "action": step.action,
                    "step": step.step,
                    "occurred_at": now,
                    "details": step.details,
                }
            ):
                continue  # another run took it this moment
            await self._perform(session, step, invoice, subscription, now)
            BILLING_DUNNING_ACTIONS.labels(step.action.value).inc()
            done.append(step)
        return done

    def due_steps(
        self,
        invoice: Invoice,
        subscription: Subscription,
        taken: set[str],
        now: datetime,
        reasons: list[str],
    ) -> list[DunningStep]:
        """The steps this invoice is due for now and has not had yet; `reasons` collects why
        each step is or is not taken (for `--explain`)."""
        steps: list[DunningStep] = []
        status = SubscriptionStatus(subscription.status)

        def step(action: DunningAction, key: str, **details: Any) -> None:
            if key in taken:
                reasons.append(f"{key}: already done (dunning log)")
                return
            steps.append(
                DunningStep(invoice.id, invoice.number, invoice.tenant_id, action, key, details)
            )

        if invoice.status not in invoice_states.PAYABLE:
            reasons.append(f"invoice is {invoice.status}: nothing to collect")
            return steps
        overdue = days_overdue(invoice, now)
        if overdue is None:
            reasons.append(f"not overdue yet (due {_iso(invoice.due_at)})")
            return steps
        reasons.append(f"{overdue} day(s) past due (due {_iso(invoice.due_at)})")
        if status in subscription_states.ENDED:
            reasons.append(f"subscription is {status.value}: dunning ended")
            return steps
        if invoice.status != InvoiceStatus.OPEN:
            reasons.append(f"invoice is {invoice.status}")
            return steps
        if status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
            step(DunningAction.PAST_DUE, "past_due", days=overdue)
        due_days = [day for day in sorted(set(self.settings.dunning_days)) if day <= overdue]
        later = [day for day in sorted(set(self.settings.dunning_days)) if day > overdue]
        for day in due_days:
            step(DunningAction.REMINDER, f"reminder:{day}", day=day, mailed=day == due_days[-1])
            if invoice.provider:
                step(DunningAction.RETRY_CHARGE, f"retry:{day}", day=day, provider=invoice.provider)
        if later:
            reasons.append(f"next reminder on day {later[0]}")
        if status is SubscriptionStatus.INCOMPLETE:
            if overdue >= self.settings.cancel_after_days:
                step(
                    DunningAction.CANCEL,
                    "cancel",
                    days=overdue,
                    reason=subscription_states.NEVER_PAID_EXPIRED,
                )
            else:
                reasons.append(
                    f"first invoice: the subscription expires after "
                    f"{self.settings.cancel_after_days} days past due"
                )
            return steps
        if overdue >= self.settings.grace_days:
            if status is not SubscriptionStatus.SUSPENDED:
                step(DunningAction.SUSPEND, "suspend", days=overdue)
            else:
                reasons.append(f"suspended since {_iso(subscription.suspended_at)}")
        else:
            reasons.append(f"grace period: suspension on day {self.settings.grace_days}")
        suspended_at = subscription.suspended_at
        if status is SubscriptionStatus.SUSPENDED and suspended_at is not None:
            suspended_days = (now - suspended_at).days
            if suspended_days >= self.settings.cancel_after_days:
                step(DunningAction.CANCEL, "cancel", days_suspended=suspended_days)
            else:
                reasons.append(
                    f"suspended {suspended_days} day(s): cancellation after "
                    f"{self.settings.cancel_after_days}"
                )
        return steps

    async def _perform(
        self,
        session: AsyncSession,
        step: DunningStep,
        invoice: Invoice,
        subscription: Subscription,
        now: datetime,
    ) -> None:
        action = step.action
        if action is DunningAction.PAST_DUE:
            subscription.status = subscription_states.transition(
                subscription.status, SubscriptionStatus.PAST_DUE
            )
            subscription.past_due_since = now
        elif action is DunningAction.REMINDER:
            if step.details.get("mailed"):
                await publish(
                    session,
                    InvoiceReminderDue(
                        invoice_id=invoice.id,
                        tenant_id=invoice.tenant_id,
                        days_overdue=int(step.details["day"]),
                    ),
                )
        elif action is DunningAction.RETRY_CHARGE:
            try:
                retried = await self.providers.get(invoice.provider or "").retry_charge(
                    invoice.reference
                )
            except Exception as error:  # recorded, never fatal: the next reminder retries
                retried = False
                step.details["error"] = f"{type(error).__name__}: {error}"[:300]
            step.details["supported"] = retried
        elif action is DunningAction.SUSPEND:
            subscription.status = subscription_states.transition(
                subscription.status, SubscriptionStatus.SUSPENDED
            )
            subscription.suspended_at = now
            await publish(
                session,
                SubscriptionSuspended(
                    tenant_id=subscription.tenant_id,
                    subscription_id=subscription.id,
                    invoice_id=invoice.id,
                ),
            )
        elif action is DunningAction.CANCEL:
            first = SubscriptionStatus(subscription.status) is SubscriptionStatus.INCOMPLETE
            # Either way the tenant closes: a paying one by dunning, and one that waited for its
            # first payment (`pending`, never provisioned) so it does not wait for ever.
            if first:
                await end_subscription(
                    session,
                    subscription,
                    SubscriptionStatus.EXPIRED,
                    subscription_states.NEVER_PAID_EXPIRED,
                    now,
                )
                invoice.status = invoice_states.transition(invoice.status, InvoiceStatus.VOID)
                invoice.voided_at = now
            else:
                await end_subscription(
                    session, subscription, SubscriptionStatus.CANCELLED, "unpaid", now
                )
                invoice.status = invoice_states.transition(
                    invoice.status, InvoiceStatus.UNCOLLECTIBLE
                )

    async def explain(self, reference: str, *, now: datetime | None = None) -> Explanation:
        now = now or datetime.now(UTC)
        async with self.central.transaction() as session:
            invoice = await self.billing.invoice_of(session, reference)
            if invoice is None:
                raise CommandError(f"no invoice {reference!r} (give its id or number)")
            subscription = await SubscriptionRepository(session).get(invoice.subscription_id)
            entries = await DunningRepository(session).of_invoice(invoice.id)
            explanation = Explanation(
                invoice.id,
                invoice.number,
                invoice.status,
                subscription.status if subscription else None,
                days_overdue(invoice, now),
                taken=[
                    {
                        "step": entry.step,
                        "action": entry.action,
                        "at": entry.occurred_at.isoformat(),
                        "details": entry.details,
                    }
                    for entry in entries
                ],
            )
            if subscription is None:
                explanation.lines.append("the invoice's subscription is missing")
                return explanation
            explanation.due = self.due_steps(
                invoice, subscription, {entry.step for entry in entries}, now, explanation.lines
            )
            if not explanation.due:
                explanation.lines.append("nothing is due now")
            return explanation


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "never"
