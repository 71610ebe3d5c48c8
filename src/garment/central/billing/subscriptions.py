"""Subscriptions and invoices: onboarding, invoice drafting and issuing (gap-free numbers, PPN),
payments, renewals, plan changes and cancellation. Every status change goes through the state
machines (`subscription_states`, `invoice_states`); the unit of work owns the transaction.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.billing import invoice_states, subscription_states
from garment.central.billing.catalogue import Plan
from garment.central.billing.errors import (
    INVOICE_NOT_PAYABLE,
    PAYMENT_PROVIDER_UNAVAILABLE,
    PLAN_UNCHANGED,
    SUBSCRIPTION_NOT_CHANGEABLE,
)
from garment.central.billing.events import (
    InvoiceIssued,
    InvoicePaid,
    PaymentFailed,
    PlanChanged,
    SubscriptionActivated,
    SubscriptionCancelled,
)
from garment.central.billing.invoice_states import InvoiceStatus, PaymentAttemptStatus
from garment.central.billing.models import Invoice, InvoiceLine, PaymentAttempt, Subscription
from garment.central.billing.plans import PlanCatalogue
from garment.central.billing.ports import TenantUsage
from garment.central.billing.providers.base import (
    PaymentEvent,
    PaymentEventKind,
    PaymentProvider,
    PaymentRequest,
    ProviderError,
)
from garment.central.billing.repository import (
    InvoiceCounterRepository,
    InvoiceLineRepository,
    InvoiceRepository,
    PaymentAttemptRepository,
    SubscriptionRepository,
)
from garment.central.billing.subscription_states import SubscriptionStatus
from garment.central.billing.tax import TaxRule, ppn
from garment.config import BillingSettings
from garment.platform.errors import (
    PLAN_LIMIT_REACHED,
    RESOURCE_NOT_FOUND,
    AppError,
    FieldErrors,
)
from garment.platform.events import publish
from garment.platform.i18n import Message

logger = structlog.get_logger(__name__)

PLAN_UNKNOWN = Message("Paket tidak dikenal.", "Unknown plan.")
PROVIDER_RETRY_SECONDS = 30


class ProviderSource(Protocol):
    def get(self, name: str) -> PaymentProvider:
        """The adapter by name; KeyError for an unknown one."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (clamped to the month's last day)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_end(start: datetime, interval: str) -> datetime:
    return add_months(start, 12 if interval == "yearly" else 1)


async def end_subscription(
    session: AsyncSession,
    subscription: Subscription,
    target: SubscriptionStatus,
    reason: str,
    now: datetime,
) -> None:
    """End the subscription (`cancelled`, or `expired` when it was never paid for) as of `now`,
    and tell tenancy, which closes the tenant (`SubscriptionCancelled` with `reason`)."""
    subscription.status = subscription_states.transition(subscription.status, target)
    subscription.cancelled_at = now
    await publish(
        session,
        SubscriptionCancelled(
            tenant_id=subscription.tenant_id, subscription_id=subscription.id, reason=reason
        ),
    )


def invoice_number(month: str, number: int) -> str:
    """`INV/2026/11/000123`."""
    return f"INV/{month}/{number:06d}"


def prorate(amount: int, remaining: timedelta, whole: timedelta) -> int:
    """The share of `amount` for `remaining` of `whole`, rounded down (exact integers)."""
    total = int(whole.total_seconds())
    if total <= 0:
        return 0
    left = max(0, min(total, int(remaining.total_seconds())))
    return amount * left // total


