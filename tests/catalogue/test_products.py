"""Products (designs): the size-by-colour grid in one call, SKUs, surcharges, lists, If-Match,
plan limits, permissions and tenant isolation."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from garment.runtime import Runtime
from tests.catalogue.conftest import PRODUCTS, create_product, product_body
from tests.tenancy.conftest import TenantSetup
from tests.tenant.conftest import (
    Caller,
    field_errors,
    member_with_roles,
    new_key,
    owner_of,
    problem,
)


async def test_the_whole_grid_is_created_in_one_call(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    response = await client.post(PRODUCTS, json=product_body(), headers=owner.headers())
    assert response.status_code == 201, response.text
    product = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(product["id"])
    assert product["variant_count"] == 15
    variants = product["variants"]
    assert len(variants) == 15
    skus = {variant["sku"] for variant in variants}
    assert len(skus) == 15 and "KAOS-CC30S-XXL-HITAM" in skus
    prices = {(v["size"], v["color"]): v["price"] for v in variants}
    assert prices[("M", "putih")] == 55_000
    assert prices[("XXL", "navy")] == 65_000  # the XXL surcharge on top of the base price
    assert [v["position"] for v in variants] == list(range(15))

    listed = await client.get(
        f"{PRODUCTS}/{product['id']}/variants", params={"limit": 10}, headers=owner.headers()
    )
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert len(page["data"]) == 10 and page["meta"]["next_cursor"]
    rest = await client.get(
        f"{PRODUCTS}/{product['id']}/variants",
        params={"limit": 10, "cursor": page["meta"]["next_cursor"]},
        headers=owner.headers(),
    )
    assert [v["sku"] for v in page["data"] + rest.json()["data"]] == [v["sku"] for v in variants]


async def test_skus_are_unique_per_tenant_not_across_tenants(
    client: httpx.AsyncClient, owner: Caller, tenant_b: TenantSetup
) -> None:
    await create_product(client, owner)
    again = await client.post(PRODUCTS, json=product_body(), headers=owner.headers())
    problem(again, 409, "PRODUCT_SKU_TAKEN")
    # Another product whose variant SKU would repeat one of the first product's variants.
    clash = await client.post(
        PRODUCTS,
        json=product_body("KAOS-CC30S-S", sizes=[{"code": "HITAM"}], colors=["x"]),
        headers=owner.headers(),
    )
    assert clash.status_code == 201, clash.text  # KAOS-CC30S-S-HITAM-X is new
    other = await create_product(client, owner_of(tenant_b))
    assert other["sku"] == "KAOS-CC30S"


async def test_validation_errors_name_the_field(client: httpx.AsyncClient, owner: Caller) -> None:
    cases = [
        (product_body(sku="kaos kecil"), "body.sku"),
        (product_body(base_price=-1), "body.base_price"),
        (product_body(base_price=12.5), "body.base_price"),
        (product_body(sizes=[]), "body.sizes"),
        (product_body(colors=["Hitam"]), "body.colors.0"),
        (product_body(status="deleted"), "body.status"),
        (product_body(sizes=[{"code": "S"}, {"code": "S", "surcharge": 5}]), "sizes"),
        (product_body(category_id="6f1c1f0e-5a8e-4a7e-9d0e-3c1b2a4d5e6f"), "category_id"),
    ]
    for body, field in cases:
        response = await client.post(PRODUCTS, json=body, headers=owner.headers())
        errors = field_errors(response)
        assert any(name == field or name.startswith(field + ".") for name in errors), (
            field,
            errors,
        )


async def test_category_must_be_a_category_term_of_the_tenant(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    terms = await client.get(
        "/api/v1/tenant/taxonomies", params={"limit": 100}, headers=owner.headers()
    )
    by_code = {(t["type"], t["code"]): t["id"] for t in terms.json()["data"]}
    size_term = by_code[("size", "xl")]
    wrong = await client.post(
        PRODUCTS, json=product_body(category_id=size_term), headers=owner.headers()
    )
    assert "category_id" in field_errors(wrong)
    product = await create_product(client, owner, category_id=by_code[("category", "kaos")])
    listed = await client.get(
        PRODUCTS, params={"category_id": by_code[("category", "kaos")]}, headers=owner.headers()
    )
    assert [p["id"] for p in listed.json()["data"]] == [product["id"]]


async def test_list_filters_sorts_and_search(client: httpx.AsyncClient, owner: Caller) -> None:
    kaos = await create_product(client, owner, "KAOS-A", name="Kaos Polos")
    kemeja = await create_product(client, owner, "KEMEJA-PDH", name="Kemeja PDH Drill")
    draft = await create_product(client, owner, "HOODIE-1", name="Hoodie Fleece", status="draft")

    async def names(**params: str) -> list[str]:
        response = await client.get(PRODUCTS, params=params, headers=owner.headers())
        assert response.status_code == 200, response.text
        return [p["name"] for p in response.json()["data"]]

    assert await names() == [draft["name"], kemeja["name"], kaos["name"]]  # newest first
    assert await names(sort="name") == ["Hoodie Fleece", "Kaos Polos", "Kemeja PDH Drill"]
    assert await names(sort="sku") == ["Hoodie Fleece", "Kaos Polos", "Kemeja PDH Drill"]
    assert await names(status="draft") == ["Hoodie Fleece"]
    assert await names(q="pdh") == ["Kemeja PDH Drill"]
    assert await names(q="KAOS-A-XXL-NAVY") == ["Kaos Polos"]  # a variant's SKU
    assert await names(q="100%_") == []  # wildcards are literal
    first = await client.get(PRODUCTS, params={"limit": 2, "sort": "name"}, headers=owner.headers())
    cursor = first.json()["meta"]["next_cursor"]
    second = await client.get(
        PRODUCTS, params={"limit": 2, "sort": "name", "cursor": cursor}, headers=owner.headers()
    )
    assert [p["name"] for p in second.json()["data"]] == ["Kemeja PDH Drill"]
    # A cursor of another sort starts that sort's list again.
    restarted = await client.get(
        PRODUCTS, params={"limit": 2, "cursor": cursor}, headers=owner.headers()
    )
    assert restarted.status_code == 200
    assert [p["name"] for p in restarted.json()["data"]] == [draft["name"], kemeja["name"]]


async def test_updates_need_the_current_version(client: httpx.AsyncClient, owner: Caller) -> None:
    product = await create_product(client, owner)
    url = f"{PRODUCTS}/{product['id']}"
    changed = await client.patch(
        url,
        json={"name": "Kaos Premium", "base_price": 60_000},
        headers=owner.headers(**{"If-Match": '"1"'}),
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"' and changed.json()["base_price"] == 60_000
    stale = await client.patch(
        url, json={"name": "Kaos Lama"}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    problem(stale, 409, "CONFLICT")
    current = await client.get(url, headers=owner.headers())
    assert current.json()["name"] == "Kaos Premium" and current.headers["ETag"] == '"2"'
    xxl = next(v for v in current.json()["variants"] if v["size"] == "XXL")
    assert xxl["price"] == 70_000
    variant = await client.patch(
        f"{url}/variants/{xxl['id']}",
        json={"price_override": 75_000, "stock": 4},
        headers=owner.headers(**{"If-Match": '"1"'}),
    )
    assert variant.status_code == 200, variant.text
    assert variant.json()["price"] == 75_000 and variant.json()["stock"] == 4
    deleted = await client.delete(url, headers=owner.headers(**{"If-Match": '"1"'}))
    problem(deleted, 409, "CONFLICT")
    deleted = await client.delete(url, headers=owner.headers())
    assert deleted.status_code == 204
    problem(await client.get(url, headers=owner.headers()), 404, "RESOURCE_NOT_FOUND")


async def test_create_is_idempotent(client: httpx.AsyncClient, owner: Caller) -> None:
    key = new_key()
    headers = owner.headers(**{"Idempotency-Key": key})
    responses = await asyncio.gather(
        *(client.post(PRODUCTS, json=product_body(), headers=headers) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    listed = await client.get(PRODUCTS, headers=owner.headers())
    assert len(listed.json()["data"]) == 1
    reused = await client.post(PRODUCTS, json=product_body(name="Lain"), headers=headers)
    problem(reused, 422, "IDEMPOTENCY_KEY_REUSED")


async def test_roles_without_the_permission_are_refused(
    runtime: Runtime, client: httpx.AsyncClient, tenant_a: TenantSetup, owner: Caller
) -> None:
    product = await create_product(client, owner)
    viewer = await member_with_roles(runtime, client, tenant_a, ["viewer"])
    listed = await client.get(PRODUCTS, headers=viewer.headers())
    assert listed.status_code == 200
    refused = await client.post(PRODUCTS, json=product_body("X-1"), headers=viewer.headers())
    problem(refused, 403, "PERMISSION_DENIED")
    refused = await client.patch(
        f"{PRODUCTS}/{product['id']}", json={"name": "Nope"}, headers=viewer.headers()
    )
    problem(refused, 403, "PERMISSION_DENIED")
    operator = await member_with_roles(runtime, client, tenant_a, ["operator"])
    problem(await client.get(PRODUCTS, headers=operator.headers()), 403, "PERMISSION_DENIED")


async def test_another_tenants_product_is_not_found(
    client: httpx.AsyncClient, owner: Caller, tenant_b: TenantSetup
) -> None:
    product = await create_product(client, owner)
    other = owner_of(tenant_b)
    url = f"{PRODUCTS}/{product['id']}"
    variant_id = product["variants"][0]["id"]
    for response in [
        await client.get(url, headers=other.headers()),
        await client.patch(url, json={"name": "Curian"}, headers=other.headers()),
        await client.delete(url, headers=other.headers()),
        await client.get(f"{url}/variants", headers=other.headers()),
        await client.patch(
            f"{url}/variants/{variant_id}", json={"stock": 1}, headers=other.headers()
        ),
        await client.get(f"{url}/bom", headers=other.headers()),
        await client.put(f"{url}/bom", json={"lines": []}, headers=other.headers()),
        await client.post(
            f"{url}/quote",
            json={
                "customer_type": "retail",
                "lines": [{"size": "S", "color": "hitam", "quantity": 1}],
            },
            headers=other.headers(),
        ),
    ]:
        problem(response, 404, "RESOURCE_NOT_FOUND")
    assert (await client.get(PRODUCTS, headers=other.headers())).json()["data"] == []
    assert (await client.get(url, headers=owner.headers())).json()["name"] == product["name"]


async def test_the_plan_limit_on_products(
    runtime: Runtime, client: httpx.AsyncClient, owner: Caller
) -> None:
    async def set_growth_max_products(value: int | None) -> None:
        """The stored plan (billing_plans) changed, and this process's catalogue reloaded."""
        async with runtime.central.transaction() as session:
            await session.execute(
                text(
                    "UPDATE billing_plans SET limits = CASE WHEN CAST(:v AS int) IS NULL "
                    "THEN limits - 'max_products' "
                    "ELSE jsonb_set(limits, '{max_products}', to_jsonb(CAST(:v AS int))) END "
                    "WHERE code = 'growth'"
                ),
                {"v": value},
            )
        await runtime.plans.load()
        runtime.entitlements._cache.clear()

    original = runtime.plans.limit("growth", "max_products")
    await set_growth_max_products(2)
    try:
        await create_product(client, owner, "A-1")  # limit - 1 after it
        await create_product(client, owner, "A-2")  # at the limit
        refused = await client.post(PRODUCTS, json=product_body("A-3"), headers=owner.headers())
        body = problem(refused, 402, "PLAN_LIMIT_REACHED")
        assert body["limit"] == "max_products" and body["usage"] == 2 and body["maximum"] == 2
        archived = await client.post(
            PRODUCTS, json=product_body("A-4", status="archived"), headers=owner.headers()
        )
        assert archived.status_code == 201  # archived designs do not count
    finally:
        await set_growth_max_products(original)
