"""Central billing as other contexts and the composition root see it: the plan catalogue
(plan codes and entitlements, from stored plans through an in-process copy), the billing
service (subscriptions, invoices, payments), the webhook ingress and its forensic record, and
dunning."""

from __future__ import annotations

from garment.central.billing.dunning import DunningService
from garment.central.billing.ingress import BillingWebhookForensicService, ReceiptRecord
from garment.central.billing.plans import PlanCatalogue
from garment.central.billing.subscriptions import BillingService, PaymentOutcome, PayLink

__all__ = [
    "BillingService",
    "BillingWebhookForensicService",
    "DunningService",
    "PayLink",
    "PaymentOutcome",
    "PlanCatalogue",
    "ReceiptRecord",
]