def invoice_fields(invoice: Invoice) -> dict[str, Any]:
    return {
        column: getattr(invoice, column)
        for column in (
            "id",
            "number",
            "status",
            "kind",
            "plan_code",
            "tenant_id",
            "billing_interval",
            "period_start",
            "period_end",
            "subtotal",
            "tax_base",
            "tax_rate",
            "tax",
            "total",
            "issued_at",
            "due_at",
            "paid_at",
            "provider",
            "provider_reference",
        )
    }


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What applying a payment event did: `processed` (a change) or `ignored`, and why."""

    changed: bool
    outcome: str


@dataclass(frozen=True, slots=True)
class PayLink:
    invoice_id: uuid.UUID
    provider: str
    url: str
    provider_reference: str
    expires_at: datetime | None


class BillingService:
    def __init__(
        self,
        *,
        settings: BillingSettings,
        plans: PlanCatalogue,
        providers: ProviderSource,
        usage: TenantUsage,
    ) -> None:
        self.settings = settings
        self.plans = plans
        self.providers = providers
        self.usage = usage
        self.tax_rule = TaxRule.parse(settings.ppn_rate, settings.ppn_base_ratio)

    def plan(self, code: str) -> Plan:
        plan = self.plans.get(code)
        if plan is None:
            problems = FieldErrors()
            problems.add("body.plan_code", PLAN_UNKNOWN)
            problems.raise_if_any()
        assert plan is not None
        return plan

    # --- onboarding --------------------------------------------------------------------------

    async def onboard(
        self,
        session: AsyncSession,
        *,
        tenant_id: uuid.UUID,
        owner_user_id: uuid.UUID | None,
        plan_code: str,
        interval: str,
        now: datetime | None = None,
    ) -> Subscription:
        """The tenant's subscription: `trialing` on a trial plan (the tenant provisions at
        once), else `incomplete` with its first invoice issued (provisioning waits for it).
        A second call for the same tenant returns the existing subscription."""
        now = now or utcnow()
        existing = await SubscriptionRepository(session).of_tenant(tenant_id)
        if existing is not None:
            return existing
        plan = self.plan(plan_code)
        trial = plan.trial_days > 0
        end = now + timedelta(days=plan.trial_days) if trial else period_end(now, interval)
        subscription = await SubscriptionRepository(session).claim(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "plan_code": plan.code,
                "billing_interval": interval,
                "status": SubscriptionStatus.TRIALING if trial else SubscriptionStatus.INCOMPLETE,
                "trial_end": end if trial else None,
                "current_period_start": now,
                "current_period_end": end,
                "owner_user_id": owner_user_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        if subscription is None:  # a concurrent delivery created it
            found = await SubscriptionRepository(session).of_tenant(tenant_id)
            assert found is not None
            return found
        if not trial:
            invoice = await self.draft_invoice(
                session, subscription, kind="first", start=now, end=end, now=now
            )
            await self.issue(session, invoice, now=now)
        return subscription

    # --- invoices ----------------------------------------------------------------------------

    async def draft_invoice(
        self,
        session: AsyncSession,
        subscription: Subscription,
        *,
        kind: str,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> Invoice:
        """A draft for the period: the plan's price, the subscription's pending adjustments
        (upgrade proration), PPN on the sum. Drafts have no number."""
        plan = self.plan(subscription.plan_code)
        interval = subscription.billing_interval
        price = plan.yearly_price if interval == "yearly" else plan.monthly_price
        lines: list[tuple[str, str, int]] = [
            ("plan", f"{plan.name} ({interval}) {start:%Y-%m-%d} - {end:%Y-%m-%d}", price)
        ]
        for adjustment in subscription.pending_adjustments or []:
            lines.append(("proration", str(adjustment["description"]), int(adjustment["amount"])))
        subscription.pending_adjustments = []
        subtotal = max(0, sum(amount for _, _, amount in lines))
        tax = ppn(subtotal, self.tax_rule)
        invoice = Invoice(
            id=uuid.uuid4(),
            tenant_id=subscription.tenant_id,
            subscription_id=subscription.id,
            kind=kind,
            status=InvoiceStatus.DRAFT,
            plan_code=plan.code,
            billing_interval=interval,
            period_start=start,
            period_end=end,
            subtotal=subtotal,
            tax_base=tax.base,
            tax_rate=tax.rate,
            tax=tax.amount,
            total=subtotal + tax.amount,
            created_at=now,
        )
        session.add(invoice)
        await session.flush()
        for position, (line_kind, description, amount) in enumerate(lines):
            session.add(
                InvoiceLine(
                    invoice_id=invoice.id,
                    position=position,
                    kind=line_kind,
                    description=description[:300],
                    quantity=1,
                    unit_amount=amount,
                    amount=amount,
                )
            )
        await session.flush()
        return invoice

    async def issue(
        self, session: AsyncSession, invoice: Invoice, *, now: datetime | None = None
    ) -> Invoice:
        """Draft → open: the month's next number is taken in this transaction (gap-free)."""
        now = now or utcnow()
        status = invoice_states.transition(invoice.status, InvoiceStatus.OPEN)
        month = f"{now:%Y/%m}"
        number = await InvoiceCounterRepository(session).take(month)
        invoice.number, invoice.status = invoice_number(month, number), status
        invoice.issued_at = now
        invoice.due_at = now + timedelta(days=self.settings.invoice_due_days)
        await session.flush()
        await publish(session, InvoiceIssued(invoice_id=invoice.id, tenant_id=invoice.tenant_id))
        return invoice

    async def void(self, session: AsyncSession, invoice: Invoice, now: datetime) -> None:
        invoice.status = invoice_states.transition(invoice.status, InvoiceStatus.VOID)
        invoice.voided_at = now

    async def invoice_of(
        self, session: AsyncSession, invoice_id_or_number: str, *, for_update: bool = False
    ) -> Invoice | None:
        repository = InvoiceRepository(session)
        try:
            invoice_id = uuid.UUID(invoice_id_or_number.strip())
        except ValueError:
            found = await repository.by_number(invoice_id_or_number.strip())
            if found is None or not for_update:
                return found
            invoice_id = found.id
        return await repository.get(invoice_id, for_update=for_update)

    async def tenant_invoice(
        self, session: AsyncSession, tenant_id: uuid.UUID, invoice_id: uuid.UUID
    ) -> Invoice:
        invoice = await InvoiceRepository(session).get(invoice_id)
        # Another tenant's invoice (or a draft) is "not found", never "forbidden".
        if invoice is None or invoice.tenant_id != tenant_id or invoice.status == "draft":
            raise AppError(RESOURCE_NOT_FOUND)
        return invoice

    async def lines_of(self, session: AsyncSession, invoice_id: uuid.UUID) -> list[InvoiceLine]:
        return await InvoiceLineRepository(session).of_invoice(invoice_id)

    async def invoices_of(self, session: AsyncSession, tenant_id: uuid.UUID) -> list[Invoice]:
        return await InvoiceRepository(session).of_tenant(tenant_id)

    async def list_plans(self, session: AsyncSession) -> list[Plan]:
        return await self.plans.stored(session)

    async def invoice_views(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> list[dict[str, Any]]:
        """The tenant's issued invoices with their lines, as the API shows them."""
        views = []
        for invoice in await InvoiceRepository(session).of_tenant(tenant_id):
            lines = await InvoiceLineRepository(session).of_invoice(invoice.id)
            views.append({**invoice_fields(invoice), "lines": lines})
        return views

    async def subscription_of(self, session: AsyncSession, tenant_id: uuid.UUID) -> Subscription:
        subscription = await SubscriptionRepository(session).of_tenant(tenant_id)
        if subscription is None:
            raise AppError(RESOURCE_NOT_FOUND)
        return subscription

    # --- paying ------------------------------------------------------------------------------

    async def pay_link(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        invoice_id: uuid.UUID,
        *,
        customer_email: str,
        customer_name: str = "",
    ) -> PayLink:
        """The provider payment link of an open invoice: the pending attempt's link when there
        is one, else a new payment at the configured provider (recorded as an attempt)."""
        invoice = await self.tenant_invoice(session, tenant_id, invoice_id)
        invoice = await InvoiceRepository(session).get(invoice.id, for_update=True) or invoice
        if invoice.status not in invoice_states.PAYABLE:
            raise AppError(INVOICE_NOT_PAYABLE, params={"status": invoice.status})
        name = self.settings.default_provider
        attempts = PaymentAttemptRepository(session)
        pending = await attempts.latest_pending(invoice.id, name)
        if pending is not None and pending.url:
            return PayLink(invoice.id, name, pending.url, pending.provider_reference or "", None)
        provider = self.providers.get(name)
        try:
            link = await provider.create_payment(
                PaymentRequest(
                    reference=invoice.reference,
                    amount=invoice.total,
                    description=f"Garment.id {invoice.number}",
                    customer_email=customer_email,
                    customer_name=customer_name,
                    expires_at=invoice.due_at,
                )
            )
        except ProviderError as error:
            logger.warning("billing.pay_link_failed", provider=name, error=str(error))
            raise AppError(
                PAYMENT_PROVIDER_UNAVAILABLE,
                params={"retry_after": PROVIDER_RETRY_SECONDS},
                headers={"Retry-After": str(PROVIDER_RETRY_SECONDS)},
            ) from error
        attempts.add(
            PaymentAttempt(
                invoice_id=invoice.id,
                provider=name,
                provider_reference=link.provider_reference,
                amount=invoice.total,
                status=PaymentAttemptStatus.PENDING,
                url=link.url,
            )
        )
        invoice.provider = name
        invoice.provider_reference = link.provider_reference
        invoice.payment_url = link.url
        await session.flush()
        return PayLink(invoice.id, name, link.url, link.provider_reference, link.expires_at)

    async def apply_event(
        self, session: AsyncSession, event: PaymentEvent, *, now: datetime | None = None
    ) -> PaymentOutcome:
        """Apply a verified, mapped provider event. The invoice row is locked first, so of many
        concurrent successes exactly one pays it; events never move state backwards."""
        now = now or utcnow()
        invoice = await self.invoice_of(session, event.reference, for_update=True)
        if invoice is None:
            return PaymentOutcome(False, "unknown_invoice")
        kind = event.kind
        if kind is PaymentEventKind.SUCCEEDED:
            return await self.mark_paid(
                session,
                invoice,
                provider=event.provider,
                amount=event.amount,
                paid_at=event.occurred_at or now,
                now=now,
            )
        if invoice.status == InvoiceStatus.PAID:
            if kind is PaymentEventKind.REFUNDED:
                await self._record_attempt(
                    session, invoice, event.provider, PaymentAttemptStatus.REFUNDED
                )
                return PaymentOutcome(True, "refund_recorded")
            return PaymentOutcome(False, f"late_{kind.value.split('.')[-1]}_after_paid")
        if kind is PaymentEventKind.PENDING:
            return PaymentOutcome(False, "pending_no_change")
        if kind in (PaymentEventKind.FAILED, PaymentEventKind.EXPIRED):
            if invoice.status not in invoice_states.PAYABLE:
                return PaymentOutcome(False, f"invoice_{invoice.status}")
            status = (
                PaymentAttemptStatus.FAILED
                if kind is PaymentEventKind.FAILED
                else PaymentAttemptStatus.EXPIRED
            )
            await self._record_attempt(session, invoice, event.provider, status)
            # The link is spent: the next pay request creates a new payment.
            invoice.payment_url = None
            await publish(
                session,
                PaymentFailed(
                    invoice_id=invoice.id, tenant_id=invoice.tenant_id, reason=status.value
                ),
            )
            return PaymentOutcome(True, f"payment_{status.value}")
        return PaymentOutcome(False, f"no_change_{kind.value}")

    async def _record_attempt(
        self,
        session: AsyncSession,
        invoice: Invoice,
        provider: str,
        status: PaymentAttemptStatus,
    ) -> None:
        attempts = PaymentAttemptRepository(session)
        pending = await attempts.latest_pending(invoice.id, provider)
        if pending is not None:
            pending.status = status
            return
        attempts.add(
            PaymentAttempt(
                invoice_id=invoice.id,
                provider=provider,
                provider_reference=invoice.provider_reference,
                amount=invoice.total,
                status=status,
            )
        )

    async def mark_paid(
        self,
        session: AsyncSession,
        invoice: Invoice,
        *,
        provider: str,
        amount: int | None,
        paid_at: datetime,
        now: datetime,
    ) -> PaymentOutcome:
        """Open (or uncollectible) → paid, at most once: the caller holds the invoice's row
        lock, and a paid invoice answers `already_paid` whatever arrives after."""
        if invoice.status == InvoiceStatus.PAID:
            return PaymentOutcome(False, "already_paid")
        if invoice.status not in invoice_states.PAYABLE:
            return PaymentOutcome(False, f"invoice_{invoice.status}")
        if amount is not None and amount != invoice.total:
            return PaymentOutcome(False, f"amount_mismatch:{amount}!={invoice.total}")
        invoice.status = invoice_states.transition(invoice.status, InvoiceStatus.PAID)
        invoice.paid_at = paid_at
        invoice.paid_amount = invoice.total if amount is None else amount
        invoice.provider = invoice.provider or provider
        await self._record_attempt(session, invoice, provider, PaymentAttemptStatus.SUCCEEDED)
        await publish(session, InvoicePaid(invoice_id=invoice.id, tenant_id=invoice.tenant_id))
        await self._activate(session, invoice, now)
        return PaymentOutcome(True, "paid")

    async def _activate(self, session: AsyncSession, invoice: Invoice, now: datetime) -> None:
        subscription = await SubscriptionRepository(session).get(
            invoice.subscription_id, for_update=True
        )
        if subscription is None:
            return
        current = SubscriptionStatus(subscription.status)
        if current in subscription_states.ENDED:
            return  # a late payment of a cancelled subscription settles the invoice only
        if await InvoiceRepository(session).unpaid_of_subscription(subscription.id):
            return  # still owes another invoice: stays where it is
        first = current is SubscriptionStatus.INCOMPLETE
        resumed = current is SubscriptionStatus.SUSPENDED
        if current is not SubscriptionStatus.ACTIVE:
            subscription.status = subscription_states.transition(
                subscription.status, SubscriptionStatus.ACTIVE
            )
        subscription.past_due_since = None
        subscription.suspended_at = None
        if first:
            # The first period starts when it is paid, not when the tenant registered.
            subscription.current_period_start = now
            subscription.current_period_end = period_end(now, subscription.billing_interval)
        if first or resumed or current is not SubscriptionStatus.ACTIVE:
            await publish(
                session,
                SubscriptionActivated(
                    tenant_id=subscription.tenant_id,
                    subscription_id=subscription.id,
                    first=first,
                    resumed=resumed,
                ),
            )

    # --- renewals ----------------------------------------------------------------------------

    async def renew_due(self, session: AsyncSession, *, now: datetime | None = None) -> list[str]:
        """Every subscription whose period (or trial) ended: cancelled when it was cancelled at
        period end, else moved to its next period (a pending downgrade applies now) with a
        renewal invoice issued. Returns what was done, one line each."""
        now = now or utcnow()
        done = []
        for candidate in await SubscriptionRepository(session).period_ended(now):
            subscription = await SubscriptionRepository(session).get(candidate.id, for_update=True)
            if subscription is None or subscription.current_period_end > now:
                continue
            done.append(await self._renew(session, subscription, now))
        return done

    async def _renew(self, session: AsyncSession, subscription: Subscription, now: datetime) -> str:
        if subscription.cancel_at_period_end:
            await end_subscription(
                session, subscription, SubscriptionStatus.CANCELLED, "cancelled_at_period_end", now
            )
            return f"{subscription.tenant_id}: cancelled at period end"
        if subscription.pending_plan_code:
            subscription.plan_code = subscription.pending_plan_code
            subscription.pending_plan_code = None
            await publish(
                session,
                PlanChanged(
                    tenant_id=subscription.tenant_id,
                    plan_code=subscription.plan_code,
                    billing_interval=subscription.billing_interval,
                ),
            )
        start = subscription.current_period_end
        end = period_end(start, subscription.billing_interval)
        if await InvoiceRepository(session).for_period(subscription.id, start) is None:
            invoice = await self.draft_invoice(
                session, subscription, kind="renewal", start=start, end=end, now=now
            )
            await self.issue(session, invoice, now=now)
        subscription.current_period_start = start
        subscription.current_period_end = end
        return f"{subscription.tenant_id}: renewal invoice for {start:%Y-%m-%d}"

    # --- plan changes and cancellation -------------------------------------------------------

    async def change_plan(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        plan_code: str,
        *,
        now: datetime | None = None,
    ) -> Subscription:
        """Upgrade now (the unused part of the period is credited on the next invoice and the
        new plan's share charged there); downgrade at period end. Refused with
        PLAN_LIMIT_REACHED when current usage exceeds the target plan's limits."""
        now = now or utcnow()
        target = self.plan(plan_code)
        subscription = await SubscriptionRepository(session).of_tenant(tenant_id, for_update=True)
        if subscription is None:
            raise AppError(RESOURCE_NOT_FOUND)
        status = SubscriptionStatus(subscription.status)
        if status not in (
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.INCOMPLETE,
        ):
            raise AppError(SUBSCRIPTION_NOT_CHANGEABLE, params={"status": status.value})
        if target.code == subscription.plan_code:
            if subscription.pending_plan_code:  # undo a scheduled downgrade
                subscription.pending_plan_code = None
                return subscription
            raise AppError(PLAN_UNCHANGED)
        await self._check_usage(session, tenant_id, target)
        current = self.plan(subscription.plan_code)
        interval = subscription.billing_interval
        old_price = self.plans.price(current.code, interval)
        new_price = self.plans.price(target.code, interval)
        if new_price < old_price and status is not SubscriptionStatus.INCOMPLETE:
            subscription.pending_plan_code = target.code  # downgrade: at period end
            return subscription
        subscription.pending_plan_code = None
        if status is SubscriptionStatus.ACTIVE:
            whole = subscription.current_period_end - subscription.current_period_start
            remaining = subscription.current_period_end - now
            adjustments = list(subscription.pending_adjustments or [])
            adjustments.append(
                {
                    "description": f"{target.name}: prorated {now:%Y-%m-%d} - "
                    f"{subscription.current_period_end:%Y-%m-%d}",
                    "amount": prorate(new_price, remaining, whole),
                }
            )
            adjustments.append(
                {
                    "description": f"Credit: unused {current.name} {now:%Y-%m-%d} - "
                    f"{subscription.current_period_end:%Y-%m-%d}",
                    "amount": -prorate(old_price, remaining, whole),
                }
            )
            subscription.pending_adjustments = adjustments
        subscription.plan_code = target.code
        if status is SubscriptionStatus.INCOMPLETE:
            # Nothing paid yet: the open first invoice is replaced by one for the new plan.
            for invoice in await InvoiceRepository(session).unpaid_of_subscription(subscription.id):
                locked = await InvoiceRepository(session).get(invoice.id, for_update=True)
                if locked is not None and locked.status == InvoiceStatus.OPEN:
                    await self.void(session, locked, now)
            await session.flush()
            invoice = await self.draft_invoice(
                session,
                subscription,
                kind="first",
                start=subscription.current_period_start,
                end=subscription.current_period_end,
                now=now,
            )
            await self.issue(session, invoice, now=now)
        await publish(
            session,
            PlanChanged(tenant_id=tenant_id, plan_code=target.code, billing_interval=interval),
        )
        return subscription

    async def _check_usage(self, session: AsyncSession, tenant_id: uuid.UUID, plan: Plan) -> None:
        usage = await self.usage_of(session, tenant_id)
        for name, used in usage.items():
            maximum = plan.limits.get(name)
            if maximum is not None and used > int(maximum):
                details: dict[str, Any] = {"limit": name, "usage": used, "maximum": maximum}
                raise AppError(PLAN_LIMIT_REACHED, params=details, extra=details)

    async def usage_of(self, session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, int]:
        """Current usage per plan limit. Products and orders do not exist yet: 0."""
        return {
            "max_members": await self.usage.count_members(session, tenant_id),
            "max_products": 0,
            "max_orders_per_month": 0,
        }

    async def cancel(
        self, session: AsyncSession, tenant_id: uuid.UUID, *, now: datetime | None = None
    ) -> Subscription:
        """Cancel at period end (`cancel_at_period_end`); a subscription never paid for
        (`incomplete`) expires now and its open invoice is voided."""
        now = now or utcnow()
        subscription = await SubscriptionRepository(session).of_tenant(tenant_id, for_update=True)
        if subscription is None:
            raise AppError(RESOURCE_NOT_FOUND)
        status = SubscriptionStatus(subscription.status)
        if status is SubscriptionStatus.INCOMPLETE:
            # Its tenant waited for the first payment (`pending`, never provisioned): it closes.
            await end_subscription(
                session,
                subscription,
                SubscriptionStatus.EXPIRED,
                subscription_states.NEVER_PAID_CANCELLED,
                now,
            )
            for invoice in await InvoiceRepository(session).unpaid_of_subscription(subscription.id):
                locked = await InvoiceRepository(session).get(invoice.id, for_update=True)
                if locked is not None and locked.status == InvoiceStatus.OPEN:
                    await self.void(session, locked, now)
            return subscription
        if status in subscription_states.ENDED:
            raise AppError(SUBSCRIPTION_NOT_CHANGEABLE, params={"status": status.value})
        subscription.cancel_at_period_end = True
        return subscription
