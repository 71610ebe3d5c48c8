"""Domain events of billing. Tenancy follows them through billing's listeners, which call the
tenancy service (billing never writes tenancy's tables)."""

from __future__ import annotations

import uuid

from garment.platform.events import DomainEvent, events


@events.event
class InvoiceIssued(DomainEvent):
    event_name = "billing.InvoiceIssued"
    invoice_id: uuid.UUID
    tenant_id: uuid.UUID


@events.event
class InvoicePaid(DomainEvent):
    event_name = "billing.InvoicePaid"
    invoice_id: uuid.UUID
    tenant_id: uuid.UUID


@events.event
class InvoiceReminderDue(DomainEvent):
    event_name = "billing.InvoiceReminderDue"
    invoice_id: uuid.UUID
    tenant_id: uuid.UUID
    days_overdue: int


@events.event
class PaymentFailed(DomainEvent):
    event_name = "billing.PaymentFailed"
    invoice_id: uuid.UUID
    tenant_id: uuid.UUID
    reason: str


@events.event
class SubscriptionActivated(DomainEvent):
    """Active: `first` when the first invoice of a paid plan was paid (provisioning starts),
    `resumed` when it had been suspended (the tenant resumes)."""

    event_name = "billing.SubscriptionActivated"
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    first: bool = False
    resumed: bool = False


@events.event
class SubscriptionSuspended(DomainEvent):
    event_name = "billing.SubscriptionSuspended"
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    invoice_id: uuid.UUID


@events.event
class SubscriptionCancelled(DomainEvent):
    event_name = "billing.SubscriptionCancelled"
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    reason: str


@events.event
class PlanChanged(DomainEvent):
    event_name = "billing.PlanChanged"
    tenant_id: uuid.UUID
    plan_code: str
    billing_interval: str
