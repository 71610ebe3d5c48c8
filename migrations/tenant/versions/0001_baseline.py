"""Baseline of the tenant tree: the common root every cluster starts from.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tenant tables arrive with the tenancy capability; every cluster starts at this revision so
    # `garment migrate` has a common root. Nothing here reads or writes tenant rows.
    op.execute("COMMENT ON SCHEMA public IS 'Garment.id tenant cluster'")


def downgrade() -> None:
    op.execute("COMMENT ON SCHEMA public IS NULL")
