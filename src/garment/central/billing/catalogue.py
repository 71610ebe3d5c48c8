"""The plan catalogue as code: the seed values of the stored plans (migration 0007 and
`garment billing seed-plans` write them), and what `PlanCatalogue` answers before it loads.

Other contexts read plans only through `PlanCatalogue` (`service.py`), which serves the stored
plans from an in-process copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Plan:
    code: str
    name: str
    trial_days: int
    monthly_price: int  # integer rupiah
    yearly_price: int
    limits: dict[str, int] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)


PLANS: dict[str, Plan] = {
    "starter": Plan(
        "starter",
        "Starter",
        14,
        149_000,
        1_490_000,
        limits={"max_members": 3, "max_products": 100, "max_orders_per_month": 300},
        features={
            "custom_roles": False,
            "audit_log_days": 30,
            "webhooks": False,
            "coretax_export": False,
        },
    ),
    "growth": Plan(
        "growth",
        "Growth",
        14,
        449_000,
        4_490_000,
        limits={"max_members": 15, "max_products": 2_000, "max_orders_per_month": 5_000},
        features={
            "custom_roles": True,
            "audit_log_days": 180,
            "webhooks": True,
            "coretax_export": True,
        },
    ),
    "enterprise": Plan(
        "enterprise",
        "Enterprise",
        0,
        1_490_000,
        14_900_000,
        limits={"max_members": 200, "max_products": 100_000, "max_orders_per_month": 100_000},
        features={
            "custom_roles": True,
            "audit_log_days": 730,
            "webhooks": True,
            "coretax_export": True,
        },
    ),
}
