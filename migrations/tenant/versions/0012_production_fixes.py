"""Reserved: production follow-ups (makloon material, wage-period locks).

Revision ID: 0012_production_fixes
Revises: 0011_webhooks
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0012_production_fixes"
down_revision: str | None = "0011_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
