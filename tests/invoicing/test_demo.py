"""The demo tenant's order gets its down payment invoice, issued and paid by the order's DP."""

from __future__ import annotations

import httpx

from garment.demo import DemoCatalogue, DemoInvoicing, DemoSales
from garment.runtime import Runtime
from tests.invoicing.conftest import INVOICES
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import owner_of


async def test_the_demo_order_has_a_paid_down_payment_invoice(
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
    demo = DemoInvoicing(
        tenancy=runtime.tenancy,
        central=runtime.central,
        cluster_manager=runtime.cluster_manager,
        orders=runtime.orders,
        invoices=runtime.invoices,
    )
    number = await demo.ensure(setup.tenant_id, order_id)
    assert number is not None and number.startswith("INV/")
    assert await demo.ensure(setup.tenant_id, None) is None  # a second start adds nothing
    owner = owner_of(setup)
    listed = (await client.get(INVOICES, headers=owner.headers())).json()["data"]
    assert [(row["number"], row["kind"], row["status"]) for row in listed] == [
        (number, "down_payment", "paid")
    ]
    order = (await client.get(f"/api/v1/tenant/orders/{order_id}", headers=owner.headers())).json()
    assert listed[0]["total"] == order["down_payment_due"] == order["paid_amount"]
