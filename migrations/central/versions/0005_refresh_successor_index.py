"""Index the refresh-token successor link: every rotation looks up the grandparent token (whose
successor is the presented one) to drop its copy of the pair. Without the index that update
scanned the whole token table, so rotations grew slower as tokens accumulated. Partial: only
tokens still holding a copy (within the grace window) are ever looked up.

Revision ID: 0005_refresh_successor_index
Revises: 0004_tenancy
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_refresh_successor_index"
down_revision: str | None = "0004_tenancy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_auth_refresh_tokens_successor_id",
        "auth_refresh_tokens",
        ["successor_id"],
        postgresql_where=sa.text("successor_ciphertext IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_auth_refresh_tokens_successor_id", table_name="auth_refresh_tokens")
