"""Sales: orders with a size-breakdown grid per line (`order_line_sizes`: one row per line x
size, the order x size production counts against), names-and-sizes lists, status history,
payments; quotations with revisions; delivery notes per size; the tenant's down payment policy.
Every table leads its keys with `tenant_id` and sits behind the tenant policy.

Revision ID: 0006_sales
Revises: 0005_catalogue
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from garment.platform.rls import enable_tenant_rls

revision: str = "0006_sales"
down_revision: str | None = "0005_catalogue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Children after parents (creation order).
TABLES = (
    "orders",
    "quotations",
    "deliveries",
    "order_lines",
    "order_payments",
    "order_status_history",
    "quotation_revisions",
    "order_line_people",
    "order_line_sizes",
    "delivery_lines",
)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("quotation_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.String(length=2000), nullable=True),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("discount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("tax_base", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("ppn", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("down_payment_due", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
            "status IN ('draft', 'confirmed', 'in_production', 'ready', 'delivered', 'closed', 'cancelled')",
            name=op.f("ck_orders_status"),
        ),
        sa.CheckConstraint(
            "subtotal >= 0 AND discount >= 0 AND tax_base >= 0 AND ppn >= 0 AND total >= 0 AND paid_amount >= 0 AND down_payment_due >= 0",
            name=op.f("ck_orders_amounts"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_orders")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_orders_tenant_id_number")),
    )
    op.create_index(
        "ix_orders_tenant_id_created_at", "orders", ["tenant_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_orders_tenant_id_customer_id",
        "orders",
        ["tenant_id", "customer_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_orders_tenant_id_status", "orders", ["tenant_id", "status", "created_at"], unique=False
    )
    op.create_table(
        "quotations",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_revision", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
            "status IN ('open', 'converted', 'cancelled')", name=op.f("ck_quotations_status")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_quotations")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_quotations_tenant_id_number")),
    )
    op.create_index(
        "ix_quotations_tenant_id_created_at",
        "quotations",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "deliveries",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("notes", sa.String(length=2000), nullable=True),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_deliveries_tenant_id_orders",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_deliveries_tenant_id_number")),
    )
    op.create_index(
        "ix_deliveries_tenant_id_created_at",
        "deliveries",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_deliveries_tenant_id_order_id", "deliveries", ["tenant_id", "order_id"], unique=False
    )
    op.create_table(
        "order_lines",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("color", sa.String(length=32), nullable=False),
        sa.Column("size_breakdown", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("artwork_status", sa.String(length=16), nullable=False),
        sa.Column("artwork_file_ref", sa.String(length=500), nullable=True),
        sa.Column("artwork_note", sa.String(length=500), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
            "artwork_status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_order_lines_artwork_status"),
        ),
        sa.CheckConstraint("quantity >= 0 AND amount >= 0", name=op.f("ck_order_lines_amounts")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_order_lines_tenant_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_order_lines")),
    )
    op.create_index(
        "ix_order_lines_tenant_id_order_id",
        "order_lines",
        ["tenant_id", "order_id", "position"],
        unique=False,
    )
    op.create_table(
        "order_payments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("proof_reference", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "method IN ('cash', 'transfer', 'qris', 'ewallet', 'other')",
            name=op.f("ck_order_payments_method"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_order_payments_amount")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_order_payments_tenant_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_order_payments")),
    )
    op.create_index(
        "ix_order_payments_tenant_id_order_id",
        "order_payments",
        ["tenant_id", "order_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "order_status_history",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_order_status_history_tenant_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_order_status_history")),
    )
    op.create_index(
        "ix_order_status_history_tenant_id_order_id",
        "order_status_history",
        ["tenant_id", "order_id", "seq"],
        unique=False,
    )
    op.create_table(
        "quotation_revisions",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("quotation_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.String(length=2000), nullable=True),
        sa.Column("discount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("tax_base", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("ppn", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_quotation_revisions_revision")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "quotation_id"],
            ["quotations.tenant_id", "quotations.id"],
            name="fk_quotation_revisions_tenant_id_quotations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_quotation_revisions")),
        sa.UniqueConstraint(
            "tenant_id",
            "quotation_id",
            "revision",
            name=op.f("uq_quotation_revisions_tenant_id_quotation_id_revision"),
        ),
    )
    op.create_table(
        "order_line_people",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("line_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("size", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["order_lines.tenant_id", "order_lines.id"],
            name="fk_order_line_people_tenant_id_order_lines",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_order_line_people")),
    )
    op.create_index(
        "ix_order_line_people_tenant_id_line_id",
        "order_line_people",
        ["tenant_id", "line_id", "position"],
        unique=False,
    )
    op.create_table(
        "order_line_sizes",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("line_id", sa.UUID(), nullable=False),
        sa.Column("variant_id", sa.UUID(), nullable=False),
        sa.Column("size", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("delivered_qty", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "delivered_qty >= 0 AND delivered_qty <= qty",
            name=op.f("ck_order_line_sizes_delivered_qty"),
        ),
        sa.CheckConstraint("qty > 0", name=op.f("ck_order_line_sizes_qty")),
        sa.CheckConstraint(
            "unit_price >= 0 AND amount >= 0", name=op.f("ck_order_line_sizes_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["order_lines.tenant_id", "order_lines.id"],
            name="fk_order_line_sizes_tenant_id_order_lines",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_order_line_sizes_tenant_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_order_line_sizes")),
        sa.UniqueConstraint(
            "tenant_id", "line_id", "size", name=op.f("uq_order_line_sizes_tenant_id_line_id_size")
        ),
    )
    op.create_index(
        "ix_order_line_sizes_tenant_id_order_id",
        "order_line_sizes",
        ["tenant_id", "order_id", "position"],
        unique=False,
    )
    op.create_table(
        "delivery_lines",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("line_size_id", sa.UUID(), nullable=False),
        sa.Column("line_id", sa.UUID(), nullable=False),
        sa.Column("size", sa.String(length=8), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_delivery_lines_qty")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["deliveries.tenant_id", "deliveries.id"],
            name="fk_delivery_lines_tenant_id_deliveries",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_size_id"],
            ["order_line_sizes.tenant_id", "order_line_sizes.id"],
            name="fk_delivery_lines_tenant_id_order_line_sizes",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_delivery_lines")),
        sa.UniqueConstraint(
            "tenant_id",
            "delivery_id",
            "line_size_id",
            name=op.f("uq_delivery_lines_tenant_id_delivery_id_line_size_id"),
        ),
    )
    op.add_column(
        "tenant_settings",
        sa.Column(
            "down_payment_kind",
            sa.String(length=8),
            server_default=sa.text("'percent'"),
            nullable=False,
        ),
    )
    op.add_column(
        "tenant_settings",
        sa.Column(
            "down_payment_value", sa.BigInteger(), server_default=sa.text("50"), nullable=False
        ),
    )
    op.add_column(
        "tenant_settings",
        sa.Column("pkp", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_tenant_settings_down_payment"),
        "tenant_settings",
        "down_payment_kind IN ('percent', 'fixed') AND down_payment_value >= 0 "
        "AND (down_payment_kind = 'fixed' OR down_payment_value <= 100)",
    )

    for table in TABLES:
        for statement in enable_tenant_rls(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_tenant_settings_down_payment"), "tenant_settings", type_="check")
    op.drop_column("tenant_settings", "pkp")
    op.drop_column("tenant_settings", "down_payment_value")
    op.drop_column("tenant_settings", "down_payment_kind")
    op.drop_table("delivery_lines")
    op.drop_index("ix_order_line_sizes_tenant_id_order_id", table_name="order_line_sizes")
    op.drop_table("order_line_sizes")
    op.drop_index("ix_order_line_people_tenant_id_line_id", table_name="order_line_people")
    op.drop_table("order_line_people")
    op.drop_table("quotation_revisions")
    op.drop_index("ix_order_status_history_tenant_id_order_id", table_name="order_status_history")
    op.drop_table("order_status_history")
    op.drop_index("ix_order_payments_tenant_id_order_id", table_name="order_payments")
    op.drop_table("order_payments")
    op.drop_index("ix_order_lines_tenant_id_order_id", table_name="order_lines")
    op.drop_table("order_lines")
    op.drop_index("ix_deliveries_tenant_id_order_id", table_name="deliveries")
    op.drop_index("ix_deliveries_tenant_id_created_at", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_quotations_tenant_id_created_at", table_name="quotations")
    op.drop_table("quotations")
    op.drop_index("ix_orders_tenant_id_status", table_name="orders")
    op.drop_index("ix_orders_tenant_id_customer_id", table_name="orders")
    op.drop_index("ix_orders_tenant_id_created_at", table_name="orders")
    op.drop_table("orders")
