"""Tenancy and clusters: cluster registry, tenants, memberships, invitations, provisioning.

Revision ID: 0004_tenancy
Revises: 0003_auth
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_tenancy"
down_revision: str | None = "0003_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB()


def now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("key", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), server_default=sa.text("'active'"), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(63), nullable=True),
        sa.Column("drained_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_clusters"),
        sa.CheckConstraint(
            "status IN ('active', 'draining', 'disabled')", name="ck_clusters_status"
        ),
        sa.CheckConstraint("capacity >= 0", name="ck_clusters_capacity"),
    )
    op.create_table(
        "tenants",
        sa.Column("id", UUID, nullable=False),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("cluster_key", sa.String(63), nullable=True),
        sa.Column("region_hint", sa.String(63), nullable=True),
        sa.Column("plan_code", sa.String(32), nullable=False),
        sa.Column(
            "billing_interval", sa.String(16), server_default=sa.text("'monthly'"), nullable=False
        ),
        sa.Column("owner_user_id", UUID, nullable=False),
        sa.Column("read_only", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("provisioned_at", TS, nullable=True),
        sa.Column("suspended_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
        sa.ForeignKeyConstraint(
            ["cluster_key"], ["clusters.key"], name="fk_tenants_cluster_key_clusters"
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name="fk_tenants_owner_user_id_users"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'provisioning', 'active', 'provisioning_failed', 'suspended', 'cancelled')",
            name="ck_tenants_status",
        ),
    )
    op.create_index("ix_tenants_cluster_key_status", "tenants", ["cluster_key", "status"])
    op.create_table(
        "memberships",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("status", sa.String(16), server_default=sa.text("'active'"), nullable=False),
        sa.Column("role_keys", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name="pk_memberships"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_memberships_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_memberships_user_id_users", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "status IN ('active', 'invited', 'removed')", name="ck_memberships_status"
        ),
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])
    op.create_table(
        "invitations",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role_keys", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", UUID, nullable=True),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("accepted_at", TS, nullable=True),
        sa.Column("accepted_by", UUID, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_invitations_tenant_id_tenants",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_invitations_tenant_id_created_at", "invitations", ["tenant_id", "created_at"]
    )
    op.create_table(
        "provisioning_runs",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("details", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "step", name="pk_provisioning_runs"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_provisioning_runs_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')", name="ck_provisioning_runs_status"
        ),
    )


def downgrade() -> None:
    for table in ("provisioning_runs", "invitations", "memberships", "tenants", "clusters"):
        op.drop_table(table)
