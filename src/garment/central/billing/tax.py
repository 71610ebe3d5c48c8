"""PPN (Indonesian VAT) in exact integers.

The statutory rate (`billing.ppn_rate`, 12%) applies to a tax base that is a fraction of the
price (`billing.ppn_base_ratio`, 11/12 for non-luxury services), so the effective rate is 11%.
PPN is rounded down to whole rupiah, computed in one integer division — never by rounding the
base first: Rp 1.000.000 -> 110.000 (not 109.999), Rp 145.000 -> 15.950.
"""

from __future__ import annotations

from dataclasses import dataclass

from garment.platform.ppn import other_tax_base, ppn_amount


@dataclass(frozen=True, slots=True)
class TaxRule:
    rate: int  # percent
    base_numerator: int
    base_denominator: int

    @classmethod
    def parse(cls, rate: int, ratio: str) -> TaxRule:
        numerator, _, denominator = ratio.partition("/")
        return cls(rate, int(numerator), int(denominator))

    @property
    def ratio(self) -> str:
        return f"{self.base_numerator}/{self.base_denominator}"


@dataclass(frozen=True, slots=True)
class Tax:
    base: int  # the tax base, rounded down (shown on the invoice)
    rate: int
    amount: int


def ppn(price: int, rule: TaxRule) -> Tax:
    """floor(price x rate x num / (100 x den)); a non-positive price owes no tax."""
    amount = ppn_amount(price, rule.rate, rule.base_numerator, rule.base_denominator)
    base = other_tax_base(price, rule.base_numerator, rule.base_denominator)
    return Tax(base, rule.rate, amount)
