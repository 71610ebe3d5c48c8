"""Reserved: outbound webhook endpoints and deliveries (filled in by the webhooks work).

Revision ID: 0011_webhooks
Revises: 0010_tracking
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0011_webhooks"
down_revision: str | None = "0010_tracking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
