"""The PPN rule in exact integers, the DP + final pairing over many random orders, the split of
header figures over lines, and the Coretax XML structure (pure functions, no database)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from garment.platform.errors import AppError, FieldErrors
from garment.platform.ppn import TaxRule
from garment.tenant.invoicing import coretax, tax
from tests.invoicing.conftest import parse_xml

PKP = TaxRule(pkp=True)
NOT_PKP = TaxRule(pkp=False)


@pytest.mark.parametrize(
    ("price", "ppn"),
    [(1_000_000, 110_000), (145_000, 15_950), (1_234_567, 135_802), (7, 0), (0, 0)],
)
def test_ppn_examples_of_the_spec(price: int, ppn: int) -> None:
    assert PKP.ppn(price) == ppn
    assert tax.whole(PKP, price).total == price + ppn


def test_the_one_step_rule_keeps_the_rupiah_rounding_the_base_first_would_lose() -> None:
    # 11/12 of 145.000 is 132.916,67; 12% of the rounded base would be 15.949.
    assert PKP.tax_base(145_000) == 132_916
    assert PKP.tax_base(145_000) * 12 // 100 == 15_949
    assert PKP.ppn(145_000) == 15_950


def test_other_rates_follow_the_general_formula() -> None:
    eleven = TaxRule(pkp=True, rate=11, base_numerator=1, base_denominator=1)
    assert eleven.ppn(1_000_000) == 110_000
    assert eleven.ppn(145_001) == 145_001 * 11 // 100


def test_a_tenant_that_is_not_pkp_charges_no_ppn() -> None:
    figures = tax.whole(NOT_PKP, 1_234_567)
    assert (figures.ppn, figures.other_tax_base, figures.total) == (0, 0, 1_234_567)
    dp = tax.down_payment(NOT_PKP, 600_000, order_price=1_234_567)
    assert (dp.price, dp.ppn) == (600_000, 0)


orders = st.tuples(
    st.integers(min_value=1, max_value=10_000_000_000),  # the order's price (DPP)
    st.integers(min_value=1, max_value=99),  # the DP percent
)


@settings(max_examples=1000, deadline=None)
@given(orders)
def test_dp_plus_final_is_exactly_one_invoice_for_the_whole_order(
    order: tuple[int, int],
) -> None:
    price, percent = order
    whole = tax.whole(PKP, price)
    # The order's down payment: a percent of its total, PPN included (orders' policy).
    gross = whole.total * percent // 100
    dp = tax.down_payment(PKP, gross, order_price=price)
    final = tax.final(PKP, price, dp)
    assert dp.ppn + final.ppn == whole.ppn
    assert dp.price + final.price == price
    assert dp.other_tax_base + final.other_tax_base == whole.other_tax_base
    assert dp.total + final.total == whole.total
    assert final.price >= 0 and final.ppn >= 0
    # Each half is its own rule's PPN, or one rupiah more on the final (the pair's rounding).
    assert dp.ppn == PKP.ppn(dp.price)
    assert final.ppn - PKP.ppn(final.price) in (0, 1)
    # Paying the DP invoice meets the order's down payment, by the smallest price that does.
    assert dp.total >= gross
    assert dp.price == 0 or dp.price - 1 + PKP.ppn(dp.price - 1) < gross


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30),
)
def test_allocate_splits_exactly(total: int, weights: list[int]) -> None:
    shares = tax.allocate(total, weights)
    assert sum(shares) == total and len(shares) == len(weights)
    if sum(weights):
        assert all(share == 0 for share, weight in zip(shares, weights, strict=True) if not weight)


def test_turnover_tax_is_half_a_percent_rounded_down() -> None:
    assert tax.turnover_tax(2_568_000) == 12_840
    assert tax.turnover_tax(199) == 0
    assert tax.turnover_tax(4_800_000_001) == 24_000_000


def _document(**buyer: str | None) -> coretax.TaxDocument:
    values: dict[str, str | None] = {
        "name": "PT Seragam Nusantara",
        "npwp": "0023456789012000",
        "nik": None,
        "nitku": "0023456789012000000001",
        "address": "Jl. Asia Afrika 8",
        "email": None,
    }
    values.update(buyer)
    items = [
        coretax.Item("A", "000000", "Kaos hitam M", "UM.0018", 49_000, 50, 2_450_000),
        coretax.Item("A", "000000", "Kaos hitam XXL", "UM.0018", 59_000, 2, 118_000),
    ]
    price = 2_568_000 - 1_284_000
    return coretax.TaxDocument(
        number="INV/2026/000002",
        issue_date=date(2026, 12, 2),
        ref_desc="INV/2026/000002",
        buyer=coretax.Buyer(**values),  # type: ignore[arg-type]
        items=items,
        deductions=1_284_000,
        price=price,
        other_tax_base=PKP.tax_base(2_568_000) - PKP.tax_base(1_284_000),
        ppn=141_240,
        rate=12,
    )


def test_the_xml_has_the_tax_invoice_bulk_structure_and_adds_up() -> None:
    seller = coretax.Seller("0012345678901000", None, 11, 12)
    document = _document()
    root = parse_xml(coretax.tax_invoice_bulk(seller, [document]))
    assert root.tag == "TaxInvoiceBulk"
    assert root.findtext("TIN") == "0012345678901000"
    invoices = root.findall("ListOfTaxInvoice/TaxInvoice")
    assert len(invoices) == 1
    invoice = invoices[0]
    assert [child.tag for child in invoice] == [
        "TaxInvoiceDate",
        "TaxInvoiceOpt",
        "TrxCode",
        "AddInfo",
        "CustomDoc",
        "CustomDocMonthYear",
        "RefDesc",
        "FacilityStamp",
        "SellerIDTKU",
        "BuyerTin",
        "BuyerDocument",
        "BuyerCountry",
        "BuyerDocumentNumber",
        "BuyerName",
        "BuyerAdress",
        "BuyerEmail",
        "BuyerIDTKU",
        "ListOfGoodService",
    ]
    assert invoice.findtext("TaxInvoiceDate") == "2026-12-02"
    assert invoice.findtext("TrxCode") == "04"
    assert invoice.findtext("SellerIDTKU") == "0012345678901000000000"
    assert invoice.findtext("BuyerTin") == "0023456789012000"
    assert invoice.findtext("BuyerDocument") == "TIN"
    assert invoice.findtext("BuyerIDTKU") == "0023456789012000000001"
    goods = invoice.findall("ListOfGoodService/GoodService")
    assert [child.tag for child in goods[0]] == [
        "Opt",
        "Code",
        "Name",
        "Unit",
        "Price",
        "Qty",
        "TotalDiscount",
        "TaxBase",
        "OtherTaxBase",
        "VATRate",
        "VAT",
        "STLGRate",
        "STLG",
    ]

    def total(tag: str) -> int:
        return sum(int(good.findtext(tag) or "0") for good in goods)

    assert total("TotalDiscount") == document.deductions
    assert total("TaxBase") == document.price
    assert total("OtherTaxBase") == document.other_tax_base
    assert total("VAT") == document.ppn
    for good in goods:
        base = int(good.findtext("TaxBase") or "0")
        amount = int(good.findtext("Price") or "0") * int(good.findtext("Qty") or "0")
        assert base == amount - int(good.findtext("TotalDiscount") or "0")


def test_a_buyer_with_only_a_nik_is_identified_by_it() -> None:
    seller = coretax.Seller("0012345678901000", "0012345678901000000000", 11, 12)
    document = _document(npwp=None, nitku=None, nik="3273015506900002")
    invoice = parse_xml(coretax.tax_invoice_bulk(seller, [document])).find(
        "ListOfTaxInvoice/TaxInvoice"
    )
    assert invoice is not None
    assert invoice.findtext("BuyerTin") == "0000000000000000"
    assert invoice.findtext("BuyerDocument") == "National ID"
    assert invoice.findtext("BuyerDocumentNumber") == "3273015506900002"


def _problems(seller: coretax.Seller, document: coretax.TaxDocument) -> dict[str, list[str]]:
    problems = FieldErrors()
    coretax.check_seller(seller, problems)
    coretax.check_document(document, problems)
    try:
        problems.raise_if_any()
    except AppError as exc:
        return exc.errors or {}
    return {}


def test_the_checks_name_each_field() -> None:
    good_seller = coretax.Seller("0012345678901000", None, 11, 12)
    assert _problems(good_seller, _document()) == {}
    assert set(_problems(coretax.Seller(None, None, 11, 12), _document())) == {"tax_settings.npwp"}
    wrong_nitku = coretax.Seller("0012345678901000", "9912345678901000000000", 11, 12)
    assert set(_problems(wrong_nitku, _document())) == {"tax_settings.nitku"}
    assert set(_problems(coretax.Seller("0012345678901000", None, 1, 1), _document())) == {
        "tax_settings.base_numerator"
    }
    assert set(_problems(good_seller, _document(nitku="0099999999999999000001"))) == {
        "customer.nitku"
    }
    assert set(_problems(good_seller, _document(npwp="12345"))) == {"customer.npwp"}
    assert set(_problems(good_seller, _document(npwp=None, nitku=None))) == {"customer.npwp"}
    assert set(_problems(good_seller, _document(address=None))) == {"customer.address"}
