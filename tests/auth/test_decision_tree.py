"""The `next` hint after login (docs/17-auth-business-scenarios.md)."""

from __future__ import annotations

import uuid

import pytest

from garment.central.auth.ports import NextStep, TenantSummary
from garment.central.auth.service import next_step


def tenant(status: str, usable: bool) -> TenantSummary:
    return TenantSummary(id=uuid.uuid4(), slug="s", name="n", status=status, usable=usable)


@pytest.mark.parametrize(
    ("tenants", "expected"),
    [
        ([], NextStep.ONBOARDING),
        ([tenant("cancelled", False)], NextStep.ONBOARDING),
        ([tenant("active", True)], NextStep.AUTO_SELECT),
        ([tenant("active", True), tenant("suspended", False)], NextStep.AUTO_SELECT),
        ([tenant("active", True), tenant("trialing", True)], NextStep.CHOOSE_TENANT),
        ([tenant("suspended", False)], NextStep.BILLING_REQUIRED),
        ([tenant("suspended", False), tenant("suspended", False)], NextStep.BILLING_REQUIRED),
        ([tenant("provisioning", False)], NextStep.CHOOSE_TENANT),
        # A paid plan waiting for its first payment: the owner must pay (billing).
        ([tenant("pending", False)], NextStep.BILLING_REQUIRED),
        ([tenant("pending", False), tenant("suspended", False)], NextStep.BILLING_REQUIRED),
        ([tenant("pending", False), tenant("provisioning", False)], NextStep.CHOOSE_TENANT),
        ([tenant("suspended", False), tenant("provisioning", False)], NextStep.CHOOSE_TENANT),
    ],
)
def test_next_step(tenants: list[TenantSummary], expected: NextStep) -> None:
    assert next_step(tenants) is expected
