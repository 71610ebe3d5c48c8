"""Heartbeats of server and worker processes: which background loops (job worker, outbox relay)
are alive where, so `/readyz` and `garment doctor` can tell that no job worker runs anywhere.

Revision ID: 0006_process_heartbeats
Revises: 0005_refresh_successor_index
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_process_heartbeats"
down_revision: str | None = "0005_refresh_successor_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_heartbeats",
        sa.Column("process_id", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("loops", postgresql.JSONB(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_process_heartbeats_seen_at", "process_heartbeats", ["seen_at"])


def downgrade() -> None:
    op.drop_table("process_heartbeats")
