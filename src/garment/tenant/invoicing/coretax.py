"""The Coretax `TaxInvoiceBulk` XML (DJP's import format for output tax invoices), built from
plain values, and the checks that must pass before a file is written.

Layout (one `TaxInvoice` per invoice):

    TaxInvoiceBulk
      TIN                      the seller's 16-digit NPWP
      ListOfTaxInvoice
        TaxInvoice
          TaxInvoiceDate, TaxInvoiceOpt (Normal), TrxCode (04), AddInfo, CustomDoc,
          CustomDocMonthYear, RefDesc (our invoice number), FacilityStamp, SellerIDTKU,
          BuyerTin, BuyerDocument (TIN | National ID), BuyerCountry (IDN), BuyerDocumentNumber,
          BuyerName, BuyerAdress, BuyerEmail, BuyerIDTKU
          ListOfGoodService
            GoodService: Opt, Code, Name, Unit, Price, Qty, TotalDiscount, TaxBase,
                         OtherTaxBase, VATRate, VAT, STLGRate, STLG

Amounts are whole rupiah. The header figures of our invoice are authoritative: each line's
discount (the invoice discount and, on a final invoice, the DP deducted), other tax base and
VAT are the header's split over the lines in proportion (largest remainder), so the lines add
up to the invoice exactly."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

from garment.platform.errors import FieldErrors
from garment.tenant.invoicing.errors import (
    BUYER_ADDRESS_MISSING,
    BUYER_ID_MISSING,
    BUYER_NITKU_INVALID,
    BUYER_NPWP_INVALID,
    GOODS_CODE_INVALID,
    SELLER_NITKU_NOT_OF_NPWP,
    SELLER_NPWP_MISSING,
    TRX_CODE_UNSUPPORTED,
    UNIT_CODE_INVALID,
)
from garment.tenant.invoicing.tax import allocate

TRX_CODE = "04"  # DPP nilai lain (other tax base 11/12)
TRX_CODE_RATIO = (11, 12)
NO_TIN = "0000000000000000"
HEAD_OFFICE = "000000"
UNIT_CODE = re.compile(r"^UM\.[0-9]{4}$")
GOODS_CODE = re.compile(r"^[0-9]{6}$")
DIGITS = re.compile(r"^[0-9]+$")


def npwp16(npwp: str) -> str:
    """The 16-digit NPWP: the old 15-digit form gets a leading 0."""
    return npwp if len(npwp) == 16 else "0" + npwp


@dataclass(frozen=True, slots=True)
class Seller:
    npwp: str | None
    nitku: str | None
    base_numerator: int
    base_denominator: int


@dataclass(frozen=True, slots=True)
class Buyer:
    name: str
    npwp: str | None
    nik: str | None
    nitku: str | None
    address: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class Item:
    opt: str
    code: str
    name: str
    unit: str
    price: int
    qty: int
    amount: int


@dataclass(frozen=True, slots=True)
class TaxDocument:
    number: str
    issue_date: date
    ref_desc: str
    buyer: Buyer
    items: list[Item]
    deductions: int  # the invoice discount + the DP price deducted
    price: int
    other_tax_base: int
    ppn: int
    rate: int


def check_seller(seller: Seller, problems: FieldErrors) -> None:
    if not seller.npwp:
        problems.add("tax_settings.npwp", SELLER_NPWP_MISSING)
        return
    if seller.nitku and seller.nitku[:16] != npwp16(seller.npwp):
        problems.add("tax_settings.nitku", SELLER_NITKU_NOT_OF_NPWP, npwp=npwp16(seller.npwp))
    if (seller.base_numerator, seller.base_denominator) != TRX_CODE_RATIO:
        problems.add("tax_settings.base_numerator", TRX_CODE_UNSUPPORTED)


def check_document(document: TaxDocument, problems: FieldErrors, prefix: str = "") -> None:
    """Buyer ids and line codes; `prefix` names the invoice in a batch."""
    buyer = document.buyer
    if buyer.npwp:
        if not DIGITS.match(buyer.npwp) or len(buyer.npwp) not in (15, 16):
            problems.add(f"{prefix}customer.npwp", BUYER_NPWP_INVALID)
        elif buyer.nitku and (
            len(buyer.nitku) != 22
            or not DIGITS.match(buyer.nitku)
            or buyer.nitku[:16] != npwp16(buyer.npwp)
        ):
            problems.add(f"{prefix}customer.nitku", BUYER_NITKU_INVALID, npwp=npwp16(buyer.npwp))
    elif not buyer.nik:
        problems.add(f"{prefix}customer.npwp", BUYER_ID_MISSING)
    if not buyer.address:
        problems.add(f"{prefix}customer.address", BUYER_ADDRESS_MISSING)
    for index, item in enumerate(document.items):
        if not UNIT_CODE.match(item.unit):
            problems.add(f"{prefix}lines.{index}.unit_code", UNIT_CODE_INVALID)
        if not GOODS_CODE.match(item.code):
            problems.add(f"{prefix}lines.{index}.goods_code", GOODS_CODE_INVALID)


def _buyer_elements(buyer: Buyer) -> list[tuple[str, str]]:
    if buyer.npwp:
        tin = npwp16(buyer.npwp)
        document, number, idtku = "TIN", "-", buyer.nitku or tin + HEAD_OFFICE
    else:  # a person without NPWP: the NIK as the identity document
        tin, document, number, idtku = NO_TIN, "National ID", buyer.nik or "-", HEAD_OFFICE
    return [
        ("BuyerTin", tin),
        ("BuyerDocument", document),
        ("BuyerCountry", "IDN"),
        ("BuyerDocumentNumber", number),
        ("BuyerName", buyer.name),
        ("BuyerAdress", buyer.address or ""),
        ("BuyerEmail", buyer.email or ""),
        ("BuyerIDTKU", idtku),
    ]


def _text(parent: ET.Element, tag: str, value: str | int) -> None:
    ET.SubElement(parent, tag).text = str(value)


def _goods(parent: ET.Element, document: TaxDocument) -> None:
    listing = ET.SubElement(parent, "ListOfGoodService")
    amounts = [item.amount for item in document.items]
    discounts = allocate(document.deductions, amounts)
    bases = [amount - discount for amount, discount in zip(amounts, discounts, strict=True)]
    other_bases = allocate(document.other_tax_base, bases)
    vats = allocate(document.ppn, bases)
    for index, item in enumerate(document.items):
        good = ET.SubElement(listing, "GoodService")
        for tag, value in (
            ("Opt", item.opt),
            ("Code", item.code),
            ("Name", item.name),
            ("Unit", item.unit),
            ("Price", item.price),
            ("Qty", item.qty),
            ("TotalDiscount", discounts[index]),
            ("TaxBase", bases[index]),
            ("OtherTaxBase", other_bases[index]),
            ("VATRate", document.rate),
            ("VAT", vats[index]),
            ("STLGRate", 0),
            ("STLG", 0),
        ):
            _text(good, tag, value)


def tax_invoice_bulk(seller: Seller, documents: list[TaxDocument]) -> bytes:
    """The XML file (UTF-8, with its declaration) for `documents`, checked beforehand."""
    assert seller.npwp  # check_seller ran
    seller_tin = npwp16(seller.npwp)
    root = ET.Element("TaxInvoiceBulk")
    _text(root, "TIN", seller_tin)
    invoices = ET.SubElement(root, "ListOfTaxInvoice")
    for document in documents:
        invoice = ET.SubElement(invoices, "TaxInvoice")
        for tag, value in (
            ("TaxInvoiceDate", document.issue_date.isoformat()),
            ("TaxInvoiceOpt", "Normal"),
            ("TrxCode", TRX_CODE),
            ("AddInfo", ""),
            ("CustomDoc", ""),
            ("CustomDocMonthYear", ""),
            ("RefDesc", document.ref_desc),
            ("FacilityStamp", ""),
            ("SellerIDTKU", seller.nitku or seller_tin + HEAD_OFFICE),
            *_buyer_elements(document.buyer),
        ):
            _text(invoice, tag, value)
        _goods(invoice, document)
    ET.indent(root)
    content: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return content
