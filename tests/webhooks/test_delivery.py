"""Delivery through a real local receiver that verifies every request with `standardwebhooks`:
retries until the endpoint is up (one delivery, one webhook-id), replay with the identical
body, 410 disabling the endpoint, per-endpoint order and the event selection."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy import text

from garment.runtime import Runtime
from garment.tenant.webhooks.events import webhook_id_for
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import owner_of, problem
from tests.webhooks.conftest import (
    ENDPOINTS,
    Receiver,
    create_endpoint,
    deliver_all,
    emit,
    get_json,
    order_created,
)


async def test_an_endpoint_down_three_times_then_up_gets_the_message_once(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    endpoint = await create_endpoint(client, owner, receiver, "/flaky", ["order.created"])
    receiver.scripts["/flaky"] = [503, 503, 503]
    payload = order_created(setup.tenant_id)
    await emit(runtime, "orders.OrderCreated", **payload)

    await deliver_all(runtime)

    calls = receiver.at("/flaky")
    assert [call.answered for call in calls] == [503, 503, 503, 200]
    assert all(call.verified for call in calls)  # standardwebhooks verified every attempt
    assert len({call.webhook_id for call in calls}) == 1
    assert calls[0].webhook_id.startswith("msg_")
    assert len({call.body for call in calls}) == 1
    body = json.loads(calls[0].body)
    assert body["type"] == "order.created"
    assert body["data"]["order_id"] == payload["order_id"]
    assert body["data"]["number"] == payload["number"]

    base = f"{ENDPOINTS}/{endpoint['id']}"
    [message] = (await get_json(client, owner, f"{base}/messages"))["data"]
    assert message["status"] == "delivered"
    assert message["webhook_id"] == calls[0].webhook_id
    assert message["attempts"] == 4
    attempts = (await get_json(client, owner, f"{base}/attempts"))["data"]
    assert len(attempts) == 4
    assert sorted(a["status_code"] for a in attempts) == [200, 503, 503, 503]
    assert {a["outcome"] for a in attempts} == {"succeeded", "failed"}
    assert {a["webhook_id"] for a in attempts} == {message["webhook_id"]}
    assert all(a["duration_ms"] >= 0 for a in attempts)

    # Replay: the same stored bytes and webhook-id again, with a fresh valid signature.
    replayed = await client.post(
        f"{base}/messages/{message['webhook_id']}/replay", headers=owner.headers()
    )
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["status"] == "pending"
    await deliver_all(runtime)
    calls = receiver.at("/flaky")
    assert len(calls) == 5
    assert calls[-1].body == calls[0].body
    assert calls[-1].webhook_id == calls[0].webhook_id
    assert calls[-1].verified
    detail = await get_json(client, owner, f"{base}/messages/{message['webhook_id']}")
    assert detail["payload"].encode() == calls[0].body
    assert detail["status"] == "delivered"
    attempts = (await get_json(client, owner, f"{base}/attempts"))["data"]
    assert attempts[0]["trigger"] == "replay"
    assert len(attempts) == 5


async def test_410_gone_disables_the_endpoint_and_stops_its_pending_messages(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    endpoint = await create_endpoint(client, owner, receiver, "/gone", ["order.created"])
    receiver.scripts["/gone"] = [410]
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, "SO-1"))
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, "SO-2"))

    await deliver_all(runtime)

    assert [call.answered for call in receiver.at("/gone")] == [410]
    base = f"{ENDPOINTS}/{endpoint['id']}"
    shown = await get_json(client, owner, base)
    assert shown["status"] == "disabled"
    assert shown["disabled_reason"] == "gone"
    messages = (await get_json(client, owner, f"{base}/messages"))["data"]
    assert [m["status"] for m in messages] == ["cancelled", "failed"]  # latest first
    # New events no longer reach a disabled endpoint, and replay asks to enable it first.
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, "SO-3"))
    await deliver_all(runtime)
    assert len((await get_json(client, owner, f"{base}/messages"))["data"]) == 2
    refused = await client.post(
        f"{base}/messages/{messages[0]['webhook_id']}/replay", headers=owner.headers()
    )
    problem(refused, 409, "WEBHOOK_ENDPOINT_DISABLED")

    # Enabling it again (a member's decision) lets a replayed message through.
    enabled = await client.patch(
        base,
        json={"status": "enabled"},
        headers=owner.headers(**{"If-Match": f'"{shown["version"]}"'}),
    )
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["disabled_reason"] is None
    replayed = await client.post(
        f"{base}/messages/{messages[0]['webhook_id']}/replay", headers=owner.headers()
    )
    assert replayed.status_code == 202, replayed.text
    await deliver_all(runtime)
    assert [call.answered for call in receiver.at("/gone")] == [410, 200]


async def test_an_endpoints_messages_arrive_in_order_behind_a_failing_one(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    await create_endpoint(client, owner, receiver, "/ordered", ["order.created"])
    await create_endpoint(client, owner, receiver, "/other", ["order.created"])
    receiver.scripts["/ordered"] = [500, 500]
    numbers = ["SO-A", "SO-B", "SO-C"]
    for number in numbers:
        await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, number))

    await deliver_all(runtime)

    calls = receiver.at("/ordered")
    seen = [json.loads(call.body)["data"]["number"] for call in calls]
    assert seen == ["SO-A", "SO-A", "SO-A", "SO-B", "SO-C"]  # B waited for A's success
    assert [call.answered for call in calls] == [500, 500, 200, 200, 200]
    # The other endpoint was not held up by the first one's failures, and got the same ids.
    other = receiver.at("/other")
    assert [json.loads(call.body)["data"]["number"] for call in other] == numbers
    assert [c.webhook_id for c in other] == [c.webhook_id for c in calls if c.answered == 200]


async def test_a_message_given_up_lets_the_next_one_go(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    endpoint = await create_endpoint(client, owner, receiver, "/down", ["order.created"])
    receiver.scripts["/down"] = [503] * 5  # max_attempts in this suite
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, "SO-X"))
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, "SO-Y"))

    await deliver_all(runtime)

    answered = [call.answered for call in receiver.at("/down")]
    assert answered == [503] * 5 + [200]
    messages = (await get_json(client, owner, f"{ENDPOINTS}/{endpoint['id']}/messages"))["data"]
    assert [m["status"] for m in messages] == ["delivered", "failed"]
    assert messages[1]["last_error"] == "http_503"


async def test_endpoints_receive_only_the_events_they_selected(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    await create_endpoint(client, owner, receiver, "/confirmed", ["order.confirmed"])
    await create_endpoint(client, owner, receiver, "/status", ["order.status_changed"])
    await create_endpoint(
        client, owner, receiver, "/floor", ["production.stage_completed", "production.completed"]
    )
    await create_endpoint(client, owner, receiver, "/money", ["payment.received", "invoice.issued"])
    tenant = str(setup.tenant_id)
    order_id = str(uuid.uuid4())
    change = {"tenant_id": tenant, "order_id": order_id, "number": "SO-9", "version": 2}
    await emit(
        runtime, "orders.OrderStatusChanged", **change, from_status="draft", to_status="confirmed"
    )
    await emit(
        runtime,
        "orders.OrderStatusChanged",
        **{**change, "version": 3},
        from_status="confirmed",
        to_status="in_production",
    )
    pieces = {
        "tenant_id": tenant,
        "event_id": str(uuid.uuid4()),
        "job_id": str(uuid.uuid4()),
        "order_id": order_id,
        "size": "M",
        "stage": "jahit",
        "quantity": 20,
    }
    await emit(runtime, "production.PiecesRecorded", **pieces, kind="out", to_stage="qc")
    await emit(runtime, "production.PiecesRecorded", **pieces, kind="reject")
    await emit(runtime, "production.ProductionCompleted", tenant_id=tenant, order_id=order_id)
    invoice = {
        "tenant_id": tenant,
        "invoice_id": str(uuid.uuid4()),
        "number": "INV-2026-00001",
        "order_id": order_id,
        "kind": "down_payment",
        "total": 555_000,
        "ppn": 55_000,
    }
    await emit(runtime, "invoicing.InvoiceIssued", **invoice)
    await emit(
        runtime, "customers.CustomerCreated", tenant_id=tenant, customer_id=order_id, version=1
    )

    await deliver_all(runtime)

    def types(path: str) -> list[str]:
        return [json.loads(call.body)["type"] for call in receiver.at(path)]

    assert types("/confirmed") == ["order.confirmed"]
    assert types("/status") == ["order.status_changed", "order.status_changed"]
    assert types("/floor") == ["production.stage_completed", "production.completed"]
    assert types("/money") == ["invoice.issued"]
    [stage] = receiver.at("/floor")[:1]
    assert json.loads(stage.body)["data"] == {
        key: pieces[key] for key in ("tenant_id", "order_id", "job_id", "stage", "size", "quantity")
    } | {"to_stage": "qc"}
    [issued] = receiver.at("/money")
    assert json.loads(issued.body)["data"] == invoice
    # One event becomes two public types with different ids; each is fixed per event.
    confirmed_id = receiver.at("/confirmed")[0].webhook_id
    assert confirmed_id != receiver.at("/status")[0].webhook_id
    assert all(call.verified for call in receiver.received)


async def test_an_event_delivered_twice_to_the_listener_makes_one_message(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    endpoint = await create_endpoint(client, owner, receiver, "/once", ["order.created"])
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id))
    await runtime.relay.drain()
    # Forget the listener's delivery record: the relay runs it again (at-least-once).
    async with runtime.central.transaction() as session:
        event_id = (
            await session.execute(
                text(
                    "SELECT event_id FROM outbox_events WHERE name = 'orders.OrderCreated' "
                    "AND payload->>'tenant_id' = :tenant ORDER BY id DESC LIMIT 1"
                ),
                {"tenant": str(setup.tenant_id)},
            )
        ).scalar_one()
        await session.execute(
            text("DELETE FROM outbox_deliveries WHERE event_id = :id"), {"id": event_id}
        )
        await session.execute(
            text("UPDATE outbox_events SET delivered_at = NULL WHERE event_id = :id"),
            {"id": event_id},
        )
    await deliver_all(runtime)
    calls = receiver.at("/once")
    assert len(calls) == 1
    assert calls[0].webhook_id == webhook_id_for(event_id, "order.created")
    messages = (await get_json(client, owner, f"{ENDPOINTS}/{endpoint['id']}/messages"))["data"]
    assert len(messages) == 1


async def test_a_real_order_reaches_the_endpoint(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    from tests.sales.conftest import create_order, open_shop

    shop = await open_shop(client, await tenant_setup(runtime, client))
    await create_endpoint(client, shop.owner, receiver, "/erp", ["order.created"])
    order = await create_order(client, shop)
    await deliver_all(runtime)
    [call] = receiver.at("/erp")
    assert call.verified
    data = json.loads(call.body)["data"]
    assert data["order_id"] == order["id"]
    assert data["number"] == order["number"]
    assert data["tenant_id"] == str(shop.setup.tenant_id)


async def test_a_disabled_endpoint_holds_its_messages_until_enabled(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    endpoint = await create_endpoint(client, owner, receiver, "/paused", ["order.created"])
    base = f"{ENDPOINTS}/{endpoint['id']}"
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, "SO-P"))
    await runtime.relay.drain()  # the message exists, its job is queued
    paused = await client.patch(
        base, json={"status": "disabled"}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    assert paused.status_code == 200, paused.text
    await deliver_all(runtime)
    assert receiver.at("/paused") == []
    [message] = (await get_json(client, owner, f"{base}/messages?status=pending"))["data"]

    resumed = await client.patch(
        base, json={"status": "enabled"}, headers=owner.headers(**{"If-Match": '"2"'})
    )
    assert resumed.status_code == 200, resumed.text
    await deliver_all(runtime)
    [call] = receiver.at("/paused")
    assert call.webhook_id == message["webhook_id"]
    assert json.loads(call.body)["data"]["number"] == "SO-P"
