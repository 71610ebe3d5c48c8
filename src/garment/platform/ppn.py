"""PPN (Indonesian VAT) in exact integers, the one arithmetic behind central billing's invoices
and a tenant's own orders and invoices.

The statutory rate (12%) applies to a tax base that is a fraction of the price (11/12, "DPP
nilai lain"), so the effective rate is 11%. PPN is rounded down to whole rupiah in one integer
division, never by rounding the base first: Rp 1.000.000 -> 110.000 (not 109.999),
Rp 145.000 -> 15.950, Rp 1.234.567 -> 135.802, Rp 7 -> 0. A price of zero or less owes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RATE = 12  # percent
DEFAULT_BASE_NUMERATOR, DEFAULT_BASE_DENOMINATOR = 11, 12


def ppn_amount(
    price: int,
    rate: int = DEFAULT_RATE,
    base_numerator: int = DEFAULT_BASE_NUMERATOR,
    base_denominator: int = DEFAULT_BASE_DENOMINATOR,
) -> int:
    """floor(price x rate x numerator / (100 x denominator))."""
    if price <= 0:
        return 0
    return price * rate * base_numerator // (100 * base_denominator)


def other_tax_base(
    price: int,
    base_numerator: int = DEFAULT_BASE_NUMERATOR,
    base_denominator: int = DEFAULT_BASE_DENOMINATOR,
) -> int:
    """The tax base shown on the invoice: floor(price x numerator / denominator)."""
    if price <= 0:
        return 0
    return price * base_numerator // base_denominator


@dataclass(frozen=True, slots=True)
class TaxRule:
    """How a tenant's sale is taxed: PKP or not, the PPN rate (percent) and the base ratio (the
    tenant's tax settings). Orders and the invoices of them price PPN by the same rule."""

    pkp: bool
    rate: int = DEFAULT_RATE
    base_numerator: int = DEFAULT_BASE_NUMERATOR
    base_denominator: int = DEFAULT_BASE_DENOMINATOR

    def ppn(self, price: int) -> int:
        """floor(price x base x rate / 100) in one integer division; 0 for a non-PKP tenant."""
        if not self.pkp:
            return 0
        return ppn_amount(price, self.rate, self.base_numerator, self.base_denominator)

    def tax_base(self, price: int) -> int:
        """The other tax base (DPP nilai lain): floor(price x 11/12); 0 for a non-PKP tenant."""
        if not self.pkp:
            return 0
        return other_tax_base(price, self.base_numerator, self.base_denominator)
