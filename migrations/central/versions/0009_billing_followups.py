"""Reserved: billing follow-ups (filled in by the billing work).

Revision ID: 0009_billing_followups
Revises: 0008_billing
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0009_billing_followups"
down_revision: str | None = "0008_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
