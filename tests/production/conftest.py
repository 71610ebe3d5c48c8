"""Fixtures of the production suites: a shop (tests/sales) whose order is in production, and
helpers that record piece events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from garment.runtime import Runtime
from tests.sales.conftest import (
    Shop,
    approve_artwork,
    create_order,
    open_shop,
    pay,
    transition,
)
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import Caller, new_key

PRODUCTION = "/api/v1/tenant/production"
EVENTS = f"{PRODUCTION}/events"
JOBS = f"{PRODUCTION}/jobs"
MAKLOON = "/api/v1/tenant/makloon"
WAGES = "/api/v1/tenant/wages"
ORDERS = "/api/v1/tenant/orders"
STAGES = ["potong", "jahit", "finishing", "qc", "packing"]


@pytest.fixture
async def shop(runtime: Runtime, client: httpx.AsyncClient) -> Shop:
    return await open_shop(client, await tenant_setup(runtime, client))


@pytest.fixture
async def other_shop(runtime: Runtime, client: httpx.AsyncClient) -> Shop:
    return await open_shop(client, await tenant_setup(runtime, client, cluster="secondary"))


async def start_order(
    client: httpx.AsyncClient, shop: Shop, sizes: dict[str, int], **overrides: Any
) -> dict[str, Any]:
    """A confirmed order (artwork approved, down payment paid) put in production; its job."""
    lines = [{"product_id": shop.product["id"], "color": "hitam", "sizes": sizes}]
    order = await create_order(client, shop, lines=lines, **overrides)
    assert (await transition(client, shop.owner, order["id"], "confirmed")).status_code == 200
    await approve_artwork(client, shop.owner, order)
    fresh = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    due = fresh["down_payment_due"] - fresh["paid_amount"]
    if due > 0:
        assert (await pay(client, shop.owner, order["id"], due)).status_code == 201
    started = await client.post(
        JOBS,
        json={"order_id": order["id"]},
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert started.status_code == 201, started.text
    job: dict[str, Any] = started.json()["jobs"][0]
    return job


async def record(
    client: httpx.AsyncClient,
    caller: Caller,
    job: dict[str, Any],
    size: str,
    stage: str,
    kind: str,
    quantity: int,
    *,
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    body = {
        "job_id": job["id"],
        "size": size,
        "stage": stage,
        "kind": kind,
        "quantity": quantity,
        **extra,
    }
    return await client.post(
        EVENTS, json=body, headers=caller.headers(**{"Idempotency-Key": key or new_key()})
    )


async def ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def advance(
    client: httpx.AsyncClient,
    caller: Caller,
    job: dict[str, Any],
    size: str,
    quantity: int,
    *,
    through: str = "packing",
    worker: str | None = None,
) -> None:
    """Cut `quantity` pieces of `size` and pass them out of every stage up to `through`."""
    await ok(await record(client, caller, job, size, "potong", "in", quantity))
    for stage in STAGES[: STAGES.index(through) + 1]:
        extra = {"worker": worker} if worker else {}
        await ok(await record(client, caller, job, size, stage, "out", quantity, **extra))


def counter(body: dict[str, Any], stage: str, size: str | None = None) -> dict[str, Any]:
    for row in body["counters"]:
        if row["stage"] == stage and (size is None or row["size"] == size):
            found: dict[str, Any] = row
            return found
    raise AssertionError(f"no counter {stage}/{size}")
