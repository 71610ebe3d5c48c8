"""Payments (idempotent, exact balance, never above it), the tenant's down payment policy;
quotations with revisions converted from the latest valid one (expired or superseded refuse);
names-and-sizes lists that set the breakdown and give a packing list per person."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import text

from garment.runtime import Runtime
from tests.sales.conftest import (
    GRID,
    ORDERS,
    QUOTATIONS,
    SALES_SETTINGS,
    Shop,
    create_order,
)
from tests.tenant.conftest import field_errors, member_with_roles, new_key, problem


async def test_payments_are_idempotent_and_the_balance_is_exact(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)
    path = f"{ORDERS}/{order['id']}/payments"
    body = {
        "method": "transfer",
        "amount": 1_000_001,
        "paid_on": "2026-12-01",
        "proof_reference": "BCA 0123",
    }
    headers = shop.owner.headers(**{"Idempotency-Key": new_key()})
    first = await client.post(path, json=body, headers=headers)
    again = await client.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = (await client.get(path, headers=shop.owner.headers())).json()
    assert len(listed["data"]) == 1
    assert listed["paid_amount"] == 1_000_001
    assert listed["balance"] == 2_568_000 - 1_000_001 == 1_567_999
    over = await client.post(path, json={**body, "amount": 1_568_000}, headers=shop.owner.headers())
    assert problem(over, 409, "PAYMENT_EXCEEDS_BALANCE")["balance"] == 1_567_999
    rest = await client.post(path, json={**body, "amount": 1_567_999}, headers=shop.owner.headers())
    assert rest.status_code == 201
    got = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    assert got["balance"] == 0


async def test_the_down_payment_policy_is_a_tenant_setting(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    policy = await client.get(SALES_SETTINGS, headers=shop.owner.headers())
    assert policy.json() == {"down_payment_kind": "percent", "down_payment_value": 50, "pkp": False}
    fixed = await client.put(
        SALES_SETTINGS,
        json={"down_payment_kind": "fixed", "down_payment_value": 500_000},
        headers=shop.owner.headers(),
    )
    assert fixed.status_code == 200, fixed.text
    order = await create_order(client, shop)
    assert order["down_payment_due"] == 500_000
    too_much = await client.put(
        SALES_SETTINGS,
        json={"down_payment_kind": "percent", "down_payment_value": 101},
        headers=shop.owner.headers(),
    )
    assert list(field_errors(too_much)) == ["body.down_payment_value"]
    sales = await member_with_roles(runtime, client, shop.setup, ["sales"])
    problem(
        await client.put(
            SALES_SETTINGS,
            json={"down_payment_kind": "percent", "down_payment_value": 10},
            headers=sales.headers(),
        ),
        403,
        "PERMISSION_DENIED",
    )


def quotation_body(shop: Shop, valid_until: date, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "customer_id": shop.reseller["id"],
        "valid_until": valid_until.isoformat(),
        "lines": [{"product_id": shop.product["id"], "color": "navy", "sizes": dict(GRID)}],
    }
    body.update(overrides)
    return body


async def test_quotation_revisions_and_conversion(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    later = date.today() + timedelta(days=14)
    created = await client.post(
        QUOTATIONS,
        json=quotation_body(shop, later),
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert created.status_code == 201, created.text
    quotation = created.json()
    assert quotation["number"].startswith("QT/")
    assert [r["revision"] for r in quotation["revisions"]] == [1]
    assert quotation["revisions"][0]["subtotal"] == 2_568_000
    revised = await client.post(
        f"{QUOTATIONS}/{quotation['id']}/revisions",
        json={
            "valid_until": later.isoformat(),
            "discount": 68_000,
            "lines": [
                {"product_id": shop.product["id"], "color": "navy", "sizes": {"M": 30, "L": 30}}
            ],
        },
        headers=shop.owner.headers(**{"If-Match": '"1"'}),
    )
    assert revised.status_code == 201, revised.text
    assert revised.json()["current_revision"] == 2
    superseded = await client.post(
        f"{QUOTATIONS}/{quotation['id']}/convert",
        json={"revision": 1},
        headers=shop.owner.headers(),
    )
    body = problem(superseded, 409, "QUOTATION_SUPERSEDED")
    assert "v2" in body["detail"] or "v2" in body.get("title", "") or body
    converted = await client.post(
        f"{QUOTATIONS}/{quotation['id']}/convert",
        json={},
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert converted.status_code == 201, converted.text
    order = converted.json()
    assert order["quotation_id"] == quotation["id"]
    assert order["lines"][0]["sizes"] == {"M": 30, "L": 30}
    assert order["quantity"] == 60
    assert order["subtotal"] == 60 * 45_000  # the tier of 60
    assert order["total"] == 60 * 45_000 - 68_000
    again = await client.post(
        f"{QUOTATIONS}/{quotation['id']}/convert", json={}, headers=shop.owner.headers()
    )
    problem(again, 409, "QUOTATION_CLOSED")
    got = (await client.get(f"{QUOTATIONS}/{quotation['id']}", headers=shop.owner.headers())).json()
    assert (got["status"], got["order_id"]) == ("converted", order["id"])

    # an expired quotation refuses
    expired = (
        await client.post(
            QUOTATIONS, json=quotation_body(shop, later), headers=shop.owner.headers()
        )
    ).json()
    async with runtime.cluster_manager.tenant_transaction(
        shop.setup.cluster, shop.setup.tenant_id
    ) as db:
        await db.execute(
            text("UPDATE quotation_revisions SET valid_until = :day WHERE quotation_id = :q"),
            {"day": date.today() - timedelta(days=1), "q": expired["id"]},
        )
    problem(
        await client.post(
            f"{QUOTATIONS}/{expired['id']}/convert", json={}, headers=shop.owner.headers()
        ),
        409,
        "QUOTATION_EXPIRED",
    )
    past = await client.post(
        QUOTATIONS,
        json=quotation_body(shop, date.today() - timedelta(days=1)),
        headers=shop.owner.headers(),
    )
    assert list(field_errors(past)) == ["body.valid_until"]
    listed = await client.get(QUOTATIONS, headers=shop.owner.headers())
    assert len(listed.json()["data"]) == 2


async def test_quotation_permissions_and_other_tenants(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    later = (date.today() + timedelta(days=3)).isoformat()
    quotation = (
        await client.post(
            QUOTATIONS,
            json=quotation_body(shop, date.today() + timedelta(days=3)),
            headers=shop.owner.headers(),
        )
    ).json()
    production = await member_with_roles(runtime, client, shop.setup, ["production"])
    revision = {
        "valid_until": later,
        "lines": [{"product_id": shop.product["id"], "color": "navy", "sizes": {"M": 1}}],
    }
    for method, path, body in (
        ("GET", QUOTATIONS, None),
        ("POST", QUOTATIONS, quotation_body(shop, date.today())),
        ("GET", f"{QUOTATIONS}/{quotation['id']}", None),
        ("POST", f"{QUOTATIONS}/{quotation['id']}/revisions", revision),
        ("POST", f"{QUOTATIONS}/{quotation['id']}/convert", {}),
    ):
        denied = await client.request(method, path, json=body, headers=production.headers())
        problem(denied, 403, "PERMISSION_DENIED")
    for method, path, body in (
        ("GET", f"{QUOTATIONS}/{quotation['id']}", None),
        ("POST", f"{QUOTATIONS}/{quotation['id']}/revisions", revision),
        ("POST", f"{QUOTATIONS}/{quotation['id']}/convert", {}),
    ):
        hidden = await client.request(method, path, json=body, headers=other_shop.owner.headers())
        problem(hidden, 404, "RESOURCE_NOT_FOUND")


async def test_a_names_and_sizes_list_sets_the_breakdown_and_the_packing_list(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)
    line = order["lines"][0]
    csv = "nama,ukuran,catatan\nAndi,M,\nBudi,L,lengan panjang\nCitra,S\nDewi,M\n"
    attached = await client.put(
        f"{ORDERS}/{order['id']}/lines/{line['id']}/people",
        json={"csv": csv},
        headers=shop.owner.headers(**{"If-Match": '"1"'}),
    )
    assert attached.status_code == 200, attached.text
    got = attached.json()["lines"][0]
    assert got["sizes"] == {"S": 1, "M": 2, "L": 1}
    assert got["people"] == 4
    packing = await client.get(f"{ORDERS}/{order['id']}/packing-list", headers=shop.owner.headers())
    assert [(p["name"], p["size"], p["note"]) for p in packing.json()["data"]] == [
        ("Andi", "M", None),
        ("Budi", "L", "lengan panjang"),
        ("Citra", "S", None),
        ("Dewi", "M", None),
    ]
    bad = await client.put(
        f"{ORDERS}/{order['id']}/lines/{line['id']}/people",
        json={"csv": "Eka,XXXL\n"},
        headers=shop.owner.headers(),
    )
    assert list(field_errors(bad)) == ["body.csv"]
