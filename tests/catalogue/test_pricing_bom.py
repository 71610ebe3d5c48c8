"""Price tiers counted over the whole design, quotes, and the bill of materials."""

from __future__ import annotations

import httpx

from garment.runtime import Runtime
from garment.tenant.products.pricing import Tier, price_for
from tests.catalogue.conftest import PRODUCTS, TIERS, create_material, create_product
from tests.tenancy.conftest import TenantSetup
from tests.tenant.conftest import Caller, field_errors, member_with_roles, owner_of, problem


def split(total: int) -> list[dict[str, object]]:
    """`total` pieces over four sizes and two colours."""
    sizes = ["S", "M", "L", "XL"]
    lines = []
    for index in range(total):
        lines.append((sizes[index % 4], ["hitam", "putih"][index % 2]))
    counted: dict[tuple[str, str], int] = {}
    for key in lines:
        counted[key] = counted.get(key, 0) + 1
    return [{"size": s, "color": c, "quantity": q} for (s, c), q in counted.items()]


async def test_the_tier_is_picked_by_the_whole_design_11_vs_12(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    product = await create_product(client, owner)
    for customer_type, minimum, price in [
        ("reseller", 12, 48_000),
        ("reseller", 60, 45_000),
        ("corporate", 12, 50_000),
    ]:
        response = await client.post(
            TIERS,
            json={
                "product_id": product["id"],
                "customer_type": customer_type,
                "min_quantity": minimum,
                "unit_price": price,
            },
            headers=owner.headers(),
        )
        assert response.status_code == 201, response.text
    url = f"{PRODUCTS}/{product['id']}/quote"
    eleven = await client.post(
        url, json={"customer_type": "reseller", "lines": split(11)}, headers=owner.headers()
    )
    assert eleven.status_code == 200, eleven.text
    assert eleven.json()["total_quantity"] == 11 and eleven.json()["tier_id"] is None
    assert eleven.json()["total"] == 11 * 55_000
    twelve = await client.post(
        url, json={"customer_type": "reseller", "lines": split(12)}, headers=owner.headers()
    )
    body = twelve.json()
    assert body["total_quantity"] == 12 and body["tier_min_quantity"] == 12
    assert {line["size"] for line in body["lines"]} == {"S", "M", "L", "XL"}
    assert all(line["quantity"] < 12 for line in body["lines"])  # no single line reaches 12
    assert body["total"] == 12 * 48_000
    # Retail has no tiers; the XXL surcharge applies on top of a tier's price too.
    xxl = await client.post(
        url,
        json={
            "customer_type": "reseller",
            "lines": [*split(12), {"size": "XXL", "color": "navy", "quantity": 2}],
        },
        headers=owner.headers(),
    )
    assert xxl.json()["total"] == 12 * 48_000 + 2 * 58_000
    unknown = await client.post(
        url,
        json={
            "customer_type": "retail",
            "lines": [{"size": "XS", "color": "hitam", "quantity": 1}],
        },
        headers=owner.headers(),
    )
    assert "lines.0" in field_errors(unknown)


def test_price_for_is_plain_integer_arithmetic() -> None:
    tiers = [Tier(id=__import__("uuid").uuid4(), min_quantity=12, unit_price=40_000)]
    breakdown = [("S", "a", 3), ("M", "a", 3), ("L", "a", 3), ("XL", "a", 2)]
    below = price_for(
        base_price=50_000, surcharges={}, overrides={}, tiers=tiers, breakdown=breakdown
    )
    assert below.tier is None and below.total == 11 * 50_000
    reached = price_for(
        base_price=50_000,
        surcharges={"XL": 5_000},
        overrides={},
        tiers=tiers,
        breakdown=[*breakdown, ("XL", "b", 1)],
    )
    assert reached.tier is not None and reached.total == 9 * 40_000 + 3 * 45_000


async def test_tier_crud_conflicts_and_isolation(
    runtime: Runtime,
    client: httpx.AsyncClient,
    tenant_a: TenantSetup,
    owner: Caller,
    tenant_b: TenantSetup,
) -> None:
    product = await create_product(client, owner)
    body = {
        "product_id": product["id"],
        "customer_type": "reseller",
        "min_quantity": 12,
        "unit_price": 48_000,
    }
    created = await client.post(TIERS, json=body, headers=owner.headers())
    tier = created.json()
    problem(await client.post(TIERS, json=body, headers=owner.headers()), 409, "PRICE_TIER_EXISTS")
    bad = await client.post(TIERS, json={**body, "min_quantity": 0}, headers=owner.headers())
    assert "body.min_quantity" in field_errors(bad)
    url = f"{TIERS}/{tier['id']}"
    changed = await client.patch(
        url, json={"unit_price": 47_000}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    assert changed.json()["unit_price"] == 47_000
    stale = await client.patch(
        url, json={"unit_price": 1}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    problem(stale, 409, "CONFLICT")
    listed = await client.get(TIERS, params={"product_id": product["id"]}, headers=owner.headers())
    assert [t["id"] for t in listed.json()["data"]] == [tier["id"]]
    other = owner_of(tenant_b)
    problem(await client.get(url, headers=other.headers()), 404, "RESOURCE_NOT_FOUND")
    problem(await client.delete(url, headers=other.headers()), 404, "RESOURCE_NOT_FOUND")
    problem(await client.post(TIERS, json=body, headers=other.headers()), 404, "RESOURCE_NOT_FOUND")
    viewer = await member_with_roles(runtime, client, tenant_a, ["viewer"])
    problem(await client.delete(url, headers=viewer.headers()), 403, "PERMISSION_DENIED")
    assert (await client.delete(url, headers=owner.headers())).status_code == 204


async def test_the_bill_of_materials(client: httpx.AsyncClient, owner: Caller) -> None:
    product = await create_product(client, owner)
    fabric = await create_material(client, owner)
    rib = await create_material(client, owner, "RIB-HITAM", name="Rib Hitam", unit="m")
    url = f"{PRODUCTS}/{product['id']}/bom"
    lines = [
        {
            "kind": "material",
            "material_id": fabric["id"],
            "consumption": [
                {"size": "S", "quantity": "0.180"},
                {"size": "M", "quantity": "0.195"},
                {"size": "XXL", "quantity": "0.26"},
            ],
        },
        {
            "kind": "material",
            "material_id": rib["id"],
            "consumption": [{"size": "M", "quantity": "0.4"}],
        },
        {
            "kind": "service",
            "service": "sablon",
            "description": "Sablon dada",
            "cost_per_piece": 7_500,
        },
        {"kind": "service", "service": "bordir", "cost_per_piece": 12_000},
    ]
    saved = await client.put(url, json={"lines": lines}, headers=owner.headers())
    assert saved.status_code == 200, saved.text
    bom = (await client.get(url, headers=owner.headers())).json()
    assert bom["service_cost_per_piece"] == 19_500
    assert [line["kind"] for line in bom["lines"]] == ["material", "material", "service", "service"]
    consumption = {c["size"]: c["quantity"] for c in bom["lines"][0]["consumption"]}
    assert consumption == {"S": "0.18", "M": "0.195", "XXL": "0.26"}  # exact decimals
    wrong = [
        {
            "kind": "material",
            "material_id": fabric["id"],
            "consumption": [{"size": "XS", "quantity": "1"}],
        },
        {
            "kind": "material",
            "material_id": product["id"],
            "consumption": [{"size": "S", "quantity": "1"}],
        },
        {
            "kind": "material",
            "material_id": fabric["id"],
            "consumption": [{"size": "S", "quantity": "0.0"}],
        },
    ]
    errors = field_errors(await client.put(url, json={"lines": wrong[:2]}, headers=owner.headers()))
    assert "lines.0.consumption.0.size" in errors and "lines.1.material_id" in errors
    errors = field_errors(await client.put(url, json={"lines": wrong[2:]}, headers=owner.headers()))
    assert any("quantity" in name for name in errors)
    assert len((await client.get(url, headers=owner.headers())).json()["lines"]) == 4
    cleared = await client.put(url, json={"lines": []}, headers=owner.headers())
    assert cleared.json()["lines"] == []
