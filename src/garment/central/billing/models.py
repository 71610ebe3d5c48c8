"""Billing tables (central database): plans, subscriptions, invoices and their lines and
numbering, payment attempts, webhook receipts (the forensic record) and the dunning log.

Billing records refer to tenants by id without a foreign key: an invoice is a financial record
that outlives a purged tenant, and billing never writes tenancy's tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from garment.central.billing.invoice_states import (
    DunningAction,
    InvoiceStatus,
    PaymentAttemptStatus,
    ReceiptSource,
    ReceiptStatus,
)
from garment.central.billing.subscription_states import SubscriptionStatus
from garment.platform.db import CentralBase, TimestampMixin, check_in, new_id


class Plan(TimestampMixin, CentralBase):
    __tablename__ = "billing_plans"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    monthly_price: Mapped[int] = mapped_column(BigInteger)  # integer rupiah, before PPN
    yearly_price: Mapped[int] = mapped_column(BigInteger)
    trial_days: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    limits: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    features: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"), default=True)


class Subscription(TimestampMixin, CentralBase):
    __tablename__ = "billing_subscriptions"
    __table_args__ = (
        CheckConstraint(check_in("status", SubscriptionStatus), name="status"),
        CheckConstraint("billing_interval IN ('monthly', 'yearly')", name="billing_interval"),
        Index("ix_billing_subscriptions_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    plan_code: Mapped[str] = mapped_column(String(32), ForeignKey("billing_plans.code"))
    billing_interval: Mapped[str] = mapped_column(String(16), server_default=text("'monthly'"))
    status: Mapped[str] = mapped_column(String(16))
    trial_end: Mapped[datetime | None]
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    cancel_at_period_end: Mapped[bool] = mapped_column(
        Boolean, server_default=text("false"), default=False
    )
    pending_plan_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("billing_plans.code")
    )
    # Lines the next invoice carries (upgrade proration): [{"description", "amount"}].
    pending_adjustments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"), default=list
    )
    past_due_since: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class InvoiceCounter(CentralBase):
    """One row per month: the last number issued. Locked FOR UPDATE by the issuing transaction,
    so numbers have no gaps (a sequence would leave one on every rollback)."""

    __tablename__ = "billing_invoice_counters"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026/11"
    last_number: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Invoice(TimestampMixin, CentralBase):
    __tablename__ = "billing_invoices"
    __table_args__ = (
        CheckConstraint(check_in("status", InvoiceStatus), name="status"),
        CheckConstraint("status = 'draft' OR number IS NOT NULL", name="issued_has_number"),
        Index("ix_billing_invoices_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_billing_invoices_status_due_at", "status", "due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("billing_subscriptions.id")
    )
    kind: Mapped[str] = mapped_column(String(16))  # first, renewal
    status: Mapped[str] = mapped_column(String(16), server_default=text("'draft'"))
    plan_code: Mapped[str] = mapped_column(String(32))
    billing_interval: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    subtotal: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    tax_base: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    tax_rate: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tax: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    total: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    issued_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    payment_url: Mapped[str | None] = mapped_column(Text)
    paid_amount: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def reference(self) -> str:
        """Our id of the invoice as sent to providers (stable: the row id)."""
        return str(self.id)


class InvoiceLine(CentralBase):
    __tablename__ = "billing_invoice_lines"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("billing_invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # plan, proration
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)  # negative for a credit


class PaymentAttempt(TimestampMixin, CentralBase):
    __tablename__ = "billing_payment_attempts"
    __table_args__ = (CheckConstraint(check_in("status", PaymentAttemptStatus), name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("billing_invoices.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class WebhookReceipt(CentralBase):
    """Every delivery, kept before anything else happens — forged ones included."""

    __tablename__ = "billing_webhook_receipts"
    __table_args__ = (
        CheckConstraint(check_in("status", ReceiptStatus), name="status"),
        CheckConstraint(check_in("source", ReceiptSource), name="source"),
        Index("ix_billing_webhook_receipts_received_at", "received_at"),
        Index("ix_billing_webhook_receipts_status", "status", "received_at"),
        Index("ix_billing_webhook_receipts_provider_event", "provider", "provider_event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), server_default=text("'webhook'"))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    size: Mapped[int] = mapped_column(BigInteger)
    truncated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    verification_reason: Mapped[str | None] = mapped_column(String(64))
    provider_event_id: Mapped[str | None] = mapped_column(String(200))
    event_kind: Mapped[str | None] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'received'"))
    outcome: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    processing_started_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]


class WebhookEvent(CentralBase):
    """The dedupe key: one row per (provider, provider event id), naming the receipt that
    carried it first. Inserted in the transaction that marks that receipt verified."""

    __tablename__ = "billing_webhook_events"
    __table_args__ = (UniqueConstraint("provider", "provider_event_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(64))
    provider_event_id: Mapped[str] = mapped_column(String(200))
    receipt_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_webhook_receipts.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DunningEntry(CentralBase):
    """One dunning action on one invoice. `step` is unique per invoice (`reminder:3`,
    `suspend`), which is what makes a second run in the same hour do nothing twice."""

    __tablename__ = "billing_dunning_log"
    __table_args__ = (
        CheckConstraint(check_in("action", DunningAction), name="action"),
        UniqueConstraint("invoice_id", "step"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("billing_invoices.id", ondelete="CASCADE")
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    action: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
