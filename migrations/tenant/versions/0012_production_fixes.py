"""Production follow-ups: material sent with a makloon dispatch (`makloon_materials`: what left
our stock into the partner's custody, and what came back or was used up there), and a `version`
on roles so a role update takes `If-Match` like every other resource, and a standard
`unit_cost` (integer rupiah per unit) on materials for order costing. The new table leads its
keys with `tenant_id` and sits behind the tenant policy; existing roles start at version 1,
existing materials at cost 0 (columns with a constant default: no table rewrite).

Revision ID: 0012_production_fixes
Revises: 0011_webhooks
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from garment.platform.rls import enable_tenant_rls

revision: str = "0012_production_fixes"
down_revision: str | None = "0011_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUANTITY = sa.Numeric(precision=18, scale=3)


def upgrade() -> None:
    op.create_table(
        "makloon_materials",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("dispatch_id", sa.UUID(), nullable=False),
        sa.Column("material_id", sa.UUID(), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("sent", QUANTITY, nullable=False),
        sa.Column("returned", QUANTITY, server_default=sa.text("0"), nullable=False),
        sa.Column("consumed", QUANTITY, server_default=sa.text("0"), nullable=False),
        sa.Column("movement_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "sent > 0 AND returned >= 0 AND consumed >= 0", name=op.f("ck_makloon_materials_counts")
        ),
        sa.CheckConstraint(
            "returned + consumed <= sent", name=op.f("ck_makloon_materials_returned")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dispatch_id"],
            ["makloon_dispatches.tenant_id", "makloon_dispatches.id"],
            name="fk_makloon_materials_tenant_id_makloon_dispatches",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "dispatch_id", "material_id", name=op.f("pk_makloon_materials")
        ),
    )
    for statement in enable_tenant_rls("makloon_materials"):
        op.execute(statement)
    op.add_column(
        "roles", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.add_column(
        "materials",
        sa.Column("unit_cost", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(op.f("ck_materials_unit_cost"), "materials", "unit_cost >= 0")


def downgrade() -> None:
    op.drop_column("materials", "unit_cost")
    op.drop_column("roles", "version")
    op.drop_table("makloon_materials")
