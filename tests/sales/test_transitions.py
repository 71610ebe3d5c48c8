"""The order status flow: every allowed and every forbidden edge of the one state machine, the
same through the API (with history and reasons), the gates (artwork, down payment, full payment
unless credit terms) refusing with what is missing and the amount, and production's side."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from garment.runtime import Runtime
from garment.tenant.orders.states import ALLOWED, OrderStatus, all_edges, can_transition
from tests.sales.conftest import (
    DELIVERIES,
    ORDERS,
    Shop,
    approve_artwork,
    create_order,
    in_production,
    make_ready,
    pay,
    transition,
)
from tests.tenant.conftest import field_errors, new_key, problem

S = OrderStatus
EXPECTED_ALLOWED = {
    (S.DRAFT, S.CONFIRMED),
    (S.DRAFT, S.CANCELLED),
    (S.CONFIRMED, S.IN_PRODUCTION),
    (S.CONFIRMED, S.CANCELLED),
    (S.IN_PRODUCTION, S.READY),
    (S.IN_PRODUCTION, S.CANCELLED),
    (S.READY, S.DELIVERED),
    (S.READY, S.CANCELLED),
    (S.DELIVERED, S.CLOSED),
}


@pytest.mark.parametrize(("current", "target"), all_edges(), ids=lambda s: str(s))
def test_every_edge_of_the_state_machine(current: OrderStatus, target: OrderStatus) -> None:
    assert can_transition(current, target) is ((current, target) in EXPECTED_ALLOWED)


def test_the_machine_is_the_whole_graph() -> None:
    assert {(a, b) for a, targets in ALLOWED.items() for b in targets} == EXPECTED_ALLOWED
    assert len(all_edges()) == 7 * 6
    # cancelled from every state before delivered, and never after
    before = [S.DRAFT, S.CONFIRMED, S.IN_PRODUCTION, S.READY]
    assert all(can_transition(s, S.CANCELLED) for s in before)
    assert not any(can_transition(s, S.CANCELLED) for s in (S.DELIVERED, S.CLOSED))


async def walk_to(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, status: OrderStatus
) -> dict[str, Any]:
    """A fresh order of the credit customer brought to `status` the way the product does it."""
    order = await create_order(client, shop, customer=shop.credit)
    oid = order["id"]
    if status is S.DRAFT:
        return order
    if status is S.CANCELLED:
        assert (await transition(client, shop.owner, oid, "cancelled", "batal")).status_code == 200
        return order
    assert (await transition(client, shop.owner, oid, "confirmed")).status_code == 200
    if status is S.CONFIRMED:
        return order
    await approve_artwork(client, shop.owner, order)
    fresh = (await client.get(f"{ORDERS}/{oid}", headers=shop.owner.headers())).json()
    assert (await pay(client, shop.owner, oid, fresh["down_payment_due"])).status_code == 201
    assert (await transition(client, shop.owner, oid, "in_production")).status_code == 200
    if status is S.IN_PRODUCTION:
        return order
    await make_ready(runtime, shop, oid)
    if status is S.READY:
        return order
    rows = fresh["lines"][0]["rows"]
    note = await client.post(
        DELIVERIES,
        json={
            "order_id": oid,
            "lines": [
                {"line_id": fresh["lines"][0]["id"], "size": r["size"], "qty": r["qty"]}
                for r in rows
            ],
        },
        headers=shop.owner.headers(),
    )
    assert note.status_code == 201, note.text
    if status is S.DELIVERED:
        return order
    balance = fresh["total"] - fresh["down_payment_due"]
    assert (await pay(client, shop.owner, oid, balance)).status_code == 201
    assert (await transition(client, shop.owner, oid, "closed")).status_code == 200
    return order


async def test_every_forbidden_edge_is_refused_through_the_api(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    for current in OrderStatus:
        order = await walk_to(runtime, client, shop, current)
        got = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
        assert got["status"] == current.value
        for target in OrderStatus:
            if target == current or can_transition(current, target):
                continue
            refused = await transition(client, shop.owner, order["id"], target.value, "x")
            body = problem(refused, 409, "ORDER_TRANSITION_FORBIDDEN")
            assert body["allowed"] == sorted(s.value for s in ALLOWED[current])


async def test_every_allowed_edge_through_the_api_keeps_history(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    # cancel from every state before delivered, with the reason in the history
    for current in (S.DRAFT, S.CONFIRMED, S.IN_PRODUCTION, S.READY):
        order = await walk_to(runtime, client, shop, current)
        no_reason = await transition(client, shop.owner, order["id"], "cancelled")
        assert list(field_errors(no_reason)) == ["body.reason"]
        cancelled = await transition(client, shop.owner, order["id"], "cancelled", "customer batal")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        history = await client.get(f"{ORDERS}/{order['id']}/history", headers=shop.owner.headers())
        last = history.json()["data"][-1]
        assert (last["from_status"], last["to_status"], last["reason"]) == (
            current.value,
            "cancelled",
            "customer batal",
        )
    # the main path: draft → confirmed → in_production → ready → delivered → closed
    order = await walk_to(runtime, client, shop, S.CLOSED)
    history = await client.get(f"{ORDERS}/{order['id']}/history", headers=shop.owner.headers())
    assert [(h["from_status"], h["to_status"]) for h in history.json()["data"]] == [
        (None, "draft"),
        ("draft", "confirmed"),
        ("confirmed", "in_production"),
        ("in_production", "ready"),
        ("ready", "delivered"),
        ("delivered", "closed"),
    ]


async def test_ready_is_set_by_production_only(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await walk_to(runtime, client, shop, S.IN_PRODUCTION)
    problem(
        await transition(client, shop.owner, order["id"], "ready"), 409, "ORDER_SET_BY_PRODUCTION"
    )
    await make_ready(runtime, shop, order["id"])
    await make_ready(runtime, shop, order["id"])  # again: nothing changes
    got = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    assert got["status"] == "ready"


async def test_production_gates_name_what_is_missing(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)  # reseller: 2.568.000, DP 50% = 1.284.000
    oid = order["id"]
    assert (await transition(client, shop.owner, oid, "confirmed")).status_code == 200
    artwork = problem(
        await transition(client, shop.owner, oid, "in_production"), 409, "ARTWORK_NOT_APPROVED"
    )
    assert artwork["line_ids"] == [order["lines"][0]["id"]]
    await approve_artwork(client, shop.owner, order)
    dp = problem(
        await transition(client, shop.owner, oid, "in_production"), 409, "DOWN_PAYMENT_REQUIRED"
    )
    assert dp["amount_due"] == 1_284_000 and dp["missing"] == "down_payment"
    assert (await pay(client, shop.owner, oid, 1_000_000)).status_code == 201
    dp = problem(
        await transition(client, shop.owner, oid, "in_production"), 409, "DOWN_PAYMENT_REQUIRED"
    )
    assert dp["amount_due"] == 284_000
    assert (await pay(client, shop.owner, oid, 284_000)).status_code == 201
    # The production side's call, with the same gates (already met here).
    async with (
        runtime.central.transaction() as central,
        runtime.cluster_manager.tenant_transaction(shop.setup.cluster, shop.setup.tenant_id) as db,
    ):
        started = await runtime.orders.production_started(
            db, central, shop.setup.tenant_id, uuid.UUID(oid)
        )
        sizes = await runtime.orders.size_rows(db, shop.setup.tenant_id, uuid.UUID(oid))
    assert started.status == "in_production"
    assert sorted((ref.size, ref.qty) for ref in sizes) == sorted(
        {"S": 10, "M": 20, "L": 15, "XL": 5, "XXL": 2}.items()
    )


async def test_full_payment_gate_unless_credit_terms(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)  # reseller, no credit
    await in_production(runtime, client, shop, order)
    await make_ready(runtime, shop, order["id"])
    line = order["lines"][0]
    note = {"order_id": order["id"], "lines": [{"line_id": line["id"], "size": "M", "qty": 5}]}
    refused = problem(
        await client.post(DELIVERIES, json=note, headers=shop.owner.headers()),
        409,
        "FULL_PAYMENT_REQUIRED",
    )
    assert refused["amount_due"] == 2_568_000 - 1_284_000
    assert (await pay(client, shop.owner, order["id"], 1_284_000)).status_code == 201
    assert (
        await client.post(DELIVERIES, json=note, headers=shop.owner.headers())
    ).status_code == 201
    # A customer with credit terms receives before paying the balance.
    credit = await walk_to(runtime, client, shop, S.READY)
    cline = credit["lines"][0]
    ok = await client.post(
        DELIVERIES,
        json={"order_id": credit["id"], "lines": [{"line_id": cline["id"], "size": "S", "qty": 1}]},
        headers=shop.owner.headers(),
    )
    assert ok.status_code == 201, ok.text


async def test_transitions_are_idempotent(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await create_order(client, shop)
    headers = shop.owner.headers(**{"Idempotency-Key": new_key()})
    path = f"{ORDERS}/{order['id']}/transitions"
    first = await client.post(path, json={"to": "confirmed"}, headers=headers)
    again = await client.post(path, json={"to": "confirmed"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    history = await client.get(f"{ORDERS}/{order['id']}/history", headers=shop.owner.headers())
    assert len(history.json()["data"]) == 2
