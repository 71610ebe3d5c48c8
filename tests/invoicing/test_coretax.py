"""The Coretax export through the API (per invoice and batch, checked first, behind the plan's
`coretax_export`), immutability after export, replacement invoices and the NSFP import."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from garment.runtime import Runtime
from tests.invoicing.conftest import (
    BUYER_NPWP,
    INVOICES,
    SELLER_NPWP,
    buyer,
    confirmed_order,
    issue,
    issued_invoice,
    parse_xml,
    pkp,
    set_tax,
)
from tests.sales.conftest import Shop
from tests.tenant.conftest import field_errors, member_with_roles, new_key, problem

NSFP = "04002600000012345"


async def _pkp_invoice(
    client: httpx.AsyncClient, shop: Shop, **customer: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    await pkp(client, shop)
    customer_row = await buyer(client, shop.owner, **customer)
    order = await confirmed_order(client, shop, customer_row)
    return order, await issued_invoice(client, shop.owner, order["id"], "down_payment")


async def test_one_invoice_exports_as_tax_invoice_bulk(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    _, dp = await _pkp_invoice(client, shop)
    response = await client.get(f"{INVOICES}/{dp['id']}/coretax.xml", headers=shop.owner.headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = parse_xml(response.content)
    assert root.tag == "TaxInvoiceBulk" and root.findtext("TIN") == SELLER_NPWP
    invoice = root.find("ListOfTaxInvoice/TaxInvoice")
    assert invoice is not None
    assert invoice.findtext("TrxCode") == "04"
    assert invoice.findtext("TaxInvoiceDate") == dp["issue_date"]
    assert invoice.findtext("RefDesc") == dp["number"]
    assert invoice.findtext("BuyerTin") == BUYER_NPWP
    assert invoice.findtext("BuyerIDTKU") == BUYER_NPWP + "000001"
    assert invoice.findtext("BuyerName") == "PT Seragam Nusantara"
    (good,) = invoice.findall("ListOfGoodService/GoodService")
    assert good.findtext("Opt") == "A" and good.findtext("Unit") == "UM.0018"
    assert int(good.findtext("TaxBase") or 0) == dp["price"]
    assert int(good.findtext("OtherTaxBase") or 0) == dp["other_tax_base"]
    assert int(good.findtext("VAT") or 0) == dp["ppn"]
    assert good.findtext("VATRate") == "12"
    detail = (await client.get(f"{INVOICES}/{dp['id']}", headers=shop.owner.headers())).json()
    assert detail["coretax_exported_at"] is not None


async def test_a_batch_exports_every_invoice_and_the_lines_add_up(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order, dp = await _pkp_invoice(client, shop)
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    response = await client.post(
        f"{INVOICES}/coretax-export",
        json={"invoice_ids": [dp["id"], final["id"]]},
        headers=shop.owner.headers(),
    )
    assert response.status_code == 200, response.text
    invoices = parse_xml(response.content).findall("ListOfTaxInvoice/TaxInvoice")
    assert [node.findtext("RefDesc") for node in invoices] == [dp["number"], final["number"]]
    goods = invoices[1].findall("ListOfGoodService/GoodService")
    assert len(goods) == len(final["lines"])
    vat = sum(int(good.findtext("VAT") or 0) for good in goods)
    base = sum(int(good.findtext("TaxBase") or 0) for good in goods)
    discount = sum(int(good.findtext("TotalDiscount") or 0) for good in goods)
    assert (vat, base, discount) == (final["ppn"], final["price"], final["deduction"])
    assert vat + int(invoices[0].findtext("ListOfGoodService/GoodService/VAT") or 0) == order["ppn"]
    unknown = await client.post(
        f"{INVOICES}/coretax-export",
        json={"invoice_ids": [dp["id"], order["id"]]},
        headers=shop.owner.headers(),
    )
    assert "body.invoice_ids.1" in field_errors(unknown)


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"nitku": "0099999999999999000001"}, "customer.nitku"),
        ({"npwp": None, "nitku": None}, "customer.npwp"),
        ({"address": None}, "customer.address"),
    ],
)
async def test_bad_buyer_ids_are_422_naming_the_field(
    client: httpx.AsyncClient, shop: Shop, runtime: Runtime, customer: dict[str, Any], field: str
) -> None:
    # The customers API refuses a NITKU of another NPWP, so the bad one is stored directly
    # (as data imported before that check existed would be).
    _, dp = await _pkp_invoice(client, shop)
    async with runtime.cluster_manager.tenant_transaction(
        shop.setup.cluster, shop.setup.tenant_id
    ) as db:
        row = await runtime.customers.get(db, shop.setup.tenant_id, uuid.UUID(dp["customer_id"]))
        for name, value in customer.items():
            setattr(row, name, value)
    response = await client.get(f"{INVOICES}/{dp['id']}/coretax.xml", headers=shop.owner.headers())
    assert field in field_errors(response)
    batch = await client.post(
        f"{INVOICES}/coretax-export", json={"invoice_ids": [dp["id"]]}, headers=shop.owner.headers()
    )
    assert f"body.invoice_ids.0.{field}" in field_errors(batch)
    detail = (await client.get(f"{INVOICES}/{dp['id']}", headers=shop.owner.headers())).json()
    assert detail["coretax_exported_at"] is None


async def test_a_bad_seller_npwp_or_nitku_is_422(client: httpx.AsyncClient, shop: Shop) -> None:
    _, dp = await _pkp_invoice(client, shop)
    await set_tax(client, shop.owner, pkp=True, npwp=None, nitku=None)
    missing = await client.get(f"{INVOICES}/{dp['id']}/coretax.xml", headers=shop.owner.headers())
    assert "tax_settings.npwp" in field_errors(missing)
    await set_tax(client, shop.owner, pkp=True, base_numerator=1, base_denominator=1)
    ratio = await client.get(f"{INVOICES}/{dp['id']}/coretax.xml", headers=shop.owner.headers())
    assert "tax_settings.base_numerator" in field_errors(ratio)


async def test_non_pkp_and_draft_invoices_are_not_exported(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await confirmed_order(client, shop)
    plain = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    refused = await client.get(
        f"{INVOICES}/{plain['id']}/coretax.xml", headers=shop.owner.headers()
    )
    problem(refused, 409, "INVOICE_NOT_TAXABLE")
    draft = await client.post(
        INVOICES,
        json={"order_id": order["id"], "kind": "final"},
        headers=shop.owner.headers(),
    )
    early = await client.get(
        f"{INVOICES}/{draft.json()['id']}/coretax.xml", headers=shop.owner.headers()
    )
    problem(early, 409, "INVOICE_NOT_ISSUED")


async def test_the_plan_must_include_the_coretax_export(
    client: httpx.AsyncClient, shop: Shop, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, dp = await _pkp_invoice(client, shop)

    class StarterPlan:
        """The real refusal of the starter plan, whatever plan the test tenant is on."""

        def require_feature(self, plan_code: str, feature: str) -> None:
            runtime.entitlements.require_feature("starter", feature)

    monkeypatch.setattr(runtime.invoices, "entitlements", StarterPlan())
    response = await client.get(f"{INVOICES}/{dp['id']}/coretax.xml", headers=shop.owner.headers())
    assert problem(response, 402, "PLAN_FEATURE_UNAVAILABLE")["feature"] == "coretax_export"


async def test_an_exported_invoice_is_immutable_and_corrected_by_a_replacement(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order, dp = await _pkp_invoice(client, shop)
    paid = await client.post(
        f"{INVOICES}/{dp['id']}/payments",
        json={"amount": 500_000, "method": "transfer", "paid_on": "2026-12-02"},
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert paid.status_code == 200, paid.text
    exported = await client.get(f"{INVOICES}/{dp['id']}/coretax.xml", headers=shop.owner.headers())
    assert exported.status_code == 200
    patch = await client.patch(
        f"{INVOICES}/{dp['id']}", json={"notes": "ubah"}, headers=shop.owner.headers()
    )
    problem(patch, 409, "INVOICE_EXPORTED")
    problem(
        await client.post(f"{INVOICES}/{dp['id']}/void", headers=shop.owner.headers()),
        409,
        "INVOICE_EXPORTED",
    )
    recorded = await client.post(
        f"{INVOICES}/{dp['id']}/nsfp", json={"nsfp": NSFP}, headers=shop.owner.headers()
    )
    assert recorded.status_code == 200 and recorded.json()["nsfp"] == NSFP
    replacement = await client.post(
        f"{INVOICES}/{dp['id']}/replacement",
        json={"notes": "NPWP pembeli diperbaiki"},
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert replacement.status_code == 201, replacement.text
    new = replacement.json()
    assert new["replaces_id"] == dp["id"] and new["status"] == "draft"
    assert (new["total"], new["ppn"]) == (dp["total"], dp["ppn"])
    assert new["paid_amount"] == 500_000 and len(new["payments"]) == 1
    original = (await client.get(f"{INVOICES}/{dp['id']}", headers=shop.owner.headers())).json()
    assert original["status"] == "replaced" and original["paid_amount"] == 0
    issued = await issue(client, shop.owner, new["id"])
    assert issued["status"] == "partially_paid" and issued["number"] != dp["number"]
    xml = await client.get(f"{INVOICES}/{new['id']}/coretax.xml", headers=shop.owner.headers())
    ref = parse_xml(xml.content).findtext("ListOfTaxInvoice/TaxInvoice/RefDesc") or ""
    assert dp["number"] in ref and NSFP in ref
    # The final invoice deducts the replacement, and the pair still lands on the order's PPN.
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    assert final["down_payment_invoice_id"] == new["id"]
    assert issued["ppn"] + final["ppn"] == order["ppn"]


async def test_nsfp_import_single_and_batch_with_validation(
    client: httpx.AsyncClient, shop: Shop, runtime: Runtime
) -> None:
    order, dp = await _pkp_invoice(client, shop)
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    early = await client.post(
        f"{INVOICES}/{dp['id']}/nsfp", json={"nsfp": NSFP}, headers=shop.owner.headers()
    )
    problem(early, 409, "INVOICE_NOT_EXPORTED")
    short = await client.post(
        f"{INVOICES}/{dp['id']}/nsfp", json={"nsfp": "1234"}, headers=shop.owner.headers()
    )
    assert "body.nsfp" in field_errors(short)
    batch = await client.post(
        f"{INVOICES}/coretax-export",
        json={"invoice_ids": [dp["id"], final["id"]]},
        headers=shop.owner.headers(),
    )
    assert batch.status_code == 200
    other = "04002600000012346"
    bad = await client.post(
        f"{INVOICES}/nsfp-import",
        json={
            "items": [
                {"number": dp["number"], "nsfp": NSFP},
                {"number": "INV/2026/999999", "nsfp": other},
            ]
        },
        headers=shop.owner.headers(),
    )
    assert "body.items.1.number" in field_errors(bad)
    unchanged = (await client.get(f"{INVOICES}/{dp['id']}", headers=shop.owner.headers())).json()
    assert unchanged["nsfp"] is None  # all or none
    csv_body = f"nomor,nsfp\n{dp['number']},{NSFP}\n{final['number']},{other}\n"
    imported = await client.post(
        f"{INVOICES}/nsfp-import", json={"csv": csv_body}, headers=shop.owner.headers()
    )
    assert imported.status_code == 200, imported.text
    assert [row["nsfp"] for row in imported.json()["data"]] == [NSFP, other]
    taken = await client.post(
        f"{INVOICES}/{dp['id']}/nsfp", json={"nsfp": other}, headers=shop.owner.headers()
    )
    problem(taken, 409, "NSFP_ALREADY_SET")
    garbled = await client.post(
        f"{INVOICES}/nsfp-import", json={"csv": f"{dp['number']};12"}, headers=shop.owner.headers()
    )
    assert "body.csv" in field_errors(garbled)
    viewer = await member_with_roles(runtime, client, shop.setup, ["viewer"])
    denied = await client.post(
        f"{INVOICES}/{dp['id']}/nsfp", json={"nsfp": NSFP}, headers=viewer.headers()
    )
    assert problem(denied, 403, "PERMISSION_DENIED")["permission"] == "tax.manage"
