"""Central billing: plans (seeded), subscriptions, invoices with gap-free monthly numbering,
invoice lines, payment attempts, webhook receipts (the forensic record) with their dedupe keys,
and the dunning log.

Revision ID: 0008_billing
Revises: 0007_signing_key_activation
Create Date: 2026-12-01
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_billing"
down_revision: str | None = "0007_signing_key_activation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The catalogue as it was when billing began (central/billing/catalogue.py holds the same
# values; `garment billing seed-plans` writes that module's values again).
PLANS = [
    {
        "code": "starter",
        "name": "Starter",
        "monthly_price": 149_000,
        "yearly_price": 1_490_000,
        "trial_days": 14,
        "position": 1,
        "limits": {"max_members": 3, "max_products": 100, "max_orders_per_month": 300},
        "features": {"custom_roles": False, "audit_log_days": 30},
    },
    {
        "code": "growth",
        "name": "Growth",
        "monthly_price": 449_000,
        "yearly_price": 4_490_000,
        "trial_days": 14,
        "position": 2,
        "limits": {"max_members": 15, "max_products": 2_000, "max_orders_per_month": 5_000},
        "features": {"custom_roles": True, "audit_log_days": 180},
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "monthly_price": 1_490_000,
        "yearly_price": 14_900_000,
        "trial_days": 0,
        "position": 3,
        "limits": {"max_members": 200, "max_products": 100_000, "max_orders_per_month": 100_000},
        "features": {"custom_roles": True, "audit_log_days": 730},
    },
]


def upgrade() -> None:
    op.create_table(
        "billing_invoice_counters",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("last_number", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_billing_invoice_counters")),
    )
    op.create_table(
        "billing_plans",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("monthly_price", sa.BigInteger(), nullable=False),
        sa.Column("yearly_price", sa.BigInteger(), nullable=False),
        sa.Column("trial_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "limits",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "features",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_billing_plans")),
    )
    op.create_table(
        "billing_webhook_receipts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column(
            "source", sa.String(length=16), server_default=sa.text("'webhook'"), nullable=False
        ),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("truncated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("verification_reason", sa.String(length=64), nullable=True),
        sa.Column("provider_event_id", sa.String(length=200), nullable=True),
        sa.Column("event_kind", sa.String(length=32), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("duplicate_of", sa.BigInteger(), nullable=True),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'received'"), nullable=False
        ),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("processing_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source IN ('webhook', 'reconciliation')",
            name=op.f("ck_billing_webhook_receipts_source"),
        ),
        sa.CheckConstraint(
            "status IN ('received', 'rejected', 'verified', 'duplicate', 'processing', 'processed', 'ignored', 'failed')",
            name=op.f("ck_billing_webhook_receipts_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_webhook_receipts")),
    )
    op.create_index(
        "ix_billing_webhook_receipts_provider_event",
        "billing_webhook_receipts",
        ["provider", "provider_event_id"],
        unique=False,
    )
    op.create_index(
        "ix_billing_webhook_receipts_received_at",
        "billing_webhook_receipts",
        ["received_at"],
        unique=False,
    )
    op.create_index(
        "ix_billing_webhook_receipts_status",
        "billing_webhook_receipts",
        ["status", "received_at"],
        unique=False,
    )
    op.create_table(
        "billing_subscriptions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column(
            "billing_interval",
            sa.String(length=16),
            server_default=sa.text("'monthly'"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trial_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "cancel_at_period_end", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("pending_plan_code", sa.String(length=32), nullable=True),
        sa.Column(
            "pending_adjustments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("past_due_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "billing_interval IN ('monthly', 'yearly')",
            name=op.f("ck_billing_subscriptions_billing_interval"),
        ),
        sa.CheckConstraint(
            "status IN ('incomplete', 'trialing', 'active', 'past_due', 'suspended', 'cancelled', 'expired')",
            name=op.f("ck_billing_subscriptions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["pending_plan_code"],
            ["billing_plans.code"],
            name=op.f("fk_billing_subscriptions_pending_plan_code_billing_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_code"],
            ["billing_plans.code"],
            name=op.f("fk_billing_subscriptions_plan_code_billing_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_subscriptions")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_billing_subscriptions_tenant_id")),
    )
    op.create_index(
        "ix_billing_subscriptions_status", "billing_subscriptions", ["status"], unique=False
    )
    op.create_table(
        "billing_webhook_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("provider_event_id", sa.String(length=200), nullable=False),
        sa.Column("receipt_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["billing_webhook_receipts.id"],
            name=op.f("fk_billing_webhook_events_receipt_id_billing_webhook_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_webhook_events")),
        sa.UniqueConstraint(
            "provider",
            "provider_event_id",
            name=op.f("uq_billing_webhook_events_provider_provider_event_id"),
        ),
    )
    op.create_table(
        "billing_invoices",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'draft'"), nullable=False
        ),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("billing_interval", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("tax_base", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("tax_rate", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("tax", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_reference", sa.String(length=200), nullable=True),
        sa.Column("payment_url", sa.Text(), nullable=True),
        sa.Column("paid_amount", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status = 'draft' OR number IS NOT NULL",
            name=op.f("ck_billing_invoices_issued_has_number"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'paid', 'void', 'uncollectible')",
            name=op.f("ck_billing_invoices_status"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["billing_subscriptions.id"],
            name=op.f("fk_billing_invoices_subscription_id_billing_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_billing_invoices_number")),
    )
    op.create_index(
        "ix_billing_invoices_status_due_at", "billing_invoices", ["status", "due_at"], unique=False
    )
    op.create_index(
        "ix_billing_invoices_tenant_id_created_at",
        "billing_invoices",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "billing_dunning_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "action IN ('past_due', 'reminder', 'retry_charge', 'suspend', 'cancel')",
            name=op.f("ck_billing_dunning_log_action"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["billing_invoices.id"],
            name=op.f("fk_billing_dunning_log_invoice_id_billing_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_dunning_log")),
        sa.UniqueConstraint(
            "invoice_id", "step", name=op.f("uq_billing_dunning_log_invoice_id_step")
        ),
    )
    op.create_index(
        op.f("ix_billing_dunning_log_tenant_id"), "billing_dunning_log", ["tenant_id"], unique=False
    )
    op.create_table(
        "billing_invoice_lines",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["billing_invoices.id"],
            name=op.f("fk_billing_invoice_lines_invoice_id_billing_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoice_lines")),
    )
    op.create_index(
        op.f("ix_billing_invoice_lines_invoice_id"),
        "billing_invoice_lines",
        ["invoice_id"],
        unique=False,
    )
    op.create_table(
        "billing_payment_attempts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_reference", sa.String(length=200), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'expired', 'refunded')",
            name=op.f("ck_billing_payment_attempts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["billing_invoices.id"],
            name=op.f("fk_billing_payment_attempts_invoice_id_billing_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_payment_attempts")),
    )
    op.create_index(
        op.f("ix_billing_payment_attempts_invoice_id"),
        "billing_payment_attempts",
        ["invoice_id"],
        unique=False,
    )

    for plan in PLANS:
        op.execute(
            sa.text(
                "INSERT INTO billing_plans (code, name, monthly_price, yearly_price, trial_days, "
                "position, limits, features) VALUES (:code, :name, :monthly_price, "
                ":yearly_price, :trial_days, :position, CAST(:limits AS jsonb), "
                "CAST(:features AS jsonb)) ON CONFLICT (code) DO NOTHING"
            ).bindparams(
                **{
                    **plan,
                    "limits": json.dumps(plan["limits"]),
                    "features": json.dumps(plan["features"]),
                }
            )
        )


def downgrade() -> None:
    for table in (
        "billing_dunning_log",
        "billing_webhook_events",
        "billing_webhook_receipts",
        "billing_payment_attempts",
        "billing_invoice_lines",
        "billing_invoices",
        "billing_invoice_counters",
        "billing_subscriptions",
        "billing_plans",
    ):
        op.drop_table(table)
