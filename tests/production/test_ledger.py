"""The piece ledger: a stage never outputs more than it received, rejects with a reason and
rework reconcile, concurrent phones never exceed what a stage holds, idempotent recording,
material consumption at cutting, readiness of the order, permissions and other tenants."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from garment.runtime import Runtime
from tests.catalogue.conftest import MATERIALS, PRODUCTS, create_material
from tests.production.conftest import (
    EVENTS,
    JOBS,
    ORDERS,
    PRODUCTION,
    STAGES,
    advance,
    counter,
    ok,
    record,
    start_order,
)
from tests.sales.conftest import Shop
from tests.tenant.conftest import field_errors, member_with_roles, new_key, problem


async def test_a_stage_never_outputs_more_than_it_received(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    job = await start_order(client, shop, {"M": 20, "L": 5})
    assert job["stages"] == STAGES and job["planned"] == {"M": 20, "L": 5}
    owner = shop.owner
    await ok(await record(client, owner, job, "M", "potong", "in", 20))
    cut = await ok(await record(client, owner, job, "M", "potong", "out", 20))
    assert counter(cut, "jahit", "M")["received"] == 20
    body = problem(
        await record(client, owner, job, "M", "jahit", "out", 21), 422, "PIECES_EXCEED_AVAILABLE"
    )
    assert (body["stage"], body["size"], body["available"], body["requested"]) == (
        "jahit",
        "M",
        20,
        21,
    )
    assert "jahit" in body["detail"] and "20" in body["detail"]
    # nothing more than the order is cut; unknown sizes and stages name the field
    problem(
        await record(client, owner, job, "L", "potong", "in", 6), 422, "PIECES_EXCEED_AVAILABLE"
    )
    assert "size" in field_errors(await record(client, owner, job, "XXL", "potong", "in", 1))
    assert "stage" in field_errors(await record(client, owner, job, "M", "sablon", "out", 1))
    assert "stage" in field_errors(await record(client, owner, job, "M", "jahit", "in", 1))
    assert "reason_code" in field_errors(
        await record(client, owner, job, "M", "jahit", "reject", 1)
    )
    errors = field_errors(
        await record(client, owner, job, "M", "jahit", "rework", 1, to_stage="qc")
    )
    assert "to_stage" in errors


async def test_reject_rework_and_pass_reconcile_and_the_order_gets_ready(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    owner = shop.owner
    job = await start_order(client, shop, {"M": 20, "L": 2})
    await advance(client, owner, job, "M", 20, through="finishing")
    rejected = await ok(
        await record(
            client, owner, job, "M", "qc", "reject", 2, reason_code="jahitan loncat", worker="W-7"
        )
    )
    assert counter(rejected, "qc")["open_rejects"] == 2
    assert counter(rejected, "qc")["available"] == 18
    await ok(await record(client, owner, job, "M", "qc", "out", 18))
    problem(await record(client, owner, job, "M", "qc", "out", 1), 422, "PIECES_EXCEED_AVAILABLE")
    problem(
        await record(client, owner, job, "M", "qc", "rework", 3, to_stage="jahit"),
        422,
        "PIECES_EXCEED_AVAILABLE",
    )
    back = await ok(await record(client, owner, job, "M", "qc", "rework", 2, to_stage="jahit"))
    assert counter(back, "jahit")["received"] == 22 and counter(back, "qc")["open_rejects"] == 0
    for stage in ("jahit", "finishing", "qc"):
        await ok(await record(client, owner, job, "M", stage, "out", 2))
    packed = await ok(await record(client, owner, job, "M", "packing", "out", 20))
    assert counter(packed, "packing")["output"] == 20
    for stage in STAGES:
        row = counter(packed, stage)
        assert row["received"] == row["output"] + row["rejected"] + row["available"]
        assert row["available"] == 0 and row["open_rejects"] == 0
    assert packed["job_status"] == "active"  # L is not packed yet
    # L: one piece packed, one rejected at QC and written off; then the order is ready
    await advance(client, owner, job, "L", 2, through="finishing")
    await ok(await record(client, owner, job, "L", "qc", "reject", 1, reason_code="noda"))
    await ok(await record(client, owner, job, "L", "qc", "out", 1))
    await ok(await record(client, owner, job, "L", "packing", "out", 1))
    done = await ok(await record(client, owner, job, "L", "qc", "write_off", 1))
    assert done["job_status"] == "done"
    order = (await client.get(f"{ORDERS}/{job['order_id']}", headers=owner.headers())).json()
    assert order["status"] == "ready"
    detail = (await client.get(f"{JOBS}/{job['id']}", headers=owner.headers())).json()
    assert detail["packed"] == {"M": 20, "L": 1} and detail["written_off"] == {"M": 0, "L": 1}
    problem(await record(client, owner, job, "L", "qc", "out", 1), 409, "JOB_CLOSED")
    events = (
        await client.get(
            EVENTS, params={"job_id": job["id"], "limit": 100}, headers=owner.headers()
        )
    ).json()["data"]
    assert events[0]["kind"] == "write_off" and len(events) == 19


async def test_eight_phones_recording_one_stage_never_exceed_what_it_received(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    owner = shop.owner
    job = await start_order(client, shop, {"M": 20})
    await ok(await record(client, owner, job, "M", "potong", "in", 20))
    await ok(await record(client, owner, job, "M", "potong", "out", 20))
    answers = await asyncio.gather(
        *(record(client, owner, job, "M", "jahit", "out", 3) for _ in range(8))
    )
    codes = sorted(response.status_code for response in answers)
    assert codes == [201] * 6 + [422] * 2, codes
    detail = (await client.get(f"{JOBS}/{job['id']}", headers=owner.headers())).json()
    jahit = next(row for row in detail["counters"] if row["stage"] == "jahit")
    assert jahit["output"] == 18 and jahit["available"] == 2
    finishing = next(row for row in detail["counters"] if row["stage"] == "finishing")
    assert finishing["received"] == 18


async def test_a_retried_tap_is_recorded_once(client: httpx.AsyncClient, shop: Shop) -> None:
    owner = shop.owner
    job = await start_order(client, shop, {"M": 20})
    key = new_key()
    first = await record(client, owner, job, "M", "potong", "in", 5, key=key)
    again = await record(client, owner, job, "M", "potong", "in", 5, key=key)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    problem(
        await record(client, owner, job, "M", "potong", "in", 6, key=key),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    detail = (await client.get(f"{JOBS}/{job['id']}", headers=owner.headers())).json()
    assert next(row for row in detail["counters"] if row["stage"] == "potong")["received"] == 5


async def test_cutting_posts_material_with_variance_against_the_bom(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    owner = shop.owner
    material = await create_material(client, owner)
    lot = await client.post(
        f"{MATERIALS}/{material['id']}/lots",
        json={"lot_number": "R-1", "quantity": "50"},
        headers=owner.headers(),
    )
    assert lot.status_code == 201, lot.text
    bom = await client.put(
        f"{PRODUCTS}/{shop.product['id']}/bom",
        json={
            "lines": [
                {
                    "kind": "material",
                    "material_id": material["id"],
                    "consumption": [{"size": "M", "quantity": "0.215"}],
                }
            ]
        },
        headers=owner.headers(),
    )
    assert bom.status_code == 200, bom.text
    job = await start_order(client, shop, {"M": 20})
    await ok(await record(client, owner, job, "M", "potong", "in", 20))
    planned = await ok(await record(client, owner, job, "M", "potong", "out", 10))
    assert planned["consumption"] == [
        {"material_id": material["id"], "planned": "2.15", "actual": "2.15", "variance": "0"}
    ]
    actual = await ok(
        await record(
            client,
            owner,
            job,
            "M",
            "potong",
            "out",
            10,
            materials=[{"material_id": material["id"], "quantity": "2.4"}],
        )
    )
    assert actual["consumption"][0]["variance"] == "0.25"
    stock = (await client.get(f"{MATERIALS}/{material['id']}", headers=owner.headers())).json()
    assert Decimal(stock["on_hand"]) == Decimal("50") - Decimal("2.15") - Decimal("2.4")
    assert "materials" in field_errors(
        await record(
            client,
            owner,
            job,
            "M",
            "jahit",
            "out",
            1,
            materials=[{"material_id": material["id"], "quantity": "1"}],
        )
    )


async def test_permissions_and_other_tenants(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    job = await start_order(client, shop, {"M": 20})
    operator = await member_with_roles(runtime, client, shop.setup, ["operator"])
    sales = await member_with_roles(runtime, client, shop.setup, ["sales"])
    await ok(await record(client, operator, job, "M", "potong", "in", 3))
    problem(await record(client, sales, job, "M", "potong", "in", 1), 403, "PERMISSION_DENIED")
    for path in (f"{PRODUCTION}/board", EVENTS, JOBS, f"{PRODUCTION}/routings"):
        problem(await client.get(path, headers=operator.headers()), 403, "PERMISSION_DENIED")
    started = await client.post(
        JOBS, json={"order_id": job["order_id"]}, headers=operator.headers()
    )
    problem(started, 403, "PERMISSION_DENIED")
    # another tenant's job and order are 404, never 403
    stranger = other_shop.owner
    problem(await record(client, stranger, job, "M", "potong", "in", 1), 404, "RESOURCE_NOT_FOUND")
    problem(
        await client.get(f"{JOBS}/{job['id']}", headers=stranger.headers()),
        404,
        "RESOURCE_NOT_FOUND",
    )
    problem(
        await client.post(JOBS, json={"order_id": job["order_id"]}, headers=stranger.headers()),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert (await client.get(JOBS, headers=stranger.headers())).json()["data"] == []
    again = await client.post(
        JOBS, json={"order_id": job["order_id"]}, headers=shop.owner.headers()
    )
    problem(again, 409, "PRODUCTION_ALREADY_STARTED")


async def test_two_concurrent_starts_make_one_set_of_jobs(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    from tests.sales.conftest import approve_artwork, create_order, pay, transition

    order = await create_order(
        client,
        shop,
        lines=[{"product_id": shop.product["id"], "color": "hitam", "sizes": {"M": 4}}],
    )
    assert (await transition(client, shop.owner, order["id"], "confirmed")).status_code == 200
    await approve_artwork(client, shop.owner, order)
    fresh = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    assert (
        await pay(client, shop.owner, order["id"], fresh["down_payment_due"])
    ).status_code == 201
    answers = await asyncio.gather(
        *(
            client.post(JOBS, json={"order_id": order["id"]}, headers=shop.owner.headers())
            for _ in range(3)
        )
    )
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409]
    listed = await client.get(JOBS, params={"order_id": order["id"]}, headers=shop.owner.headers())
    assert len(listed.json()["data"]) == 1
