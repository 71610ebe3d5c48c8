"""The PPN arithmetic of customer invoices, in exact integers (no floats anywhere).

Spec 03 (PKP tenants, transaction code 04): the tax base "DPP nilai lain" is 11/12 of the
price and PPN is 12% of that base, rounded down to whole rupiah. Computed in one step,
PPN = floor(price x 11 x 12 / (12 x 100)) = floor(price x 11 / 100): rounding the base first
would lose a rupiah (Rp 145.000 gives 15.949 instead of 15.950). Both the rate and the base
ratio are tax settings.

The down payment (DP) invoice and the final invoice of one order are a pair: the final invoice
carries the order's whole PPN less the PPN already invoiced on the DP, so the two together are
exactly one invoice for the whole order, whatever the rounding of each."""

from __future__ import annotations

from dataclasses import dataclass

from garment.platform.ppn import TaxRule

# PP 55/2022: 0.5% final income tax on the monthly gross turnover of a small business.
TURNOVER_TAX_PER_MILLE = 5


@dataclass(frozen=True, slots=True)
class InvoiceTax:
    """An invoice's money: `price` is the taxable amount before PPN (DPP), `other_tax_base`
    the DPP nilai lain, `ppn` the tax and `total` what the customer pays."""

    price: int
    other_tax_base: int
    ppn: int

    @property
    def total(self) -> int:
        return self.price + self.ppn


def whole(rule: TaxRule, price: int) -> InvoiceTax:
    """One invoice for `price` rupiah."""
    return InvoiceTax(price, rule.tax_base(price), rule.ppn(price))


def final(rule: TaxRule, order_price: int, down_payment: InvoiceTax | None) -> InvoiceTax:
    """The final invoice of an order: the whole order less what the DP invoice carried, field
    by field, so DP + final equals one invoice for the whole order exactly."""
    order = whole(rule, order_price)
    if down_payment is None:
        return order
    return InvoiceTax(
        order.price - down_payment.price,
        order.other_tax_base - down_payment.other_tax_base,
        order.ppn - down_payment.ppn,
    )


def price_for_gross(rule: TaxRule, gross: int, *, ceiling: int) -> int:
    """The smallest price whose price + PPN reaches `gross` (a down payment the customer pays,
    PPN included), at most `ceiling` (the order's price). Paying the DP invoice therefore always
    meets the order's down payment."""
    if gross <= 0:
        return 0
    if not rule.pkp:
        return min(gross, ceiling)
    scale = rule.base_denominator * 100
    price = gross * scale // (scale + rule.base_numerator * rule.rate)
    while price + rule.ppn(price) < gross:
        price += 1
    while price > 0 and price - 1 + rule.ppn(price - 1) >= gross:
        price -= 1
    return min(price, ceiling)


def down_payment(rule: TaxRule, gross: int, *, order_price: int) -> InvoiceTax:
    """The DP invoice for a down payment of `gross` rupiah (PPN included)."""
    return whole(rule, price_for_gross(rule, gross, ceiling=order_price))


def turnover_tax(gross_turnover: int) -> int:
    """0.5% of the month's gross turnover, rounded down to whole rupiah."""
    return max(gross_turnover, 0) * TURNOVER_TAX_PER_MILLE // 1000


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` over `weights` in proportion, in integers summing to `total` exactly
    (largest remainder; ties to the earlier weight). All-zero weights: all on the first."""
    if not weights:
        return []
    whole_weight = sum(weights)
    if whole_weight <= 0:
        return [total, *([0] * (len(weights) - 1))]
    shares = [total * weight // whole_weight for weight in weights]
    remainders = [total * weight % whole_weight for weight in weights]
    left = total - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return shares
