"""A design that orders or quotations name cannot be deleted (their lines would point at
nothing): 409 PRODUCT_IN_USE with the counts, and archiving is the way out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.catalogue.conftest import PRODUCTS, create_product
from tests.sales.conftest import GRID, QUOTATIONS, Shop, create_order
from tests.tenant.conftest import problem


async def test_a_referenced_product_is_refused_and_can_be_archived(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    owner = shop.owner
    url = f"{PRODUCTS}/{shop.product['id']}"
    await create_order(client, shop)
    await create_order(client, shop)
    later = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    quoted = await client.post(
        QUOTATIONS,
        json={
            "customer_id": shop.reseller["id"],
            "valid_until": later,
            "lines": [{"product_id": shop.product["id"], "color": "navy", "sizes": dict(GRID)}],
        },
        headers=owner.headers(),
    )
    assert quoted.status_code == 201, quoted.text
    body = problem(await client.delete(url, headers=owner.headers()), 409, "PRODUCT_IN_USE")
    assert (body["orders"], body["quotations"]) == (2, 1)
    assert "2" in body["detail"]
    english = await client.delete(url, headers=owner.headers(**{"Accept-Language": "en"}))
    assert "archive" in problem(english, 409, "PRODUCT_IN_USE")["detail"]
    kept = await client.get(url, headers=owner.headers())
    assert kept.status_code == 200 and kept.json()["version"] == shop.product["version"]
    archived = await client.patch(url, json={"status": "archived"}, headers=owner.headers())
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    # a design no order or quotation names still deletes; another tenant gets 404
    unused = await create_product(client, other_shop.owner, sku="KAOS-LAIN")
    await create_order(client, other_shop)
    gone = await client.delete(f"{PRODUCTS}/{unused['id']}", headers=other_shop.owner.headers())
    assert gone.status_code == 204, gone.text
    problem(await client.delete(url, headers=other_shop.owner.headers()), 404, "RESOURCE_NOT_FOUND")
