"""Job queue: pgqueuer's tables, indexes and notify trigger (pgqueuer 1.6.x).

Revision ID: 0002_job_queue
Revises: 0001_outbox
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment

revision: str = "0002_job_queue"
down_revision: str | None = "0001_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # pgqueuer is pinned to 1.6.x in pyproject.toml; a newer pgqueuer needs a migration that
    # applies its upgrade plan (tests/platform/test_jobs.py checks the schema matches).
    op.execute(QueryBuilderEnvironment().build_install_query(create_schema=False))


def downgrade() -> None:
    op.execute(QueryBuilderEnvironment().build_uninstall_query())
