"""Central billing as other contexts and the composition root see it: the plan catalogue
(plan codes and entitlements, from stored plans through an in-process copy), the billing
service (subscriptions, invoices, payments), the webhook ingress and its forensic record, and
dunning."""

from __future__ import annotations

from garment.central.billing.dunning import DunningService
from garment.central.billing.ingress import BillingWebhookForensicService, ReceiptRecord
from garment.central.billing.plans import PlanCatalogue
from garment.central.billing.reconcile import Mismatch, Reconciler
from garment.central.billing.report import BillingReport, MonthReport
from garment.central.billing.subscriptions import BillingService, PayLink, PaymentOutcome

__all__ = [
    "BillingReport",
    "BillingService",
    "BillingWebhookForensicService",
    "DunningService",
    "Mismatch",
    "MonthReport",
    "PayLink",
    "PaymentOutcome",
    "PlanCatalogue",
    "ReceiptRecord",
    "Reconciler",
]
