"""Fixtures of the tracking suites: two shops (one per cluster), an order in production with an
internal note, tracking links, and the limits the public routes run under."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from garment.runtime import Runtime
from garment.tenant.tracking.service import TrackingLimits
from tests.production.conftest import JOBS, ORDERS, ok
from tests.sales.conftest import Shop, approve_artwork, create_order, open_shop, pay, transition
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import Caller, new_key
from tests.tracking.browser import ChromiumUnavailable, ensure_chromium

PUBLIC = "/api/v1/public/tracking"
INTERNAL_NOTE = "CATATAN-INTERNAL: pelanggan rewel, jangan kasih diskon lagi"
GENEROUS = TrackingLimits(per_ip="100000/minute", per_token="100000/minute")


def links_path(order_id: str) -> str:
    return f"{ORDERS}/{order_id}/tracking-links"


@pytest.fixture
async def shop(runtime: Runtime, client: httpx.AsyncClient) -> Shop:
    return await open_shop(client, await tenant_setup(runtime, client))


@pytest.fixture
async def other_shop(runtime: Runtime, client: httpx.AsyncClient) -> Shop:
    return await open_shop(client, await tenant_setup(runtime, client, cluster="secondary"))


@pytest.fixture(autouse=True)
def tracking_limits(runtime: Runtime) -> Iterator[None]:
    """Every test request comes from one address; the limits have their own tests."""
    saved = runtime.tracking.limits
    runtime.tracking.limits = GENEROUS
    yield
    runtime.tracking.limits = saved


async def order_in_production(
    client: httpx.AsyncClient, shop: Shop, *, notes: str | None = INTERNAL_NOTE
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A two-line order (black S/M/XXL, white M/L) with a note, confirmed, its down payment
    paid, put in production; the order and its jobs (one per line, in line order)."""
    lines = [
        {"product_id": shop.product["id"], "color": "hitam", "sizes": {"S": 6, "M": 8, "XXL": 2}},
        {"product_id": shop.product["id"], "color": "putih", "sizes": {"M": 4, "L": 3}},
    ]
    extra: dict[str, Any] = {"notes": notes} if notes else {}
    order = await create_order(client, shop, lines=lines, due_date="2027-01-15", **extra)
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
    body = await ok(started)
    current = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    by_line = {job["order_line_id"]: job for job in body["jobs"]}
    return current, [by_line[line["id"]] for line in current["lines"]]


async def create_link(
    client: httpx.AsyncClient, caller: Caller, order_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(links_path(order_id), json=body, headers=caller.headers())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["Location"] == f"{links_path(order_id)}/{created['id']}"
    assert response.headers["Cache-Control"] == "no-store"
    return created


async def expire(runtime: Runtime, shop: Shop, link_id: str) -> None:
    """Move a link's life into the past (as if created 61 days ago with the default 60)."""
    now = datetime.now(UTC)
    async with runtime.cluster_manager.tenant_transaction(
        shop.setup.cluster, shop.setup.tenant_id
    ) as db:
        await db.execute(
            text(
                "UPDATE tracking_links SET created_at = :created, expires_at = :expires "
                "WHERE tenant_id = :tenant AND id = :id"
            ),
            {
                "created": now - timedelta(days=61),
                "expires": now - timedelta(days=1),
                "tenant": shop.setup.tenant_id,
                "id": uuid.UUID(link_id),
            },
        )


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in ("request_id", "instance")}


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed now if missing; a clear failure if that is impossible."""
    try:
        return ensure_chromium()
    except ChromiumUnavailable as error:
        pytest.fail(f"the browser tests need Chromium: {error}", pytrace=False)
