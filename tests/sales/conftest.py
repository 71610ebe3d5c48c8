"""Fixtures of the sales suites: a tenant with a design (S-XXL, XXL +Rp 10.000, reseller tiers)
and customers, and helpers that walk an order to a status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from garment.runtime import Runtime
from tests.catalogue.conftest import TIERS, create_product
from tests.tenancy.conftest import TenantSetup, tenant_setup
from tests.tenant.conftest import Caller, new_key, owner_of

ORDERS = "/api/v1/tenant/orders"
QUOTATIONS = "/api/v1/tenant/quotations"
DELIVERIES = "/api/v1/tenant/deliveries"
SALES_SETTINGS = "/api/v1/tenant/sales-settings"
CUSTOMERS = "/api/v1/tenant/customers"
GRID = {"S": 10, "M": 20, "L": 15, "XL": 5, "XXL": 2}


@dataclass
class Shop:
    __test__ = False

    setup: TenantSetup
    owner: Caller
    product: dict[str, Any]
    retail: dict[str, Any]  # pays before delivery
    reseller: dict[str, Any]
    credit: dict[str, Any]  # 30 days' credit


async def make_customer(
    client: httpx.AsyncClient, caller: Caller, name: str, **values: Any
) -> dict[str, Any]:
    response = await client.post(CUSTOMERS, json={"name": name, **values}, headers=caller.headers())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def open_shop(client: httpx.AsyncClient, setup: TenantSetup) -> Shop:
    owner = owner_of(setup)
    product = await create_product(client, owner)
    for minimum, price in ((12, 49_000), (60, 45_000)):
        tier = await client.post(
            TIERS,
            json={
                "product_id": product["id"],
                "customer_type": "reseller",
                "min_quantity": minimum,
                "unit_price": price,
            },
            headers=owner.headers(),
        )
        assert tier.status_code == 201, tier.text
    return Shop(
        setup=setup,
        owner=owner,
        product=product,
        retail=await make_customer(client, owner, "Budi Retail"),
        reseller=await make_customer(client, owner, "CV Reseller Jaya", type="reseller"),
        credit=await make_customer(
            client, owner, "PT Kredit", type="corporate", credit_days=30, credit_limit=50_000_000
        ),
    )


@pytest.fixture
async def shop(runtime: Runtime, client: httpx.AsyncClient) -> Shop:
    return await open_shop(client, await tenant_setup(runtime, client))


@pytest.fixture
async def other_shop(runtime: Runtime, client: httpx.AsyncClient) -> Shop:
    return await open_shop(client, await tenant_setup(runtime, client, cluster="secondary"))


def order_body(
    shop: Shop, customer: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": (customer or shop.reseller)["id"],
        "lines": [{"product_id": shop.product["id"], "color": "hitam", "sizes": dict(GRID)}],
    }
    body.update(overrides)
    return body


async def create_order(
    client: httpx.AsyncClient, shop: Shop, customer: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        ORDERS, json=order_body(shop, customer, **overrides), headers=shop.owner.headers()
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def transition(
    client: httpx.AsyncClient, caller: Caller, order_id: str, to: str, reason: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"to": to}
    if reason:
        body["reason"] = reason
    return await client.post(
        f"{ORDERS}/{order_id}/transitions",
        json=body,
        headers=caller.headers(**{"Idempotency-Key": new_key()}),
    )


async def pay(
    client: httpx.AsyncClient, caller: Caller, order_id: str, amount: int
) -> httpx.Response:
    return await client.post(
        f"{ORDERS}/{order_id}/payments",
        json={"method": "transfer", "amount": amount, "paid_on": "2026-12-01"},
        headers=caller.headers(**{"Idempotency-Key": new_key()}),
    )


async def approve_artwork(client: httpx.AsyncClient, caller: Caller, order: dict[str, Any]) -> None:
    for line in order["lines"]:
        response = await client.put(
            f"{ORDERS}/{order['id']}/lines/{line['id']}/artwork",
            json={"status": "approved", "file_ref": "https://files.example/desain-v2.png"},
            headers=caller.headers(),
        )
        assert response.status_code == 200, response.text


async def in_production(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, order: dict[str, Any]
) -> None:
    assert (await transition(client, shop.owner, order["id"], "confirmed")).status_code == 200
    await approve_artwork(client, shop.owner, order)
    fresh = (await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())).json()
    due = fresh["down_payment_due"] - fresh["paid_amount"]
    if due > 0:
        assert (await pay(client, shop.owner, order["id"], due)).status_code == 201
    moved = await transition(client, shop.owner, order["id"], "in_production")
    assert moved.status_code == 200, moved.text


async def make_ready(runtime: Runtime, shop: Shop, order_id: str) -> None:
    """What production does when every size is packed (the service API it calls)."""
    cluster = shop.setup.cluster
    async with (
        runtime.central.transaction() as central,
        runtime.cluster_manager.tenant_transaction(cluster, shop.setup.tenant_id) as db,
    ):
        await runtime.orders.mark_ready(db, central, shop.setup.tenant_id, uuid.UUID(order_id))
