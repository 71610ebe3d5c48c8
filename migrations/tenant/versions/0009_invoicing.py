"""Reserved: customer invoices, tax settings, Coretax (filled in by the invoicing work).

Revision ID: 0009_invoicing
Revises: 0008_taxonomy_versions
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0009_invoicing"
down_revision: str | None = "0008_taxonomy_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
