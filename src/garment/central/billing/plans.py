"""Stored plans behind the catalogue other contexts use (`PlanCatalogue`).

The plans live in `billing_plans` (seeded by migration 0007 and `garment billing seed-plans`).
Other contexts ask synchronous questions on hot paths (does this plan exist, what is its member
limit), so the catalogue answers from an in-process copy: loaded when the process starts and
reloaded in every process when plans change (the invalidation bus). Before the first load it
answers from the in-code seed values, which the migration stores too.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.billing.catalogue import PLANS, Plan
from garment.central.billing.repository import PlanRepository
from garment.platform.cache import InvalidationBus
from garment.platform.db import Database

logger = structlog.get_logger(__name__)

PLAN_TOPIC = "billing_plans"


def plan_of(row: Any) -> Plan:
    return Plan(
        code=row.code,
        name=row.name,
        trial_days=int(row.trial_days),
        monthly_price=int(row.monthly_price),
        yearly_price=int(row.yearly_price),
        limits=dict(row.limits or {}),
        features=dict(row.features or {}),
    )


class PlanCatalogue:
    def __init__(
        self, central: Database | None = None, invalidations: InvalidationBus | None = None
    ) -> None:
        self.central = central
        self.invalidations = invalidations
        self._plans: dict[str, Plan] = dict(PLANS)
        self.loaded = False
        self._reload: asyncio.Task[None] | None = None
        if invalidations is not None:
            invalidations.subscribe(PLAN_TOPIC, self._changed)

    def _changed(self, _key: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._reload = loop.create_task(self.load())

    async def load(self, session: AsyncSession | None = None) -> None:
        """Replace the in-process copy with the stored plans."""
        if session is None:
            if self.central is None:
                return
            async with self.central.transaction() as own:
                rows = await PlanRepository(own).listed(active_only=False)
        else:
            rows = await PlanRepository(session).listed(active_only=False)
        if rows:
            self._plans = {row.code: plan_of(row) for row in rows if row.active}
            self.loaded = True

    async def seed(self, session: AsyncSession) -> list[str]:
        """Write the in-code plan values (the migration's seed) again; every process reloads."""
        repository = PlanRepository(session)
        for position, plan in enumerate(PLANS.values(), start=1):
            await repository.upsert({**asdict(plan), "position": position, "active": True})
        if self.invalidations is not None:
            await self.invalidations.publish_in(session, PLAN_TOPIC, "all")
        await self.load(session)
        return list(PLANS)

    async def stored(self, session: AsyncSession) -> list[Plan]:
        """The active plans as stored, in catalogue order."""
        return [plan_of(row) for row in await PlanRepository(session).listed()]

    # --- what other contexts ask (synchronous, from the in-process copy) -----------------

    def exists(self, plan_code: str) -> bool:
        return plan_code in self._plans

    def codes(self) -> list[str]:
        return sorted(self._plans)

    def get(self, plan_code: str) -> Plan | None:
        return self._plans.get(plan_code)

    def provisions_at_once(self, plan_code: str) -> bool:
        """Whether onboarding on this plan provisions the tenant at once (a trial plan) or
        only when its first invoice is paid."""
        plan = self._plans.get(plan_code)
        return plan is None or plan.trial_days > 0

    def entitlements(self, plan_code: str) -> dict[str, Any]:
        """`{"limits": {...}, "features": {...}}` of the plan (empty for an unknown code)."""
        plan = self._plans.get(plan_code)
        if plan is None:
            return {"limits": {}, "features": {}}
        return {"limits": dict(plan.limits), "features": dict(plan.features)}

    def limit(self, plan_code: str, name: str) -> int | None:
        """One numeric limit of the plan; None when the plan sets none."""
        value = self.entitlements(plan_code)["limits"].get(name)
        return int(value) if value is not None else None

    def price(self, plan_code: str, interval: str) -> int:
        plan = self._plans[plan_code]
        return plan.yearly_price if interval == "yearly" else plan.monthly_price
