"""Role assignments move to the central membership (ADR 0008): drop `member_roles`.

Which roles a member holds was kept twice, on the cluster (`member_roles`) and mirrored in the
central `memberships.role_keys`, written in separate transactions. The central column is now the
one source of truth (it was written on every grant, so it already holds every assignment); the
cluster keeps what each role may do (`roles`, `role_permissions`).

Revision ID: 0003_role_assignments_central
Revises: 0002_tenant_core
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from garment.platform.rls import enable_tenant_rls

revision: str = "0003_role_assignments_central"
down_revision: str | None = "0002_tenant_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("member_roles")


def downgrade() -> None:
    op.create_table(
        "member_roles",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("role_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "role_id", name="pk_member_roles"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "role_id"],
            ["roles.tenant_id", "roles.id"],
            name="fk_member_roles_tenant_id_roles",
            ondelete="CASCADE",
        ),
    )
    for statement in enable_tenant_rls("member_roles"):
        op.execute(statement)
