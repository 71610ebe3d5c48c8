"""Measurements a background job takes and every process exports on `/metrics` (the outbound
webhook backlog per cluster, taken by the webhook sweep): one row per series, replaced on
each measurement.

Revision ID: 0011_measurements
Revises: 0010_plan_features
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_measurements"
down_revision: str | None = "0010_plan_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "measurements",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("series", sa.String(200), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("measurements")
