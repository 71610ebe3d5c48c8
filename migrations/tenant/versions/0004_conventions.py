"""Tenant conventions on every cluster: stored idempotent responses, document counters, the audit
log, and the default roles of the full permission catalogue.

Revision ID: 0004_conventions
Revises: 0003_role_assignments_central
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from garment.platform.rls import enable_tenant_rls

revision: str = "0004_conventions"
down_revision: str | None = "0003_role_assignments_central"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB()
TABLES = ("idempotency_keys", "document_counters", "audit_logs", "customers")

# The default roles as of this revision (a snapshot: later catalogue changes get their own
# migration). Added to every tenant that lacks them; their permissions granted where missing.
DEFAULT_ROLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "owner": (
        "Pemilik",
        "Owner",
        (
            "audit.view",
            "billing.manage",
            "billing.view",
            "customers.manage",
            "customers.view",
            "deliveries.manage",
            "deliveries.view",
            "invoices.manage",
            "invoices.view",
            "makloon.manage",
            "makloon.view",
            "materials.manage",
            "materials.view",
            "members.manage",
            "members.view",
            "orders.approve",
            "orders.manage",
            "orders.view",
            "payments.manage",
            "payments.view",
            "production.manage",
            "production.record",
            "production.view",
            "products.manage",
            "products.view",
            "quotations.manage",
            "quotations.view",
            "roles.manage",
            "roles.view",
            "settings.manage",
            "settings.view",
            "tax.manage",
            "tax.view",
            "taxonomies.manage",
            "taxonomies.view",
            "wages.manage",
            "wages.view",
            "webhooks.manage",
            "webhooks.view",
        ),
    ),
    "admin": (
        "Admin",
        "Admin",
        (
            "audit.view",
            "billing.view",
            "customers.manage",
            "customers.view",
            "deliveries.manage",
            "deliveries.view",
            "invoices.manage",
            "invoices.view",
            "makloon.manage",
            "makloon.view",
            "materials.manage",
            "materials.view",
            "members.manage",
            "members.view",
            "orders.approve",
            "orders.manage",
            "orders.view",
            "payments.manage",
            "payments.view",
            "production.manage",
            "production.record",
            "production.view",
            "products.manage",
            "products.view",
            "quotations.manage",
            "quotations.view",
            "roles.manage",
            "roles.view",
            "settings.manage",
            "settings.view",
            "tax.manage",
            "tax.view",
            "taxonomies.manage",
            "taxonomies.view",
            "wages.manage",
            "wages.view",
            "webhooks.manage",
            "webhooks.view",
        ),
    ),
    "sales": (
        "Penjualan",
        "Sales",
        (
            "customers.manage",
            "customers.view",
            "deliveries.manage",
            "deliveries.view",
            "orders.manage",
            "orders.view",
            "payments.view",
            "products.view",
            "quotations.manage",
            "quotations.view",
            "taxonomies.view",
        ),
    ),
    "production": (
        "Produksi",
        "Production",
        (
            "makloon.manage",
            "makloon.view",
            "materials.manage",
            "materials.view",
            "orders.view",
            "production.manage",
            "production.record",
            "production.view",
            "products.view",
            "taxonomies.view",
        ),
    ),
    "operator": (
        "Operator",
        "Operator",
        ("production.record",),
    ),
    "finance": (
        "Keuangan",
        "Finance",
        (
            "billing.view",
            "customers.view",
            "invoices.manage",
            "invoices.view",
            "orders.view",
            "payments.manage",
            "payments.view",
            "tax.manage",
            "tax.view",
            "wages.manage",
            "wages.view",
        ),
    ),
    "viewer": (
        "Pengamat",
        "Viewer",
        (
            "audit.view",
            "billing.view",
            "customers.view",
            "deliveries.view",
            "invoices.view",
            "makloon.view",
            "materials.view",
            "members.view",
            "orders.view",
            "payments.view",
            "production.view",
            "products.view",
            "quotations.view",
            "roles.view",
            "settings.view",
            "tax.view",
            "taxonomies.view",
            "wages.view",
            "webhooks.view",
        ),
    ),
}


def now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("state", sa.String(16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_headers", JSONB, nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    op.create_table(
        "document_counters",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("doc_type", sa.String(8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "doc_type", "year", name="pk_document_counters"),
    )
    op.create_table(
        "audit_logs",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("occurred_at", TS, server_default=now(), nullable=False),
        sa.Column("actor_id", UUID, nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity_type", sa.String(48), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("changes", JSONB, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_audit_logs"),
    )
    op.create_index(
        "ix_audit_logs_tenant_id_occurred_at", "audit_logs", ["tenant_id", "occurred_at", "id"]
    )
    op.create_index(
        "ix_audit_logs_tenant_id_entity", "audit_logs", ["tenant_id", "entity_type", "entity_id"]
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address", sa.String(500), nullable=True),
        sa.Column("npwp", sa.String(16), nullable=True),
        sa.Column("nik", sa.String(16), nullable=True),
        sa.Column("nitku", sa.String(22), nullable=True),
        sa.Column("credit_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("notes", sa.String(2000), nullable=True),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_customers"),
        sa.CheckConstraint("type IN ('retail', 'reseller', 'corporate')", name="ck_customers_type"),
        sa.CheckConstraint(
            "credit_days >= 0 AND credit_limit >= 0", name="ck_customers_credit_terms"
        ),
    )
    op.create_index("ix_customers_tenant_id_name", "customers", ["tenant_id", "name", "id"])
    op.create_index(
        "ix_customers_tenant_id_created_at", "customers", ["tenant_id", "created_at", "id"]
    )
    for table in TABLES:
        for statement in enable_tenant_rls(table):
            op.execute(statement)
    add_default_roles()


def add_default_roles() -> None:
    """Every tenant on the cluster (each has roles since provisioning) gets the default roles it
    lacks and the permissions of the catalogue its system roles lack. RLS hides every row from
    a statement without `app.tenant_id`, the owner included (FORCE); the backfill lifts FORCE
    for the two tables inside this transaction and puts it back before it commits."""
    for table in ("roles", "role_permissions"):
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    for key, (name_id, name_en, permissions) in DEFAULT_ROLES.items():
        op.execute(
            sa.text(
                "INSERT INTO roles (tenant_id, id, key, name_id, name_en, is_system) "
                "SELECT DISTINCT tenant_id, gen_random_uuid(), :key, :name_id, :name_en, true "
                "FROM roles ON CONFLICT (tenant_id, key) DO NOTHING"
            ).bindparams(key=key, name_id=name_id, name_en=name_en)
        )
        op.execute(
            sa.text(
                "INSERT INTO role_permissions (tenant_id, role_id, permission) "
                "SELECT r.tenant_id, r.id, p.permission FROM roles r "
                "CROSS JOIN unnest(CAST(:permissions AS text[])) AS p(permission) "
                "WHERE r.key = :key AND r.is_system "
                "ON CONFLICT DO NOTHING"
            ).bindparams(key=key, permissions=list(permissions))
        )
    for table in ("roles", "role_permissions"):
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
