"""What login needs to know about the caller's tenants, without importing tenancy.

Tenancy owns memberships; auth only needs a summary to return with the login response and to
compute the `next` hint. The tenancy context registers its implementation of `TenantDirectory`
at composition time (dependency inversion keeps auth below tenancy).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class TenantSummary:
    id: uuid.UUID
    slug: str
    name: str
    status: str
    roles: list[str] = field(default_factory=list)
    usable: bool = False
    plan_code: str = ""


class TenantDirectory(Protocol):
    async def tenants_of(self, session: AsyncSession, user_id: uuid.UUID) -> list[TenantSummary]:
        """The user's active memberships with tenant status."""
        ...


class NoTenantDirectory:
    async def tenants_of(self, session: AsyncSession, user_id: uuid.UUID) -> list[TenantSummary]:
        return []


class NextStep(StrEnum):
    ONBOARDING = "onboarding"
    AUTO_SELECT = "auto_select"
    CHOOSE_TENANT = "choose_tenant"
    BILLING_REQUIRED = "billing_required"


def next_step(tenants: list[TenantSummary]) -> NextStep:
    """The decision tree after login (docs/17-auth-business-scenarios.md): no tenant ->
    onboarding; exactly one usable -> auto_select; several usable -> choose_tenant; none usable
    and every one suspended -> billing_required; otherwise (e.g. still provisioning) the picker."""
    live = [tenant for tenant in tenants if tenant.status != "cancelled"]
    if not live:
        return NextStep.ONBOARDING
    usable = [tenant for tenant in live if tenant.usable]
    if len(usable) == 1:
        return NextStep.AUTO_SELECT
    if len(usable) > 1:
        return NextStep.CHOOSE_TENANT
    if all(tenant.status == "suspended" for tenant in live):
        return NextStep.BILLING_REQUIRED
    return NextStep.CHOOSE_TENANT
