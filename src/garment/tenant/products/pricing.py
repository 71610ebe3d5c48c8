"""Prices of a design: the variant price, and the price tier picked by the quantity of the whole
design (every size and colour on the order line together: 12 pieces over four sizes is a
dozen). Pure functions over plain values; integer rupiah throughout."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tier:
    id: uuid.UUID
    min_quantity: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    size: str
    color: str
    quantity: int
    unit_price: int

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Priced:
    total_quantity: int
    tier: Tier | None
    lines: list[PricedLine]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def variant_price(base_price: int, surcharge: int, price_override: int | None) -> int:
    """One piece before tiers: the variant's override, or the base price plus its size's
    surcharge."""
    return price_override if price_override is not None else base_price + surcharge


def pick_tier(tiers: Sequence[Tier], total_quantity: int) -> Tier | None:
    """The tier with the highest minimum the quantity reaches (None below every minimum)."""
    reached = [tier for tier in tiers if tier.min_quantity <= total_quantity]
    return max(reached, key=lambda tier: tier.min_quantity) if reached else None


def price_for(
    *,
    base_price: int,
    surcharges: Mapping[str, int],
    overrides: Mapping[tuple[str, str], int | None],
    tiers: Sequence[Tier],
    breakdown: Sequence[tuple[str, str, int]],
) -> Priced:
    """Price an order line of one design for one customer type. `breakdown` is (size, colour,
    pieces) per variant; `tiers` are that customer type's tiers of the design. The tier is
    picked by the pieces over the whole breakdown; a tier's unit price replaces the base price
    (and any variant override), and each size's surcharge still applies on top."""
    total = sum(quantity for _, _, quantity in breakdown)
    tier = pick_tier(tiers, total)
    lines = []
    for size, color, quantity in breakdown:
        surcharge = surcharges.get(size, 0)
        if tier is not None:
            unit = tier.unit_price + surcharge
        else:
            unit = variant_price(base_price, surcharge, overrides.get((size, color)))
        lines.append(PricedLine(size, color, quantity, unit))
    return Priced(total, tier, lines)
