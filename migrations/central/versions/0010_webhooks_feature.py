"""The `webhooks` plan feature on the stored plans: off on starter, on for growth and
enterprise (the catalogue's seed values; a plan edited by an operator keeps an explicit value).

Revision ID: 0010_webhooks_feature
Revises: 0009_billing_followups
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_webhooks_feature"
down_revision: str | None = "0009_billing_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A snapshot literal (never imported from application code).
WEBHOOKS_BY_PLAN = {"starter": False, "growth": True, "enterprise": True}


def upgrade() -> None:
    for code, enabled in WEBHOOKS_BY_PLAN.items():
        op.execute(
            "UPDATE billing_plans SET features = jsonb_set(features, '{webhooks}', "
            f"'{str(enabled).lower()}'::jsonb) WHERE code = '{code}' "
            "AND NOT features ? 'webhooks'"
        )


def downgrade() -> None:
    op.execute("UPDATE billing_plans SET features = features - 'webhooks'")
