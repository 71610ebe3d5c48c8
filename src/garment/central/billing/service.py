"""Central billing as other contexts see it. Today: the plan catalogue (plan codes and their
entitlements); the billing capability replaces the in-code catalogue with stored plans behind
the same methods."""

from __future__ import annotations

from typing import Any

from garment.central.billing.catalogue import PLANS


class PlanCatalogue:
    def exists(self, plan_code: str) -> bool:
        return plan_code in PLANS

    def codes(self) -> list[str]:
        return sorted(PLANS)

    def entitlements(self, plan_code: str) -> dict[str, Any]:
        """`{"limits": {...}, "features": {...}}` of the plan (empty for an unknown code)."""
        plan = PLANS.get(plan_code)
        if plan is None:
            return {"limits": {}, "features": {}}
        return {"limits": dict(plan.limits), "features": dict(plan.features)}

    def limit(self, plan_code: str, name: str) -> int | None:
        """One numeric limit of the plan; None when the plan sets none."""
        value = self.entitlements(plan_code)["limits"].get(name)
        return int(value) if value is not None else None
