"""Tax settings; DP and final invoices through the API (PPN pairing exact, non-PKP without
PPN), numbering at issue, payments applied once, the PDF, permissions and other tenants."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from garment.platform.events import OutboxEvent
from garment.runtime import Runtime
from tests.invoicing.conftest import (
    INVOICES,
    SELLER_NPWP,
    TAX_SETTINGS,
    confirmed_order,
    create_invoice,
    issue,
    issued_invoice,
    pkp,
    set_tax,
)
from tests.sales.conftest import ORDERS, Shop, transition
from tests.tenant.conftest import field_errors, member_with_roles, new_key, problem

# The reseller's order of the sales suite: {S:10, M:20, L:15, XL:5, XXL:2} of a Rp 55.000 kaos
# at the 12+ tier (Rp 49.000, XXL +Rp 10.000) is 50 x 49.000 + 2 x 59.000 = Rp 2.568.000.
ORDER_PRICE = 2_568_000


async def test_tax_settings_defaults_update_and_if_match(
    client: httpx.AsyncClient, shop: Shop, runtime: Runtime
) -> None:
    first = await client.get(TAX_SETTINGS, headers=shop.owner.headers())
    assert first.status_code == 200, first.text
    body = first.json()
    async with runtime.cluster_manager.tenant_transaction(
        shop.setup.cluster, shop.setup.tenant_id
    ) as db:  # reading the defaults wrote nothing
        assert (await db.execute(text("SELECT count(*) FROM tax_settings"))).scalar_one() == 0
    assert (body["pkp"], body["ppn_rate"], body["base_numerator"], body["base_denominator"]) == (
        False,
        12,
        11,
        12,
    )
    assert first.headers["ETag"] == f'"{body["version"]}"'
    put = await client.put(
        TAX_SETTINGS,
        json={"pkp": True, "npwp": SELLER_NPWP, "seller_address": "Jl. Braga 1"},
        headers=shop.owner.headers(**{"If-Match": first.headers["ETag"]}),
    )
    assert put.status_code == 200, put.text
    assert put.json()["pkp"] is True and put.json()["npwp"] == SELLER_NPWP
    # PKP is the sales settings' one flag.
    sales = await client.get("/api/v1/tenant/sales-settings", headers=shop.owner.headers())
    assert sales.json()["pkp"] is True
    stale = await client.put(
        TAX_SETTINGS,
        json={"pkp": False},
        headers=shop.owner.headers(**{"If-Match": first.headers["ETag"]}),
    )
    problem(stale, 409, "CONFLICT")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"npwp": "12345"}, "body.npwp"),
        ({"nitku": "123"}, "body.nitku"),
        ({"nitku": "9912345678901000000000"}, "body.nitku"),
        ({"npwp": None, "nitku": "0012345678901000000000"}, "body.npwp"),
        ({"base_numerator": 13}, "body.base_numerator"),
        ({"unit_code": "PCS"}, "body.unit_code"),
    ],
)
async def test_bad_tax_ids_name_the_field(
    client: httpx.AsyncClient, shop: Shop, values: dict[str, Any], field: str
) -> None:
    response = await set_tax(client, shop.owner, pkp=True, **values)
    assert field in field_errors(response)


async def test_dp_and_final_invoices_carry_exactly_the_orders_ppn(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await pkp(client, shop)
    order = await confirmed_order(client, shop)
    assert order["ppn"] == ORDER_PRICE * 11 // 100 == 282_480
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    # The DP due is half the total (1.425.240): price 1.284.000 + PPN 141.240.
    assert (dp["price"], dp["ppn"], dp["total"]) == (1_284_000, 141_240, 1_425_240)
    assert dp["total"] >= order["down_payment_due"]
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    assert final["deduction"] == dp["price"] and final["deducted_ppn"] == dp["ppn"]
    assert final["price"] == ORDER_PRICE - dp["price"]
    assert dp["ppn"] + final["ppn"] == order["ppn"]
    assert dp["total"] + final["total"] == order["total"]
    assert final["down_payment_invoice_id"] == dp["id"]
    assert len(final["lines"]) == 5 and sum(line["amount"] for line in final["lines"]) == (
        ORDER_PRICE
    )


@pytest.mark.parametrize(
    ("sizes", "discount", "amount"),
    [
        ({"S": 7}, 0, None),
        ({"M": 13, "XL": 3}, 1_001, None),
        ({"S": 1, "M": 1, "L": 1}, 7, 33_333),
    ],
)
async def test_the_pairing_holds_for_other_orders(
    client: httpx.AsyncClient,
    shop: Shop,
    sizes: dict[str, int],
    discount: int,
    amount: int | None,
) -> None:
    await pkp(client, shop)
    lines = [{"product_id": shop.product["id"], "color": "hitam", "sizes": sizes}]
    order = await confirmed_order(client, shop, lines=lines, discount=discount)
    extra = {"amount": amount} if amount else {}
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment", **extra)
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    price = order["subtotal"] - discount
    assert dp["ppn"] + final["ppn"] == price * 11 // 100 == order["ppn"]
    assert dp["price"] + final["price"] == price
    assert final["discount"] == discount


async def test_orders_and_their_invoices_price_ppn_by_the_tenants_own_tax_rule(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    # A PKP tenant whose sales are taxed 12% on the full price (no "DPP nilai lain").
    response = await set_tax(
        client, shop.owner, pkp=True, ppn_rate=12, base_numerator=1, base_denominator=1
    )
    assert response.status_code == 200, response.text
    order = await confirmed_order(client, shop)
    assert (order["tax_base"], order["ppn"]) == (ORDER_PRICE, ORDER_PRICE * 12 // 100)
    assert order["total"] == ORDER_PRICE + order["ppn"]
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    assert dp["ppn"] + final["ppn"] == order["ppn"]
    assert dp["total"] + final["total"] == order["total"]


async def test_a_tenant_that_is_not_pkp_invoices_without_ppn(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await confirmed_order(client, shop)
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    assert dp["ppn"] == final["ppn"] == dp["other_tax_base"] == 0
    assert (dp["total"], final["total"]) == (1_284_000, 1_284_000)
    assert dp["pkp"] is False


async def test_numbers_are_taken_at_issue_in_sequence(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    first_order = await confirmed_order(client, shop)
    second_order = await confirmed_order(client, shop)
    draft = (await create_invoice(client, shop.owner, first_order["id"], "down_payment")).json()
    assert draft["number"] is None and draft["status"] == "draft"
    other = await issued_invoice(client, shop.owner, second_order["id"], "down_payment")
    issued = await issue(client, shop.owner, draft["id"])
    year = other["number"].split("/")[1]
    assert other["number"] == f"INV/{year}/000001"
    assert issued["number"] == f"INV/{year}/000002"
    assert issued["status"] == "issued" and issued["issue_date"] == issued["due_date"]
    again = await client.post(
        f"{INVOICES}/{draft['id']}/issue",
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    problem(again, 409, "INVALID_STATE_TRANSITION")


async def test_one_invoice_of_each_kind_per_order_and_the_dp_before_the_final(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await confirmed_order(client, shop)
    dp = await create_invoice(client, shop.owner, order["id"], "down_payment")
    assert dp.status_code == 201, dp.text
    twice = await create_invoice(client, shop.owner, order["id"], "down_payment")
    body = problem(twice, 409, "INVOICE_ALREADY_EXISTS")
    assert body["invoice_id"] == dp.json()["id"]
    early = await create_invoice(client, shop.owner, order["id"], "final")
    problem(early, 409, "DOWN_PAYMENT_INVOICE_NOT_ISSUED")
    too_much = await create_invoice(client, shop.owner, order["id"], "final", amount=5)
    assert "body.amount" in field_errors(too_much)
    voided = await client.post(f"{INVOICES}/{dp.json()['id']}/void", headers=shop.owner.headers())
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    assert final["deduction"] == 0 and final["price"] == ORDER_PRICE
    late = await create_invoice(client, shop.owner, order["id"], "down_payment")
    problem(late, 409, "FINAL_INVOICE_EXISTS")


async def test_drafts_and_cancelled_orders_are_not_invoiced(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = (
        await client.post(
            ORDERS,
            json={
                "customer_id": shop.reseller["id"],
                "lines": [{"product_id": shop.product["id"], "color": "hitam", "sizes": {"M": 3}}],
            },
            headers=shop.owner.headers(),
        )
    ).json()
    response = await create_invoice(client, shop.owner, order["id"], "down_payment")
    problem(response, 409, "ORDER_NOT_INVOICEABLE")
    unknown = await create_invoice(client, shop.owner, shop.product["id"], "final")
    assert "body.order_id" in field_errors(unknown)
    high = await confirmed_order(client, shop)
    refused = await create_invoice(
        client, shop.owner, high["id"], "down_payment", amount=high["total"]
    )
    assert "body.amount" in field_errors(refused)


async def test_cancelling_an_order_voids_the_invoices_it_can_take_back(
    client: httpx.AsyncClient, shop: Shop, runtime: Runtime
) -> None:
    order = await confirmed_order(client, shop)
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    final = await create_invoice(client, shop.owner, order["id"], "final")
    assert final.status_code == 201, final.text
    paid_order = await confirmed_order(client, shop)
    paid = await issued_invoice(client, shop.owner, paid_order["id"], "down_payment")
    settled = await client.post(
        f"{INVOICES}/{paid['id']}/payments",
        json={"amount": 1_000, "method": "transfer", "paid_on": "2026-12-01"},
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert settled.status_code == 200, settled.text
    for cancelled in (order, paid_order):
        moved = await transition(
            client, shop.owner, cancelled["id"], "cancelled", reason="pelanggan batal"
        )
        assert moved.status_code == 200, moved.text

    await runtime.relay.drain()  # the cancel's event reaches invoicing's listener
    await runtime.relay.drain()  # a second delivery finds nothing left to void

    async def status(invoice_id: str) -> str:
        found = await client.get(f"{INVOICES}/{invoice_id}", headers=shop.owner.headers())
        value: str = found.json()["status"]
        return value

    assert await status(dp["id"]) == "void"  # issued, nothing paid: taken back
    assert await status(final.json()["id"]) == "void"  # a draft
    assert await status(paid["id"]) == "partially_paid"  # money received stays on record
    # The slots are free again only for a live order: the cancelled one takes no new invoice.
    again = await create_invoice(client, shop.owner, order["id"], "down_payment")
    problem(again, 409, "ORDER_NOT_INVOICEABLE")


async def test_create_is_idempotent(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await confirmed_order(client, shop)
    headers = shop.owner.headers(**{"Idempotency-Key": new_key()})
    body = {"order_id": order["id"], "kind": "down_payment"}
    first = await client.post(INVOICES, json=body, headers=headers)
    again = await client.post(INVOICES, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert first.headers["Location"].endswith(first.json()["id"])


async def test_payments_are_order_payments_applied_once(
    client: httpx.AsyncClient, shop: Shop, runtime: Runtime
) -> None:
    order = await confirmed_order(client, shop)
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    path = f"{INVOICES}/{dp['id']}/payments"
    headers = shop.owner.headers(**{"Idempotency-Key": new_key()})
    body = {"amount": 1_000_000, "method": "transfer", "paid_on": "2026-12-01"}
    part = await client.post(path, json=body, headers=headers)
    assert part.status_code == 200, part.text
    replay = await client.post(path, json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert part.json()["status"] == "partially_paid" and part.json()["balance"] == 284_000
    # The money is the order's: recorded once there.
    payments = (
        await client.get(f"{ORDERS}/{order['id']}/payments", headers=shop.owner.headers())
    ).json()
    assert payments["paid_amount"] == 1_000_000 and len(payments["data"]) == 1
    # An order payment recorded on the order is applied by its id, at most once.
    direct = await client.post(
        f"{ORDERS}/{order['id']}/payments",
        json={"method": "cash", "amount": 300_000, "paid_on": "2026-12-02"},
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    payment_id = direct.json()["id"]
    over = await client.post(
        path,
        json={"amount": 300_000, "order_payment_id": payment_id},
        headers=shop.owner.headers(),
    )
    problem(over, 409, "INVOICE_PAYMENT_EXCEEDS_BALANCE")
    rest = await client.post(
        path, json={"amount": 284_000, "order_payment_id": payment_id}, headers=shop.owner.headers()
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["status"] == "paid" and rest.json()["balance"] == 0
    assert [p["amount"] for p in rest.json()["payments"]] == [1_000_000, 284_000]
    final = await issued_invoice(client, shop.owner, order["id"], "final")
    taken = await client.post(
        f"{INVOICES}/{final['id']}/payments",
        json={"amount": 16_001, "order_payment_id": payment_id},
        headers=shop.owner.headers(),
    )
    assert problem(taken, 409, "ORDER_PAYMENT_ALREADY_APPLIED")["available"] == 16_000
    both = await client.post(
        f"{INVOICES}/{final['id']}/payments",
        json={"amount": 1, "order_payment_id": payment_id, "method": "cash"},
        headers=shop.owner.headers(),
    )
    assert "body.order_payment_id" in field_errors(both)
    voided = await client.post(f"{INVOICES}/{dp['id']}/void", headers=shop.owner.headers())
    problem(voided, 409, "INVOICE_HAS_PAYMENTS")


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_the_pdf_renders(client: httpx.AsyncClient, shop: Shop, lang: str) -> None:
    await pkp(client, shop)
    order = await confirmed_order(client, shop)
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    response = await client.get(
        f"{INVOICES}/{dp['id']}/pdf", params={"lang": lang}, headers=shop.owner.headers()
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert dp["number"].replace("/", "-") in response.headers["content-disposition"]


async def test_permissions_and_other_tenants(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop, runtime: Runtime
) -> None:
    order = await confirmed_order(client, shop)
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    sales = await member_with_roles(runtime, client, shop.setup, ["sales"])
    denied = await client.get(INVOICES, headers=sales.headers())
    assert problem(denied, 403, "PERMISSION_DENIED")["permission"] == "invoices.view"
    viewer = await member_with_roles(runtime, client, shop.setup, ["viewer"])
    assert (await client.get(f"{INVOICES}/{dp['id']}", headers=viewer.headers())).status_code == 200
    write = await create_invoice(client, viewer, order["id"], "final")
    assert problem(write, 403, "PERMISSION_DENIED")["permission"] == "invoices.manage"
    tax_write = await set_tax(client, viewer, pkp=False)
    assert problem(tax_write, 403, "PERMISSION_DENIED")["permission"] == "tax.manage"
    finance = await member_with_roles(runtime, client, shop.setup, ["finance"])
    assert (await create_invoice(client, finance, order["id"], "final")).status_code == 201
    for path in (f"{INVOICES}/{dp['id']}", f"{INVOICES}/{dp['id']}/pdf"):
        problem(
            await client.get(path, headers=other_shop.owner.headers()), 404, "RESOURCE_NOT_FOUND"
        )
    foreign = await create_invoice(client, other_shop.owner, order["id"], "final")
    assert "body.order_id" in field_errors(foreign)
    listed = (await client.get(INVOICES, headers=other_shop.owner.headers())).json()
    assert listed["data"] == []
    # Row-level security holds without the application's filter too.
    async with runtime.cluster_manager.tenant_transaction(
        other_shop.setup.cluster, other_shop.setup.tenant_id
    ) as db:
        rows = await db.execute(text("SELECT count(*) FROM invoices"))
        assert rows.scalar_one() == 0


async def test_list_filters_and_pages(client: httpx.AsyncClient, shop: Shop) -> None:
    orders = [await confirmed_order(client, shop) for _ in range(3)]
    for order in orders:
        await issued_invoice(client, shop.owner, order["id"], "down_payment")
    page = await client.get(INVOICES, params={"limit": 2}, headers=shop.owner.headers())
    assert page.status_code == 200 and len(page.json()["data"]) == 2
    cursor = page.json()["meta"]["next_cursor"]
    rest = await client.get(
        INVOICES, params={"limit": 2, "cursor": cursor}, headers=shop.owner.headers()
    )
    assert len(rest.json()["data"]) == 1
    one = await client.get(
        INVOICES, params={"order_id": orders[0]["id"]}, headers=shop.owner.headers()
    )
    assert [row["order_id"] for row in one.json()["data"]] == [orders[0]["id"]]
    none = await client.get(INVOICES, params={"kind": "final"}, headers=shop.owner.headers())
    assert none.json()["data"] == []


async def test_issuing_publishes_invoice_issued_and_every_change_is_audited(
    client: httpx.AsyncClient, shop: Shop, runtime: Runtime
) -> None:
    order = await confirmed_order(client, shop)
    dp = await issued_invoice(client, shop.owner, order["id"], "down_payment")
    async with runtime.central.transaction() as session:
        rows = (
            await session.execute(
                select(OutboxEvent.name, OutboxEvent.payload).where(
                    OutboxEvent.payload["invoice_id"].astext == dp["id"]
                )
            )
        ).all()
    assert [(name, payload["number"], payload["kind"]) for name, payload in rows] == [
        ("invoicing.InvoiceIssued", dp["number"], "down_payment")
    ]
    (payload,) = [payload for _, payload in rows]
    assert (payload["total"], payload["ppn"], payload["order_id"]) == (
        dp["total"],
        dp["ppn"],
        order["id"],
    )
    audit = await client.get(
        "/api/v1/tenant/audit-logs",
        params={"entity_type": "invoice", "entity_id": dp["id"]},
        headers=shop.owner.headers(),
    )
    assert sorted(entry["action"] for entry in audit.json()["data"]) == ["create", "update"]
