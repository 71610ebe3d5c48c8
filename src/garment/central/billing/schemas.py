"""The HTTP contract of billing: plans, subscriptions, invoices, payment links, webhook
acknowledgements and the forensic record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from garment.central.billing.invoice_states import InvoiceStatus, ReceiptStatus
from garment.central.billing.subscription_states import SubscriptionStatus
from garment.platform.contract import RequestBody, rule


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    monthly_price: int = Field(description="Integer rupiah per month, before PPN.")
    yearly_price: int = Field(description="Integer rupiah per year, before PPN.")
    trial_days: int
    limits: dict[str, int]
    features: dict[str, Any]


class PlanList(BaseModel):
    data: list[PlanOut]


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    tenant_id: uuid.UUID
    plan_code: str
    billing_interval: str
    status: SubscriptionStatus
    trial_end: datetime | None
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    pending_plan_code: str | None = Field(
        description="A downgrade that takes effect at the end of the current period."
    )


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int = Field(description="Integer rupiah; negative for a credit.")


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    number: str | None = Field(description="`INV/2026/11/000123`; drafts have none.")
    status: InvoiceStatus
    kind: str
    plan_code: str
    period_start: datetime
    period_end: datetime
    subtotal: int = Field(description="Integer rupiah before PPN.")
    tax_base: int = Field(description="The PPN base (the price times the base ratio).")
    tax_rate: int = Field(description="The statutory PPN rate in percent.")
    tax: int = Field(description="PPN, rounded down to whole rupiah.")
    total: int
    issued_at: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    lines: list[InvoiceLineOut] = Field(default_factory=list)


class InvoiceList(BaseModel):
    data: list[InvoiceOut]


class PayLinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    invoice_id: uuid.UUID
    provider: str
    url: str
    provider_reference: str
    expires_at: datetime | None


class ChangePlanRequest(RequestBody):
    plan_code: str = Field(
        min_length=1,
        max_length=32,
        description="The plan to move to: an upgrade applies now, a downgrade at period end.",
        json_schema_extra=rule("plan_code"),
    )


class WebhookAck(BaseModel):
    receipt_id: int
    status: ReceiptStatus


class ReceiptSummary(BaseModel):
    id: int
    provider: str
    source: str
    received_at: datetime
    remote_addr: str | None
    size: int
    status: ReceiptStatus
    verified: bool | None
    verification_reason: str | None
    provider_event_id: str | None
    event_kind: str | None
    reference: str | None
    outcome: str | None
    attempts: int


class ReceiptDetail(ReceiptSummary):
    truncated: bool
    headers: dict[str, str]
    body: str = Field(description="The raw body, pretty-printed when it is JSON.")
    amount: int | None
    duplicate_of: int | None
    error: str | None
    processing_started_at: datetime | None
    processed_at: datetime | None


class ReceiptList(BaseModel):
    data: list[ReceiptSummary]


class ReplayOut(BaseModel):
    receipt_id: int
    status: str
