"""Customer tracking links: per order, an unguessable, revocable, expiring link the end customer
opens without an account. Only a keyed hash of each token is stored; the table leads its keys
with `tenant_id` and sits behind the tenant policy (ADR 0018).

Revision ID: 0010_tracking
Revises: 0009_invoicing
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from garment.platform.rls import enable_tenant_rls

revision: str = "0010_tracking"
down_revision: str | None = "0009_invoicing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_links",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.UUID(), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_audited_view_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("view_count >= 0", name=op.f("ck_tracking_links_view_count")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_tracking_links_expiry")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_tracking_links_tenant_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tracking_links")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_tracking_links_tenant_id_token_hash")
        ),
    )
    op.create_index(
        "ix_tracking_links_tenant_id_order_id",
        "tracking_links",
        ["tenant_id", "order_id", "created_at"],
        unique=False,
    )
    for statement in enable_tenant_rls("tracking_links"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("tracking_links")
