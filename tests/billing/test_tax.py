"""PPN in exact integers: floor(price x rate x base ratio / 100), never rounding the base first."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garment.central.billing.tax import TaxRule, ppn
from garment.config import BillingSettings

DEFAULT = TaxRule.parse(12, "11/12")


@pytest.mark.parametrize(
    ("price", "tax"),
    [(1_000_000, 110_000), (145_000, 15_950), (149_000, 16_390), (449_000, 49_390), (1, 0)],
)
def test_the_spec_examples(price: int, tax: int) -> None:
    assert ppn(price, DEFAULT).amount == tax


def test_the_defaults_come_from_configuration() -> None:
    settings = BillingSettings()
    rule = TaxRule.parse(settings.ppn_rate, settings.ppn_base_ratio)
    assert rule == DEFAULT
    assert ppn(1_000_000, rule).base == 916_666
    assert ppn(1_000_000, rule).rate == 12


def test_nothing_is_owed_on_nothing() -> None:
    assert ppn(0, DEFAULT).amount == 0
    assert ppn(-5_000, DEFAULT).amount == 0


@given(
    price=st.integers(min_value=0, max_value=10**13),
    rate=st.integers(min_value=0, max_value=100),
    numerator=st.integers(min_value=1, max_value=50),
    denominator=st.integers(min_value=1, max_value=50),
)
def test_matches_exact_fractions(price: int, rate: int, numerator: int, denominator: int) -> None:
    rule = TaxRule(rate, numerator, denominator)
    exact = Fraction(price) * Fraction(rate, 100) * Fraction(numerator, denominator)
    tax = ppn(price, rule)
    assert tax.amount == math.floor(exact)
    assert tax.base == math.floor(Fraction(price) * Fraction(numerator, denominator))
    assert isinstance(tax.amount, int)


@given(price=st.integers(min_value=1, max_value=10**12))
def test_default_rule_is_floor_of_eleven_percent(price: int) -> None:
    assert ppn(price, DEFAULT).amount == price * 11 // 100
