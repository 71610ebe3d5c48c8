"""The `webhooks` and `coretax_export` plan features on the stored plans: off on starter, on for
growth and enterprise (the catalogue's seed values; a plan edited by an operator keeps an
explicit value).

Revision ID: 0010_plan_features
Revises: 0009_billing_followups
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_plan_features"
down_revision: str | None = "0009_billing_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A snapshot literal (never imported from application code).
FEATURES = ("webhooks", "coretax_export")
ENABLED_BY_PLAN = {"starter": False, "growth": True, "enterprise": True}


def upgrade() -> None:
    for feature in FEATURES:
        for code, enabled in ENABLED_BY_PLAN.items():
            op.execute(
                f"UPDATE billing_plans SET features = jsonb_set(features, '{{{feature}}}', "
                f"'{str(enabled).lower()}'::jsonb) WHERE code = '{code}' "
                f"AND NOT features ? '{feature}'"
            )


def downgrade() -> None:
    for feature in FEATURES:
        op.execute(f"UPDATE billing_plans SET features = features - '{feature}'")
