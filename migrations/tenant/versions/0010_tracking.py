"""Reserved: customer tracking links (filled in by the tracking work).

Revision ID: 0010_tracking
Revises: 0009_invoicing
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0010_tracking"
down_revision: str | None = "0009_invoicing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
