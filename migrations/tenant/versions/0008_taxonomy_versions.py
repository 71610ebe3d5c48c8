"""Taxonomy terms get a `version` (1, 2, ...) for If-Match/ETag on their updates.

Revision ID: 0008_taxonomy_versions
Revises: 0007_production
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_taxonomy_versions"
down_revision: str | None = "0007_production"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "taxonomy_terms",
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("taxonomy_terms", "version")
