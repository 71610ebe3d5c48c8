"""Invoicing: the tenant's tax settings, customer invoices (DP and final, per order) with their
lines and the order payments applied to them. Every table leads its keys with `tenant_id` and
sits behind the tenant policy.

Revision ID: 0009_invoicing
Revises: 0008_taxonomy_versions
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from garment.platform.rls import enable_tenant_rls

revision: str = "0009_invoicing"
down_revision: str | None = "0008_taxonomy_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Children after parents (creation order).
TABLES = ("tax_settings", "invoices", "invoice_lines", "invoice_payments")


def _timestamps() -> list[sa.Column[Any]]:
    return [
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
    ]


def upgrade() -> None:
    op.create_table(
        "tax_settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("npwp", sa.String(length=16), nullable=True),
        sa.Column("nitku", sa.String(length=22), nullable=True),
        sa.Column("ppn_rate", sa.Integer(), server_default=sa.text("12"), nullable=False),
        sa.Column("base_numerator", sa.Integer(), server_default=sa.text("11"), nullable=False),
        sa.Column("base_denominator", sa.Integer(), server_default=sa.text("12"), nullable=False),
        sa.Column("seller_address", sa.String(length=500), nullable=True),
        sa.Column(
            "unit_code", sa.String(length=16), server_default=sa.text("'UM.0018'"), nullable=False
        ),
        sa.Column(
            "goods_code", sa.String(length=6), server_default=sa.text("'000000'"), nullable=False
        ),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("ppn_rate BETWEEN 0 AND 100", name=op.f("ck_tax_settings_ppn_rate")),
        sa.CheckConstraint(
            "base_numerator >= 1 AND base_denominator >= 1 AND base_numerator <= base_denominator",
            name=op.f("ck_tax_settings_base_ratio"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tax_settings")),
    )
    op.create_table(
        "invoices",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("replaces_id", sa.UUID(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("pkp", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("ppn_rate", sa.Integer(), nullable=False),
        sa.Column("base_numerator", sa.Integer(), nullable=False),
        sa.Column("base_denominator", sa.Integer(), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("deduction", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("deducted_ppn", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("down_payment_invoice_id", sa.UUID(), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("other_tax_base", sa.BigInteger(), nullable=False),
        sa.Column("ppn", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("notes", sa.String(length=2000), nullable=True),
        sa.Column("coretax_exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nsfp", sa.String(length=17), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("kind IN ('down_payment', 'final')", name=op.f("ck_invoices_kind")),
        sa.CheckConstraint(
            "status IN ('draft', 'issued', 'partially_paid', 'paid', 'void', 'replaced')",
            name=op.f("ck_invoices_status"),
        ),
        sa.CheckConstraint(
            "subtotal >= 0 AND discount >= 0 AND deduction >= 0 AND price >= 0 "
            "AND other_tax_base >= 0 AND ppn >= 0 AND total >= 0 AND paid_amount >= 0 "
            "AND paid_amount <= total",
            name=op.f("ck_invoices_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "replaces_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_invoices_tenant_id_replaces",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_invoices_tenant_id_number")),
        sa.UniqueConstraint("tenant_id", "nsfp", name=op.f("uq_invoices_tenant_id_nsfp")),
    )
    op.create_index(
        "uq_invoices_tenant_id_order_id_kind",
        "invoices",
        ["tenant_id", "order_id", "kind"],
        unique=True,
        postgresql_where=sa.text("status IN ('draft', 'issued', 'partially_paid', 'paid')"),
    )
    op.create_index(
        "ix_invoices_tenant_id_created_at", "invoices", ["tenant_id", "created_at", "id"]
    )
    op.create_index(
        "ix_invoices_tenant_id_customer_id", "invoices", ["tenant_id", "customer_id", "due_date"]
    )
    op.create_index("ix_invoices_tenant_id_issue_date", "invoices", ["tenant_id", "issue_date"])
    op.create_table(
        "invoice_lines",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("opt", sa.String(length=1), nullable=False),
        sa.Column("goods_code", sa.String(length=6), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("opt IN ('A', 'B')", name=op.f("ck_invoice_lines_opt")),
        sa.CheckConstraint(
            "qty > 0 AND unit_price >= 0 AND amount >= 0", name=op.f("ck_invoice_lines_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_invoice_lines_tenant_id_invoices",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invoice_lines")),
    )
    op.create_index(
        "ix_invoice_lines_tenant_id_invoice_id",
        "invoice_lines",
        ["tenant_id", "invoice_id", "position"],
    )
    op.create_table(
        "invoice_payments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("order_payment_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_invoice_payments_amount")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_invoice_payments_tenant_id_invoices",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_invoice_payments")),
    )
    op.create_index(
        "ix_invoice_payments_tenant_id_invoice_id", "invoice_payments", ["tenant_id", "invoice_id"]
    )
    op.create_index(
        "ix_invoice_payments_tenant_id_order_payment_id",
        "invoice_payments",
        ["tenant_id", "order_payment_id"],
    )
    for table in TABLES:
        for statement in enable_tenant_rls(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
