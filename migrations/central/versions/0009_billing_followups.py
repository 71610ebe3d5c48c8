"""Billing follow-ups: who suspended a tenant and why (`tenants.suspension_source`,
`tenants.suspension_reason`), so a payment resumes only a tenant billing suspended, never one
an operator suspended (abuse, a legal hold).

Tenants suspended before this revision get their source from what is known now: `billing`
when their subscription is suspended too (dunning did it), `operator` otherwise — the safe side,
since an operator's suspension must never be lifted by a payment.

Revision ID: 0009_billing_followups
Revises: 0008_billing
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_billing_followups"
down_revision: str | None = "0008_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("suspension_source", sa.String(length=16), nullable=True))
    op.add_column("tenants", sa.Column("suspension_reason", sa.String(length=200), nullable=True))
    op.create_check_constraint(
        op.f("ck_tenants_suspension_source"),
        "tenants",
        "suspension_source IN ('billing', 'operator')",
    )
    op.execute(
        "UPDATE tenants SET suspension_source = CASE WHEN EXISTS (SELECT 1 FROM "
        "billing_subscriptions AS s WHERE s.tenant_id = tenants.id AND s.status = 'suspended') "
        "THEN 'billing' ELSE 'operator' END WHERE status = 'suspended'"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_tenants_suspension_source"), "tenants", type_="check")
    op.drop_column("tenants", "suspension_reason")
    op.drop_column("tenants", "suspension_source")
