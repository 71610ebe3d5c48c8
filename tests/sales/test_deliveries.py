"""Delivery notes (surat jalan): partial per size, two notes sum to the order and deliver it,
over-delivery refused naming the size and what remains, the order shows delivered and
remaining per size, the printable PDF in id and en, permissions and other tenants."""

from __future__ import annotations

import io
from typing import Any

import httpx
from pypdf import PdfReader

from garment.runtime import Runtime
from tests.sales.conftest import (
    DELIVERIES,
    GRID,
    ORDERS,
    Shop,
    create_order,
    in_production,
    make_ready,
    pay,
)
from tests.tenant.conftest import member_with_roles, new_key, problem


async def ready_order(runtime: Runtime, client: httpx.AsyncClient, shop: Shop) -> dict[str, Any]:
    order = await create_order(client, shop)
    await in_production(runtime, client, shop, order)
    await make_ready(runtime, shop, order["id"])
    assert (await pay(client, shop.owner, order["id"], 2_568_000 - 1_284_000)).status_code == 201
    return order


def note(order: dict[str, Any], sizes: dict[str, int], **extra: Any) -> dict[str, Any]:
    line = order["lines"][0]["id"]
    return {
        "order_id": order["id"],
        "lines": [{"line_id": line, "size": size, "qty": qty} for size, qty in sizes.items()],
        **extra,
    }


async def test_two_partial_notes_sum_to_the_order(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await ready_order(runtime, client, shop)
    first = await client.post(
        DELIVERIES,
        json=note(order, {"S": 10, "M": 12, "L": 15}, recipient="Pak Joko"),
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert first.status_code == 201, first.text
    assert first.json()["number"].startswith("SJ/") and first.json()["quantity"] == 37
    got = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    rows = {row["size"]: row for row in got["lines"][0]["rows"]}
    assert {s: (r["delivered"], r["remaining"]) for s, r in rows.items()} == {
        "S": (10, 0),
        "M": (12, 8),
        "L": (15, 0),
        "XL": (0, 5),
        "XXL": (0, 2),
    }
    assert got["status"] == "ready"
    over = await client.post(DELIVERIES, json=note(order, {"M": 9}), headers=shop.owner.headers())
    body = problem(over, 409, "DELIVERY_EXCEEDS_REMAINING")
    assert (body["size"], body["remaining"], body["requested"]) == ("M", 8, 9)
    second = await client.post(
        DELIVERIES, json=note(order, {"M": 8, "XL": 5, "XXL": 2}), headers=shop.owner.headers()
    )
    assert second.status_code == 201, second.text
    got = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    assert got["status"] == "delivered"
    delivered = {row["size"]: row["delivered"] for row in got["lines"][0]["rows"]}
    assert delivered == GRID
    listed = await client.get(
        DELIVERIES, params={"order_id": order["id"]}, headers=shop.owner.headers()
    )
    notes = listed.json()["data"]
    assert sum(n["quantity"] for n in notes) == 52
    per_size: dict[str, int] = {}
    for n in notes:
        for item in n["lines"]:
            per_size[item["size"]] = per_size.get(item["size"], 0) + item["qty"]
    assert per_size == GRID
    after = await client.post(DELIVERIES, json=note(order, {"S": 1}), headers=shop.owner.headers())
    problem(after, 409, "ORDER_NOT_DELIVERABLE")


async def test_not_before_ready(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await create_order(client, shop)
    refused = await client.post(
        DELIVERIES, json=note(order, {"S": 1}), headers=shop.owner.headers()
    )
    problem(refused, 409, "ORDER_NOT_DELIVERABLE")


async def test_the_printable_note_in_both_languages(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await ready_order(runtime, client, shop)
    created = (
        await client.post(
            DELIVERIES, json=note(order, {"M": 12, "XXL": 2}), headers=shop.owner.headers()
        )
    ).json()
    for params, headers, title in (
        ({}, {}, "SURAT JALAN"),
        ({"lang": "en"}, {}, "DELIVERY NOTE"),
        ({}, {"Accept-Language": "en"}, "DELIVERY NOTE"),
    ):
        pdf = await client.get(
            f"{DELIVERIES}/{created['id']}/pdf",
            params=params,
            headers=shop.owner.headers(**headers),
        )
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert title in text
        assert created["number"] in text and order["number"] in text
        assert "XXL" in text and "12" in text and "14" in text


async def test_delivery_permissions_and_other_tenants(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    order = await ready_order(runtime, client, shop)
    created = (
        await client.post(DELIVERIES, json=note(order, {"S": 1}), headers=shop.owner.headers())
    ).json()
    operator = await member_with_roles(runtime, client, shop.setup, ["operator"])
    for method, path, body in (
        ("GET", DELIVERIES, None),
        ("POST", DELIVERIES, note(order, {"S": 1})),
        ("GET", f"{DELIVERIES}/{created['id']}", None),
        ("GET", f"{DELIVERIES}/{created['id']}/pdf", None),
    ):
        denied = await client.request(method, path, json=body, headers=operator.headers())
        problem(denied, 403, "PERMISSION_DENIED")
    for path in (f"{DELIVERIES}/{created['id']}", f"{DELIVERIES}/{created['id']}/pdf"):
        problem(
            await client.get(path, headers=other_shop.owner.headers()), 404, "RESOURCE_NOT_FOUND"
        )
    foreign = await client.post(
        DELIVERIES, json=note(order, {"S": 1}), headers=other_shop.owner.headers()
    )
    assert foreign.status_code == 422
    assert "body.order_id" in foreign.json()["errors"]
