"""Two-phase signing-key rotation: a new key is published (in the JWKS, in every process's key
ring) before any process signs with it; `activates_at` is when signing switches to it. NULL: the
key signed from its creation (keys made before this revision, the first key, `--revoke-previous`).

Revision ID: 0007_signing_key_activation
Revises: 0006_process_heartbeats
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_signing_key_activation"
down_revision: str | None = "0006_process_heartbeats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "auth_signing_keys", sa.Column("activates_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("auth_signing_keys", "activates_at")
