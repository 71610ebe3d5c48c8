"""Makloon: dispatch per size (`MK/…`), partial returns, custody balance and ageing, charges
only on accepted pieces, nothing counted twice in the ledger; permissions and other tenants."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from garment.runtime import Runtime
from tests.catalogue.conftest import MATERIALS, create_material
from tests.production.conftest import JOBS, MAKLOON, advance, ok, record, start_order
from tests.sales.conftest import Shop
from tests.tenant.conftest import Caller, field_errors, member_with_roles, new_key, problem

SENT = {"S": 30, "M": 40, "L": 30}


async def partner(
    client: httpx.AsyncClient, caller: Caller, name: str = "Bu Sri"
) -> dict[str, Any]:
    return await ok(
        await client.post(
            f"{MAKLOON}/partners",
            json={"name": name, "phone": "0812 3456 789"},
            headers=caller.headers(),
        )
    )


async def cut(client: httpx.AsyncClient, caller: Caller, job: dict[str, Any]) -> None:
    for size, pieces in SENT.items():
        await ok(await record(client, caller, job, size, "potong", "in", pieces))
        await ok(await record(client, caller, job, size, "potong", "out", pieces))


async def test_send_100_receive_60_accepted_5_rejected_leaves_35_by_size(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    owner = shop.owner
    job = await start_order(client, shop, dict(SENT))
    await cut(client, owner, job)
    sri = await partner(client, owner)
    dispatch = await ok(
        await client.post(
            f"{MAKLOON}/dispatches",
            json={
                "partner_id": sri["id"],
                "job_id": job["id"],
                "stage": "jahit",
                "sizes": SENT,
                "rate_per_piece": 4_000,
            },
            headers=owner.headers(**{"Idempotency-Key": new_key()}),
        )
    )
    assert dispatch["number"].startswith("MK/") and dispatch["balance"] == 100
    # the pieces are at the partner: the stage cannot output them itself
    problem(
        await record(client, owner, job, "M", "jahit", "out", 1), 422, "PIECES_EXCEED_AVAILABLE"
    )
    url = f"{MAKLOON}/dispatches/{dispatch['id']}/receipts"
    first = await ok(
        await client.post(
            url,
            json={"sizes": {"S": {"accepted": 20}, "M": {"accepted": 25, "rejected": 5}}},
            headers=owner.headers(),
        ),
        200,
    )
    second = await ok(
        await client.post(url, json={"sizes": {"L": {"accepted": 15}}}, headers=owner.headers()),
        200,
    )
    assert first["charge"] == 45 * 4_000 and second["charge"] == 60 * 4_000
    balance = {line["size"]: line["balance"] for line in second["lines"]}
    assert balance == {"S": 10, "M": 10, "L": 15} and second["balance"] == 35
    custody = (
        await client.get(f"{MAKLOON}/partners/{sri['id']}/custody", headers=owner.headers())
    ).json()
    assert custody["balance"] == 35 and custody["by_size"] == {"S": 10, "M": 10, "L": 15}
    assert custody["charges"] == 240_000 and custody["ageing"]["days_0_7"] == 35
    # nothing counted twice: accepted pieces entered finishing once, rejects sit at jahit
    detail = (await client.get(f"{JOBS}/{job['id']}", headers=owner.headers())).json()
    rows = {(row["stage"], row["size"]): row for row in detail["counters"]}
    assert rows[("finishing", "M")]["received"] == 25
    assert rows[("jahit", "M")]["at_partner"] == 10 and rows[("jahit", "M")]["open_rejects"] == 5
    assert rows[("jahit", "M")]["received"] == 40 and rows[("jahit", "M")]["available"] == 0
    assert sum(rows[("finishing", size)]["received"] for size in SENT) == 60
    too_many = await client.post(
        url, json={"sizes": {"S": {"accepted": 11}}}, headers=owner.headers()
    )
    body = problem(too_many, 422, "MAKLOON_RETURN_EXCEEDS")
    assert body["balance"] == 10
    # short pieces settle the rest without a charge and close the dispatch
    closed = await ok(
        await client.post(
            url,
            json={
                "sizes": {
                    "S": {"accepted": 10},
                    "M": {"accepted": 8, "short": 2},
                    "L": {"accepted": 15},
                }
            },
            headers=owner.headers(),
        ),
        200,
    )
    assert closed["status"] == "closed" and closed["balance"] == 0
    assert closed["charge"] == 93 * 4_000


async def test_makloon_permissions_and_other_tenants(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    owner = shop.owner
    sri = await partner(client, owner)
    operator = await member_with_roles(runtime, client, shop.setup, ["operator"])
    production = await member_with_roles(runtime, client, shop.setup, ["production"])
    problem(
        await client.get(f"{MAKLOON}/partners", headers=operator.headers()),
        403,
        "PERMISSION_DENIED",
    )
    assert (
        await client.get(f"{MAKLOON}/partners", headers=production.headers())
    ).status_code == 200
    stranger = other_shop.owner
    for path in (f"{MAKLOON}/partners/{sri['id']}", f"{MAKLOON}/partners/{sri['id']}/custody"):
        problem(await client.get(path, headers=stranger.headers()), 404, "RESOURCE_NOT_FOUND")
    job = await start_order(client, shop, {"M": 10})
    foreign = await client.post(
        f"{MAKLOON}/dispatches",
        json={
            "partner_id": sri["id"],
            "job_id": job["id"],
            "stage": "jahit",
            "sizes": {"M": 1},
            "rate_per_piece": 1,
        },
        headers=stranger.headers(),
    )
    assert foreign.status_code == 422 and set(foreign.json()["errors"]) == {"partner_id", "job_id"}


async def test_a_null_name_leaves_the_partner_named(client: httpx.AsyncClient, shop: Shop) -> None:
    """Found by the contract suite: `{"name": null}` used to reach the NOT NULL column (500)."""
    owner = shop.owner
    created = await partner(client, owner, "Pak Darto")
    changed = await client.patch(
        f"{MAKLOON}/partners/{created['id']}",
        json={"name": None, "phone": "000000", "address": None},
        headers=owner.headers(),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Pak Darto" and changed.json()["phone"] == "000000"


async def test_material_goes_with_the_pieces_into_the_partners_custody(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    """Fabric and trims sent with a dispatch leave our stock (an `out` movement) into the
    partner's custody; what comes back unused returns to stock, what was used is accounted; the
    dispatch closes when pieces and material are all settled."""
    owner = shop.owner
    fabric = await create_material(client, owner, code="DRILL-NAVY", unit="m")
    labels = await create_material(client, owner, code="LABEL-01", unit="pcs")
    for material, quantity in ((fabric, "100"), (labels, "500")):
        moved = await client.post(
            f"{MATERIALS}/{material['id']}/movements",
            json={"kind": "in", "quantity": quantity, "reason": "Terima supplier"},
            headers=owner.headers(),
        )
        assert moved.status_code == 201, moved.text
    job = await start_order(client, shop, {"M": 10})
    await ok(await record(client, owner, job, "M", "potong", "in", 10))
    await ok(await record(client, owner, job, "M", "potong", "out", 10))
    sri = await partner(client, owner)
    body: dict[str, Any] = {
        "partner_id": sri["id"],
        "job_id": job["id"],
        "stage": "jahit",
        "sizes": {"M": 10},
        "rate_per_piece": 3_000,
        "materials": [
            {"material_id": fabric["id"], "quantity": "12.5"},
            {"material_id": labels["id"], "quantity": "10"},
        ],
    }
    dispatch = await ok(
        await client.post(f"{MAKLOON}/dispatches", json=body, headers=owner.headers())
    )
    assert {(m["unit"], m["sent"], m["balance"]) for m in dispatch["materials"]} == {
        ("m", "12.5", "12.5"),
        ("pcs", "10", "10"),
    }

    async def on_hand(material: dict[str, Any]) -> Decimal:
        got = await client.get(f"{MATERIALS}/{material['id']}", headers=owner.headers())
        return Decimal(got.json()["on_hand"])

    assert await on_hand(fabric) == Decimal("87.5") and await on_hand(labels) == Decimal("490")
    custody_url = f"{MAKLOON}/partners/{sri['id']}/custody"
    custody = (await client.get(custody_url, headers=owner.headers())).json()
    assert {(m["material_id"], m["balance"]) for m in custody["materials"]} == {
        (fabric["id"], "12.5"),
        (labels["id"], "10"),
    }
    url = f"{MAKLOON}/dispatches/{dispatch['id']}/receipts"
    too_much = problem(
        await client.post(
            url,
            json={"materials": [{"material_id": fabric["id"], "returned": "2", "consumed": "11"}]},
            headers=owner.headers(),
        ),
        422,
        "MAKLOON_MATERIAL_EXCEEDS",
    )
    assert too_much["balance"] == "12.5" and too_much["requested"] == "13"
    assert await on_hand(fabric) == Decimal("87.5")  # nothing changed
    foreign = await create_material(client, owner, code="RIB-01", unit="kg")
    assert "materials.0.material_id" in field_errors(
        await client.post(
            url,
            json={"materials": [{"material_id": foreign["id"], "returned": "1"}]},
            headers=owner.headers(),
        )
    )
    back = await ok(
        await client.post(
            url,
            json={
                "sizes": {"M": {"accepted": 10}},
                "materials": [
                    {"material_id": fabric["id"], "returned": "1.5", "consumed": "11"},
                    {"material_id": labels["id"], "consumed": "10"},
                ],
            },
            headers=owner.headers(),
        ),
        200,
    )
    assert back["status"] == "closed" and back["charge"] == 30_000
    assert {(m["material_id"], m["balance"]) for m in back["materials"]} == {
        (fabric["id"], "0"),
        (labels["id"], "0"),
    }
    assert await on_hand(fabric) == Decimal("89") and await on_hand(labels) == Decimal("490")
    custody = (await client.get(custody_url, headers=owner.headers())).json()
    assert custody["materials"] == [] and custody["balance"] == 0
    # an unknown (or another tenant's) material is a field error; nothing is sent
    theirs = await create_material(client, other_shop.owner, code="DRILL-NAVY", unit="m")
    job_two = await start_order(client, shop, {"M": 5})
    await ok(await record(client, owner, job_two, "M", "potong", "in", 5))
    await ok(await record(client, owner, job_two, "M", "potong", "out", 5))
    refused = await client.post(
        f"{MAKLOON}/dispatches",
        json={
            **body,
            "job_id": job_two["id"],
            "sizes": {"M": 5},
            "materials": [{"material_id": theirs["id"], "quantity": "1"}],
        },
        headers=owner.headers(),
    )
    assert "materials.0.material_id" in field_errors(refused)
    problem(
        await client.post(
            f"{MAKLOON}/dispatches",
            json={
                **body,
                "job_id": job_two["id"],
                "sizes": {"M": 5},
                "materials": [{"material_id": fabric["id"], "quantity": "500"}],
            },
            headers=owner.headers(),
        ),
        409,
        "INSUFFICIENT_STOCK",
    )
    assert await on_hand(fabric) == Decimal("89")
    assert "sizes" in field_errors(
        await client.post(
            f"{MAKLOON}/dispatches",
            json={**body, "sizes": {}, "materials": []},
            headers=owner.headers(),
        )
    )


async def test_material_alone_comes_back_after_the_job_is_done(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    owner = shop.owner
    fabric = await create_material(client, owner, code="RIB-HITAM", unit="kg")
    moved = await client.post(
        f"{MATERIALS}/{fabric['id']}/movements",
        json={"kind": "in", "quantity": "5", "reason": "Terima supplier"},
        headers=owner.headers(),
    )
    assert moved.status_code == 201, moved.text
    job = await start_order(client, shop, {"M": 1})
    sri = await partner(client, owner)
    dispatch = await ok(
        await client.post(
            f"{MAKLOON}/dispatches",
            json={
                "partner_id": sri["id"],
                "job_id": job["id"],
                "stage": "jahit",
                "rate_per_piece": 0,
                "materials": [{"material_id": fabric["id"], "quantity": "2"}],
            },
            headers=owner.headers(),
        )
    )
    assert dispatch["lines"] == [] and dispatch["status"] == "open"
    await advance(client, owner, job, "M", 1)
    done = await client.get(f"{JOBS}/{job['id']}", headers=owner.headers())
    assert done.json()["status"] == "done"
    back = await ok(
        await client.post(
            f"{MAKLOON}/dispatches/{dispatch['id']}/receipts",
            json={"materials": [{"material_id": fabric["id"], "returned": "2"}]},
            headers=owner.headers(),
        ),
        200,
    )
    assert back["status"] == "closed"
    stock = (await client.get(f"{MATERIALS}/{fabric['id']}", headers=owner.headers())).json()
    assert Decimal(stock["on_hand"]) == Decimal("5")
