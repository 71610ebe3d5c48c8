"""The monthly billing report (`garment billing report --month YYYY-MM`): invoices issued,
paid and outstanding with their sums, MRR, subscriptions by state, receivables ageing and
churned tenants, all as of the month's end (UTC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from garment.central.billing.invoice_states import InvoiceStatus
from garment.central.billing.plans import PlanCatalogue
from garment.central.billing.repository import InvoiceRepository, SubscriptionRepository
from garment.central.billing.subscription_states import SubscriptionStatus
from garment.platform.db import Database
from garment.platform.errors import CommandError

AGEING_BUCKETS = ("0-30", "31-60", "61-90", "90+")
# Subscriptions that pay every month at the month's end (MRR counts them).
PAYING = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED}
)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=UTC)
    except ValueError as error:
        raise CommandError(f"--month must be YYYY-MM, not {month!r}") from error
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def bucket(days: int) -> str:
    if days <= 30:
        return "0-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"


@dataclass(slots=True)
class MonthReport:
    month: str
    issued_count: int = 0
    issued_total: int = 0
    paid_count: int = 0
    paid_total: int = 0
    outstanding_count: int = 0
    outstanding_total: int = 0
    tax_issued: int = 0
    mrr: int = 0
    subscriptions: dict[str, int] = field(default_factory=dict)
    ageing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGEING_BUCKETS, 0))
    churned: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "invoices": {
                "issued": {"count": self.issued_count, "total": self.issued_total},
                "paid": {"count": self.paid_count, "total": self.paid_total},
                "outstanding": {"count": self.outstanding_count, "total": self.outstanding_total},
                "tax_issued": self.tax_issued,
            },
            "mrr": self.mrr,
            "subscriptions_by_state": self.subscriptions,
            "receivables_ageing": self.ageing,
            "churned_tenants": self.churned,
        }

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("invoices issued", f"{self.issued_count} / {self.issued_total}"),
            ("invoices paid", f"{self.paid_count} / {self.paid_total}"),
            ("outstanding at month end", f"{self.outstanding_count} / {self.outstanding_total}"),
            ("PPN issued", str(self.tax_issued)),
            ("MRR", str(self.mrr)),
        ]
        rows += [(f"subscriptions {state}", str(n)) for state, n in self.subscriptions.items()]
        rows += [(f"receivables {name} days", str(total)) for name, total in self.ageing.items()]
        rows.append(("churned tenants", ", ".join(self.churned) or "-"))
        return rows


class BillingReport:
    def __init__(self, *, central: Database, plans: PlanCatalogue) -> None:
        self.central = central
        self.plans = plans

    async def month(self, month: str) -> MonthReport:
        start, end = month_bounds(month)
        report = MonthReport(month)
        async with self.central.transaction() as session:
            invoices = InvoiceRepository(session)
            for invoice in await invoices.issued_between(start, end):
                report.issued_count += 1
                report.issued_total += invoice.total
                report.tax_issued += invoice.tax
            for invoice in await invoices.paid_between(start, end):
                report.paid_count += 1
                report.paid_total += invoice.total
            for invoice in await invoices.outstanding_at(end):
                if invoice.status == InvoiceStatus.VOID:
                    continue
                report.outstanding_count += 1
                report.outstanding_total += invoice.total
                due = invoice.due_at or invoice.issued_at or end
                report.ageing[bucket(max(0, (end - due).days))] += invoice.total
            subscriptions = await SubscriptionRepository(session).listed()
        counts: dict[str, int] = {}
        for subscription in subscriptions:
            if subscription.created_at >= end:
                continue
            status = SubscriptionStatus(subscription.status)
            ended = subscription.cancelled_at
            if ended is not None and start <= ended < end:
                report.churned.append(str(subscription.tenant_id))
            if ended is not None and ended < start:
                continue
            counts[status.value] = counts.get(status.value, 0) + 1
            if status in PAYING and self.plans.exists(subscription.plan_code):
                price = self.plans.price(subscription.plan_code, subscription.billing_interval)
                report.mrr += price // 12 if subscription.billing_interval == "yearly" else price
        report.subscriptions = dict(sorted(counts.items()))
        report.churned.sort()
        return report
