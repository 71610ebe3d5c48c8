"""Borongan wages: 120 accepted pieces x Rp 1.500 = Rp 180.000, rejects blamed on the worker
deduct, the most specific rate wins, a locked period refuses edits, CSV export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from garment.runtime import Runtime
from tests.production.conftest import WAGES, ok, record, start_order
from tests.sales.conftest import Shop
from tests.tenant.conftest import member_with_roles, problem


async def test_piece_rate_earnings_lock_and_export(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    owner = shop.owner
    general = await ok(
        await client.post(
            f"{WAGES}/rates",
            json={"stage": "jahit", "rate": 1_000, "reject_deduction": 500},
            headers=owner.headers(),
        )
    )
    product_rate = await ok(
        await client.post(
            f"{WAGES}/rates",
            json={
                "stage": "jahit",
                "product_id": shop.product["id"],
                "rate": 1_500,
                "reject_deduction": 500,
            },
            headers=owner.headers(),
        )
    )
    job = await start_order(client, shop, {"M": 70, "L": 60})
    for size, pieces in (("M", 70), ("L", 60)):
        await ok(await record(client, owner, job, size, "potong", "in", pieces))
        await ok(await record(client, owner, job, size, "potong", "out", pieces))
    await ok(await record(client, owner, job, "M", "jahit", "out", 65, worker="Siti"))
    await ok(await record(client, owner, job, "L", "jahit", "out", 55, worker="Siti"))
    await ok(
        await record(
            client, owner, job, "L", "jahit", "reject", 2, worker="Siti", reason_code="loncat"
        )
    )
    await ok(await record(client, owner, job, "M", "jahit", "out", 5, worker="Ani"))
    today = datetime.now(UTC).date()
    period = await ok(
        await client.post(
            f"{WAGES}/periods",
            json={
                "starts_on": (today - timedelta(days=3)).isoformat(),
                "ends_on": (today + timedelta(days=3)).isoformat(),
            },
            headers=owner.headers(),
        )
    )
    problem(
        await client.post(
            f"{WAGES}/periods",
            json={"starts_on": today.isoformat(), "ends_on": today.isoformat()},
            headers=owner.headers(),
        ),
        409,
        "WAGE_PERIOD_OVERLAPS",
    )
    url = f"{WAGES}/periods/{period['id']}"
    earnings = (await client.get(f"{url}/earnings", headers=owner.headers())).json()
    siti = next(worker for worker in earnings["workers"] if worker["worker"] == "Siti")
    assert siti["accepted"] == 120 and siti["gross"] == 180_000
    assert siti["rejected"] == 2 and siti["deductions"] == 1_000 and siti["net"] == 179_000
    await ok(
        await client.post(
            f"{url}/adjustments",
            json={"worker": "Ani", "amount": 10_000, "note": "lembur"},
            headers=owner.headers(),
        )
    )
    locked = await client.post(f"{url}/lock", headers=owner.headers(**{"If-Match": '"1"'}))
    assert locked.status_code == 200, locked.text
    assert locked.json()["status"] == "locked"
    problem(
        await client.post(
            f"{url}/adjustments",
            json={"worker": "Ani", "amount": 5_000, "note": "telat"},
            headers=owner.headers(),
        ),
        409,
        "WAGE_PERIOD_LOCKED",
    )
    problem(await client.post(f"{url}/lock", headers=owner.headers()), 409, "WAGE_PERIOD_LOCKED")
    # a rate change after the lock does not change the locked figures
    changed = await client.patch(
        f"{WAGES}/rates/{product_rate['id']}", json={"rate": 9_000}, headers=owner.headers()
    )
    assert changed.status_code == 200
    frozen = (await client.get(f"{url}/earnings", headers=owner.headers())).json()
    assert frozen["total"] == 179_000 + 7_500 + 10_000  # the product rate wins
    exported = await client.get(f"{url}/export", headers=owner.headers())
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines() == [
        "worker,accepted,rejected,gross,deductions,adjustments,net",
        "Ani,5,0,7500,0,10000,17500",
        "Siti,120,2,180000,1000,0,179000",
    ]
    operator = await member_with_roles(runtime, client, shop.setup, ["operator"])
    problem(
        await client.get(f"{WAGES}/rates", headers=operator.headers()), 403, "PERMISSION_DENIED"
    )
    finance = await member_with_roles(runtime, client, shop.setup, ["finance"])
    assert (await client.get(f"{url}/earnings", headers=finance.headers())).status_code == 200
    stranger = other_shop.owner
    problem(
        await client.get(f"{url}/earnings", headers=stranger.headers()), 404, "RESOURCE_NOT_FOUND"
    )
    problem(
        await client.get(f"{WAGES}/rates/{general['id']}", headers=stranger.headers()),
        404,
        "RESOURCE_NOT_FOUND",
    )


async def test_a_null_amount_leaves_the_rate_unchanged(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    """`rate` and `reject_deduction` always have a value: null in a PATCH is "unchanged"."""
    owner = shop.owner
    created = await ok(
        await client.post(
            f"{WAGES}/rates",
            json={"stage": "finishing", "rate": 700, "reject_deduction": 100},
            headers=owner.headers(),
        )
    )
    changed = await client.patch(
        f"{WAGES}/rates/{created['id']}",
        json={"rate": None, "reject_deduction": 200},
        headers=owner.headers(),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["rate"], changed.json()["reject_deduction"]) == (700, 200)


async def test_a_locked_period_refuses_late_ledger_events(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    """Work of a worker dated inside a locked period is refused (its lines are frozen) and
    nothing changes; work without a worker, or dated outside the period, still records."""
    owner = shop.owner
    job = await start_order(client, shop, {"M": 20})
    await ok(await record(client, owner, job, "M", "potong", "in", 20))
    await ok(await record(client, owner, job, "M", "potong", "out", 20))
    last_week = datetime.now(UTC) - timedelta(days=7)
    day = last_week.date().isoformat()
    period = await ok(
        await client.post(
            f"{WAGES}/periods", json={"starts_on": day, "ends_on": day}, headers=owner.headers()
        )
    )
    await ok(
        await record(
            client,
            owner,
            job,
            "M",
            "jahit",
            "out",
            4,
            worker="Siti",
            occurred_at=last_week.isoformat(),
        )
    )
    url = f"{WAGES}/periods/{period['id']}"
    locked = await client.post(f"{url}/lock", headers=owner.headers(**{"If-Match": '"1"'}))
    assert locked.status_code == 200, locked.text
    before = (
        await client.get(f"/api/v1/tenant/production/jobs/{job['id']}", headers=owner.headers())
    ).json()
    for kind, extra in (("out", {}), ("reject", {"reason_code": "loncat"})):
        body = problem(
            await record(
                client,
                owner,
                job,
                "M",
                "jahit",
                kind,
                2,
                worker="Siti",
                occurred_at=last_week.isoformat(),
                **extra,
            ),
            409,
            "WAGE_PERIOD_LOCKED",
        )
        assert body["period"] == f"{day}..{day}"
    after = (
        await client.get(f"/api/v1/tenant/production/jobs/{job['id']}", headers=owner.headers())
    ).json()
    assert after["counters"] == before["counters"]
    events = (
        await client.get(
            "/api/v1/tenant/production/events",
            params={"job_id": job["id"]},
            headers=owner.headers(),
        )
    ).json()
    assert len(events["data"]) == 3
    frozen = (await client.get(f"{url}/earnings", headers=owner.headers())).json()
    assert frozen["total"] == 0 and frozen["lines"][0]["accepted"] == 4
    # no worker: not wage work; today: outside the period
    await ok(
        await record(client, owner, job, "M", "jahit", "out", 2, occurred_at=last_week.isoformat())
    )
    await ok(await record(client, owner, job, "M", "jahit", "out", 2, worker="Siti"))
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    problem(
        await record(client, owner, job, "M", "jahit", "out", 1, occurred_at=future),
        422,
        "VALIDATION_FAILED",
    )
