"""The demo tenant's catalogue (`make run`): two designs with their grids, tiers, BOM, two
materials with rolls; added once."""

from __future__ import annotations

import httpx

from garment.demo import DemoCatalogue
from garment.runtime import Runtime
from tests.catalogue.conftest import MATERIALS, PRODUCTS
from tests.tenancy.conftest import TenantSetup
from tests.tenant.conftest import Caller


async def test_the_demo_catalogue_is_seeded_once(
    runtime: Runtime, client: httpx.AsyncClient, tenant_a: TenantSetup, owner: Caller
) -> None:
    seed = DemoCatalogue(
        tenancy=runtime.tenancy,
        cluster_manager=runtime.cluster_manager,
        taxonomies=runtime.taxonomies,
        products=runtime.products,
        materials=runtime.materials,
    )
    assert await seed.ensure(tenant_a.tenant_id) == 2
    assert await seed.ensure(tenant_a.tenant_id) == 0
    products = (await client.get(PRODUCTS, params={"sort": "name"}, headers=owner.headers())).json()
    assert [(p["name"], p["variant_count"]) for p in products["data"]] == [
        ("Kaos Polos Cotton Combed 30s", 20),
        ("Kemeja PDH Drill", 15),
    ]
    assert [s["code"] for s in products["data"][0]["sizes"]] == ["S", "M", "L", "XL", "XXL"]
    bom = await client.get(f"{PRODUCTS}/{products['data'][0]['id']}/bom", headers=owner.headers())
    assert len(bom.json()["lines"]) == 2
    materials = (await client.get(MATERIALS, headers=owner.headers())).json()["data"]
    assert {m["code"]: m["on_hand"] for m in materials} == {
        "CC30S-HITAM": "49.9",
        "DRILL-NAVY": "118.5",
    }
