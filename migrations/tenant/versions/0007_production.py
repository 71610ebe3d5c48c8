"""Production: routings (seeded with the default stages for every existing tenant), jobs (an
order line in production), the counters per job x size x stage that hold the ledger's
invariants, the append-only piece ledger, material consumption at cutting, makloon partners,
dispatches and their lines, borongan rates, wage periods and adjustments. Every table leads its
keys with `tenant_id` and sits behind the tenant policy.

Revision ID: 0007_production
Revises: 0006_sales
Create Date: 2026-12-02
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from garment.platform.rls import enable_tenant_rls

revision: str = "0007_production"
down_revision: str | None = "0006_sales"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Children after parents (creation order); dropped in reverse.
TABLES = (
    "production_routings",
    "production_jobs",
    "production_counters",
    "production_events",
    "production_consumptions",
    "makloon_partners",
    "makloon_dispatches",
    "makloon_lines",
    "wage_rates",
    "wage_periods",
    "wage_adjustments",
)

# The default routing as of this revision (a snapshot; later changes get their own migration).
DEFAULT_STAGES = [
    {"code": "potong", "label_id": "Potong", "label_en": "Cutting", "capacity_per_day": 400},
    {"code": "jahit", "label_id": "Jahit", "label_en": "Sewing", "capacity_per_day": 200},
    {
        "code": "finishing",
        "label_id": "Finishing",
        "label_en": "Finishing",
        "capacity_per_day": 300,
    },
    {"code": "qc", "label_id": "QC", "label_en": "Quality control", "capacity_per_day": 400},
    {"code": "packing", "label_id": "Packing", "label_en": "Packing", "capacity_per_day": 500},
]


def upgrade() -> None:
    op.create_table(
        "production_routings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.UUID(), nullable=True),
        sa.Column("stages", postgresql.JSONB(), nullable=False),
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
            "(scope = 'default') = (target_id IS NULL)", name=op.f("ck_production_routings_target")
        ),
        sa.CheckConstraint(
            "scope IN ('default', 'category', 'product')", name=op.f("ck_production_routings_scope")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_production_routings")),
    )
    op.create_index(
        "uq_production_routings_default",
        "production_routings",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("scope = 'default'"),
    )
    op.create_index(
        "uq_production_routings_target",
        "production_routings",
        ["tenant_id", "scope", "target_id"],
        unique=True,
        postgresql_where=sa.text("target_id IS NOT NULL"),
    )
    op.create_table(
        "production_jobs",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("order_line_id", sa.UUID(), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("color", sa.String(length=40), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("stages", postgresql.JSONB(), nullable=False),
        sa.Column("planned", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("status IN ('active', 'done')", name=op.f("ck_production_jobs_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_production_jobs_tenant_id_orders",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_line_id"],
            ["order_lines.tenant_id", "order_lines.id"],
            name="fk_production_jobs_tenant_id_order_lines",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_production_jobs")),
        sa.UniqueConstraint(
            "tenant_id", "order_line_id", name=op.f("uq_production_jobs_tenant_id_order_line_id")
        ),
    )
    op.create_index(
        "ix_production_jobs_tenant_id_order_id",
        "production_jobs",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_index(
        "ix_production_jobs_tenant_id_status",
        "production_jobs",
        ["tenant_id", "status", "due_date"],
        unique=False,
    )
    op.create_table(
        "production_counters",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entered", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("received", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("output", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reworked", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("written_off", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("at_partner", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "output + rejected + at_partner <= received",
            name=op.f("ck_production_counters_available"),
        ),
        sa.CheckConstraint(
            "entered >= 0 AND received >= 0 AND output >= 0 AND rejected >= 0 AND reworked >= 0 AND written_off >= 0 AND at_partner >= 0",
            name=op.f("ck_production_counters_non_negative"),
        ),
        sa.CheckConstraint(
            "reworked + written_off <= rejected", name=op.f("ck_production_counters_open_rejects")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["production_jobs.tenant_id", "production_jobs.id"],
            name="fk_production_counters_tenant_id_production_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "job_id", "size", "stage", name=op.f("pk_production_counters")
        ),
    )
    op.create_table(
        "production_events",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("to_stage", sa.String(length=32), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("dispatch_id", sa.UUID(), nullable=True),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('in', 'out', 'reject', 'rework', 'write_off', 'dispatch', 'short')",
            name=op.f("ck_production_events_kind"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_production_events_quantity")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["production_jobs.tenant_id", "production_jobs.id"],
            name="fk_production_events_tenant_id_production_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_production_events")),
    )
    op.create_index(
        "ix_production_events_tenant_id_job_id",
        "production_events",
        ["tenant_id", "job_id", "seq"],
        unique=False,
    )
    op.create_index(
        "ix_production_events_tenant_id_occurred_at",
        "production_events",
        ["tenant_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "production_consumptions",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("material_id", sa.UUID(), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("pieces", sa.Integer(), nullable=False),
        sa.Column("planned", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("actual", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("movement_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["production_jobs.tenant_id", "production_jobs.id"],
            name="fk_production_consumptions_tenant_id_production_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_production_consumptions")),
    )
    op.create_index(
        "ix_production_consumptions_tenant_id_job_id",
        "production_consumptions",
        ["tenant_id", "job_id"],
        unique=False,
    )
    op.create_table(
        "makloon_partners",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_makloon_partners")),
    )
    op.create_index(
        "ix_makloon_partners_tenant_id_name",
        "makloon_partners",
        ["tenant_id", "name", "id"],
        unique=False,
    )
    op.create_table(
        "makloon_dispatches",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("rate_per_piece", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("charge", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
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
            "status IN ('open', 'closed')", name=op.f("ck_makloon_dispatches_status")
        ),
        sa.CheckConstraint(
            "rate_per_piece >= 0", name=op.f("ck_makloon_dispatches_rate_per_piece")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["production_jobs.tenant_id", "production_jobs.id"],
            name="fk_makloon_dispatches_tenant_id_production_jobs",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "partner_id"],
            ["makloon_partners.tenant_id", "makloon_partners.id"],
            name="fk_makloon_dispatches_tenant_id_makloon_partners",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_makloon_dispatches")),
        sa.UniqueConstraint(
            "tenant_id", "number", name=op.f("uq_makloon_dispatches_tenant_id_number")
        ),
    )
    op.create_index(
        "ix_makloon_dispatches_tenant_id_partner_id",
        "makloon_dispatches",
        ["tenant_id", "partner_id"],
        unique=False,
    )
    op.create_table(
        "makloon_lines",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("dispatch_id", sa.UUID(), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("short", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "accepted + rejected + short <= sent", name=op.f("ck_makloon_lines_returned")
        ),
        sa.CheckConstraint(
            "sent > 0 AND accepted >= 0 AND rejected >= 0 AND short >= 0",
            name=op.f("ck_makloon_lines_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dispatch_id"],
            ["makloon_dispatches.tenant_id", "makloon_dispatches.id"],
            name="fk_makloon_lines_tenant_id_makloon_dispatches",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "dispatch_id", "size", name=op.f("pk_makloon_lines")),
    )
    op.create_table(
        "wage_rates",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=True),
        sa.Column("category_id", sa.UUID(), nullable=True),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("reject_deduction", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
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
            "product_id IS NULL OR category_id IS NULL", name=op.f("ck_wage_rates_target")
        ),
        sa.CheckConstraint(
            "rate >= 0 AND reject_deduction >= 0", name=op.f("ck_wage_rates_amounts")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_wage_rates")),
    )
    op.create_index(
        "ix_wage_rates_tenant_id_stage", "wage_rates", ["tenant_id", "stage", "id"], unique=False
    )
    op.create_table(
        "wage_periods",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_lines", postgresql.JSONB(), nullable=True),
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
        sa.CheckConstraint("status IN ('open', 'locked')", name=op.f("ck_wage_periods_status")),
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_wage_periods_dates")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_wage_periods")),
    )
    op.create_index(
        "ix_wage_periods_tenant_id_starts_on",
        "wage_periods",
        ["tenant_id", "starts_on", "id"],
        unique=False,
    )
    op.create_table(
        "wage_adjustments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("period_id", sa.UUID(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["tenant_id", "period_id"],
            ["wage_periods.tenant_id", "wage_periods.id"],
            name="fk_wage_adjustments_tenant_id_wage_periods",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_wage_adjustments")),
    )
    add_default_routings()
    for table in TABLES:
        for statement in enable_tenant_rls(table):
            op.execute(statement)


def add_default_routings() -> None:
    """Every tenant on the cluster (each has roles since provisioning) gets the default routing.
    `roles` hides its rows from a statement without `app.tenant_id` (FORCE), so the backfill
    lifts FORCE on it inside this transaction and puts it back; the new table's policy is
    enabled after the rows are in."""
    op.execute("ALTER TABLE roles NO FORCE ROW LEVEL SECURITY")
    op.execute(
        sa.text(
            "INSERT INTO production_routings (tenant_id, id, scope, target_id, stages) "
            "SELECT t.tenant_id, gen_random_uuid(), 'default', CAST(NULL AS uuid), "
            "CAST(:stages AS jsonb) FROM (SELECT DISTINCT tenant_id FROM roles) AS t"
        ).bindparams(stages=json.dumps(DEFAULT_STAGES))
    )
    op.execute("ALTER TABLE roles FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
