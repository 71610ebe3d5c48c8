"""The demo tenant's confirmed order is put in production with a few piece events, so the
board is not empty on `make run`."""

from __future__ import annotations

import httpx

from garment.demo import DemoCatalogue, DemoProduction, DemoSales
from garment.runtime import Runtime
from tests.production.conftest import PRODUCTION
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import owner_of


async def test_the_demo_order_is_in_production_and_on_the_board(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    setup = await tenant_setup(runtime, client)
    await DemoCatalogue(
        tenancy=runtime.tenancy,
        cluster_manager=runtime.cluster_manager,
        taxonomies=runtime.taxonomies,
        products=runtime.products,
        materials=runtime.materials,
    ).ensure(setup.tenant_id)
    order_id = await DemoSales(
        tenancy=runtime.tenancy,
        central=runtime.central,
        cluster_manager=runtime.cluster_manager,
        products=runtime.products,
        customers=runtime.customers,
        orders=runtime.orders,
    ).ensure(setup.tenant_id)
    demo = DemoProduction(
        tenancy=runtime.tenancy,
        central=runtime.central,
        cluster_manager=runtime.cluster_manager,
        production=runtime.production,
    )
    assert await demo.ensure(setup.tenant_id, order_id) == 8
    assert await demo.ensure(setup.tenant_id, None) == 0  # a second start adds nothing
    owner = owner_of(setup)
    order = (await client.get(f"/api/v1/tenant/orders/{order_id}", headers=owner.headers())).json()
    assert order["status"] == "in_production"
    board = (await client.get(f"{PRODUCTION}/board", headers=owner.headers())).json()
    stages = {stage["stage"]: stage for stage in board["stages"]}
    assert board["active_jobs"] == 1
    assert stages["potong"]["wip"] == {"L": 15} and stages["jahit"]["wip"] == {"S": 10, "M": 8}
    assert stages["qc"]["wip"] == {"M": 8}  # the reject is still at QC
    events = (await client.get(f"{PRODUCTION}/events", headers=owner.headers())).json()["data"]
    assert [e["reason_code"] for e in events if e["kind"] == "reject"] == ["jahitan loncat"]
    # its costing has figures: the demo materials carry unit costs and the BOM names them
    costing = await client.get(f"/api/v1/tenant/orders/{order_id}/costing", headers=owner.headers())
    assert costing.status_code == 200, costing.text
    planned, actual = costing.json()["planned"], costing.json()["actual"]
    assert planned["materials"] > 0 and actual["materials"] > 0
    assert planned["total"] >= planned["materials"] and costing.json()["revenue"] > 0
