"""Tenant core tables on every cluster: settings, roles and permissions, taxonomies.

Every table has `tenant_id` leading its keys and sits behind the one RLS policy (ENABLE + FORCE),
so even the owner role cannot read across tenants without setting `app.tenant_id`.

Revision ID: 0002_tenant_core
Revises: 0001_baseline
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from garment.platform.rls import enable_tenant_rls

revision: str = "0002_tenant_core"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
TABLES = ("tenant_settings", "roles", "role_permissions", "member_roles", "taxonomy_terms")


def now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("locale", sa.String(5), server_default=sa.text("'id'"), nullable=False),
        sa.Column(
            "timezone", sa.String(64), server_default=sa.text("'Asia/Jakarta'"), nullable=False
        ),
        sa.Column("currency", sa.String(3), server_default=sa.text("'IDR'"), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenant_settings"),
    )
    op.create_table(
        "roles",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("key", sa.String(48), nullable=False),
        sa.Column("name_id", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("is_system", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_roles"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_roles_tenant_id_key"),
    )
    op.create_table(
        "role_permissions",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("role_id", UUID, nullable=False),
        sa.Column("permission", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "role_id", "permission", name="pk_role_permissions"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            name="fk_role_permissions_tenant_id_roles",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "member_roles",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("role_id", UUID, nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "role_id", name="pk_member_roles"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            name="fk_member_roles_tenant_id_roles",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "taxonomy_terms",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("parent_id", UUID, nullable=True),
        sa.Column("label_id", sa.String(120), nullable=False),
        sa.Column("label_en", sa.String(120), nullable=False),
        sa.Column("sort_order", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_taxonomy_terms"),
        sa.UniqueConstraint(
            "tenant_id", "type", "code", name="uq_taxonomy_terms_tenant_id_type_code"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["taxonomy_terms.tenant_id", "taxonomy_terms.id"],
            name="fk_taxonomy_terms_tenant_id_taxonomy_terms",
        ),
    )
    for table in TABLES:
        for statement in enable_tenant_rls(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
