"""Orders with a size breakdown: the grid expands into one row per size, prices come from the
design's tier plus the size surcharge, totals are exact; editing one cell changes one row;
unknown sizes are 422 naming the field; If-Match, Idempotency-Key, lists, the plan limit,
permissions and another tenant's ids."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from garment.runtime import Runtime
from tests.sales.conftest import (
    GRID,
    ORDERS,
    SALES_SETTINGS,
    Shop,
    create_order,
    order_body,
)
from tests.tenant.conftest import field_errors, member_with_roles, new_key, problem


async def test_a_size_breakdown_becomes_five_rows_and_exact_totals(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.post(
        ORDERS,
        json=order_body(shop),
        headers=shop.owner.headers(**{"Idempotency-Key": new_key()}),
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(order["id"])
    assert order["number"].startswith("SO/") and len(order["number"]) == 14
    assert order["status"] == "draft"
    assert order["quantity"] == 52
    [line] = order["lines"]
    assert line["sizes"] == GRID and list(line["sizes"]) == ["S", "M", "L", "XL", "XXL"]
    rows = {row["size"]: row for row in line["rows"]}
    assert len(line["rows"]) == 5
    # 52 pieces of the design reach the reseller tier of 12 (Rp 49.000); XXL adds Rp 10.000.
    assert {size: row["unit_price"] for size, row in rows.items()} == {
        "S": 49_000,
        "M": 49_000,
        "L": 49_000,
        "XL": 49_000,
        "XXL": 59_000,
    }
    assert rows["M"]["amount"] == 980_000
    assert order["subtotal"] == 50 * 49_000 + 2 * 59_000 == 2_568_000
    assert (order["discount"], order["tax_base"], order["ppn"]) == (0, 0, 0)
    assert order["total"] == 2_568_000
    assert order["down_payment_due"] == 1_284_000  # the default policy: 50%
    assert order["balance"] == 2_568_000
    variants = {(v["size"], v["color"]): v["id"] for v in shop.product["variants"]}
    assert all(row["variant_id"] == variants[(row["size"], "hitam")] for row in line["rows"])


async def test_pkp_totals_and_discount_to_the_rupiah(client: httpx.AsyncClient, shop: Shop) -> None:
    policy = await client.put(
        SALES_SETTINGS,
        json={"down_payment_kind": "percent", "down_payment_value": 30, "pkp": True},
        headers=shop.owner.headers(),
    )
    assert policy.status_code == 200, policy.text
    order = await create_order(client, shop, discount=68_000)
    assert order["subtotal"] == 2_568_000
    assert order["discount"] == 68_000
    assert order["tax_base"] == 2_500_000 * 11 // 12 == 2_291_666
    assert order["ppn"] == 275_000  # floor(2.500.000 x 11 / 100)
    assert order["total"] == 2_775_000
    assert order["down_payment_due"] == 832_500  # 30%


async def test_retail_without_tier_pays_base_price_plus_surcharge(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop, customer=shop.retail)
    assert order["subtotal"] == 50 * 55_000 + 2 * 65_000


async def test_editing_one_cell_changes_one_row(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)
    [line] = order["lines"]
    before = {row["size"]: row for row in line["rows"]}

    async def stamps() -> dict[str, tuple[int, object]]:
        async with runtime.cluster_manager.tenant_transaction(
            shop.setup.cluster, shop.setup.tenant_id
        ) as db:
            result = await db.execute(
                text("SELECT size, qty, updated_at FROM order_line_sizes WHERE line_id = :line"),
                {"line": line["id"]},
            )
            return {size: (qty, at) for size, qty, at in result}

    stamped = await stamps()
    stale = await client.patch(
        f"{ORDERS}/{order['id']}/lines/{line['id']}/sizes",
        json={"sizes": {"M": 25}},
        headers=shop.owner.headers(**{"If-Match": '"7"'}),
    )
    problem(stale, 409, "CONFLICT")
    edited = await client.patch(
        f"{ORDERS}/{order['id']}/lines/{line['id']}/sizes",
        json={"sizes": {"M": 25}},
        headers=shop.owner.headers(**{"If-Match": '"1"'}),
    )
    assert edited.status_code == 200, edited.text
    changed = edited.json()
    assert edited.headers["ETag"] == '"2"'
    after = {row["size"]: row for row in changed["lines"][0]["rows"]}
    assert [size for size in after if after[size] != before[size]] == ["M"]
    assert after["M"]["id"] == before["M"]["id"] and after["M"]["qty"] == 25
    assert changed["quantity"] == 57 and changed["subtotal"] == 2_568_000 + 5 * 49_000
    now = await stamps()
    assert [size for size in now if now[size] != stamped[size]] == ["M"]


async def test_an_unknown_size_is_422_naming_the_field(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = order_body(shop)
    body["lines"][0]["sizes"] = {"M": 5, "XXXL": 3}
    errors = field_errors(await client.post(ORDERS, json=body, headers=shop.owner.headers()))
    assert list(errors) == ["body.lines.0.sizes.XXXL"]
    body["lines"][0]["sizes"] = {"M": 5}
    body["lines"][0]["color"] = "ungu"
    errors = field_errors(await client.post(ORDERS, json=body, headers=shop.owner.headers()))
    assert list(errors) == ["body.lines.0.color"]
    order = await create_order(client, shop)
    line = order["lines"][0]
    edit = await client.patch(
        f"{ORDERS}/{order['id']}/lines/{line['id']}/sizes",
        json={"sizes": {"XS": 1}},
        headers=shop.owner.headers(),
    )
    assert list(field_errors(edit)) == ["body.lines.0.sizes.XS"]


async def test_create_is_idempotent(client: httpx.AsyncClient, shop: Shop) -> None:
    key = new_key()
    headers = shop.owner.headers(**{"Idempotency-Key": key})
    first = await client.post(ORDERS, json=order_body(shop), headers=headers)
    again = await client.post(ORDERS, json=order_body(shop), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    listed = await client.get(ORDERS, headers=shop.owner.headers())
    assert len(listed.json()["data"]) == 1


async def test_list_filters_and_search(client: httpx.AsyncClient, shop: Shop) -> None:
    first = await create_order(client, shop)
    second = await create_order(client, shop, customer=shop.retail, order_date="2026-11-05")
    listed = await client.get(ORDERS, headers=shop.owner.headers())
    assert [o["id"] for o in listed.json()["data"]] == [second["id"], first["id"]]
    by_customer = await client.get(
        ORDERS, params={"customer_id": shop.retail["id"]}, headers=shop.owner.headers()
    )
    assert [o["id"] for o in by_customer.json()["data"]] == [second["id"]]
    by_date = await client.get(
        ORDERS,
        params={"date_from": "2026-11-01", "date_to": "2026-11-30"},
        headers=shop.owner.headers(),
    )
    assert [o["id"] for o in by_date.json()["data"]] == [second["id"]]
    by_number = await client.get(
        ORDERS, params={"q": first["number"][-6:]}, headers=shop.owner.headers()
    )
    assert [o["id"] for o in by_number.json()["data"]] == [first["id"]]
    by_status = await client.get(
        ORDERS, params={"status": "confirmed"}, headers=shop.owner.headers()
    )
    assert by_status.json()["data"] == []
    paged = await client.get(ORDERS, params={"limit": 1}, headers=shop.owner.headers())
    rest = await client.get(
        ORDERS,
        params={"limit": 1, "cursor": paged.json()["meta"]["next_cursor"]},
        headers=shop.owner.headers(),
    )
    assert [o["id"] for o in rest.json()["data"]] == [first["id"]]


async def test_update_uses_if_match_and_is_audited(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await create_order(client, shop)
    changed = await client.patch(
        f"{ORDERS}/{order['id']}",
        json={"discount": 68_000, "due_date": "2027-01-15"},
        headers=shop.owner.headers(**{"If-Match": '"1"'}),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["total"] == 2_500_000
    stale = await client.patch(
        f"{ORDERS}/{order['id']}",
        json={"notes": "x"},
        headers=shop.owner.headers(**{"If-Match": '"1"'}),
    )
    problem(stale, 409, "CONFLICT")
    too_much = await client.patch(
        f"{ORDERS}/{order['id']}", json={"discount": 9_000_000}, headers=shop.owner.headers()
    )
    assert list(field_errors(too_much)) == ["body.discount"]
    audit = await client.get(
        "/api/v1/tenant/audit-logs",
        params={"entity_type": "order", "entity_id": order["id"]},
        headers=shop.owner.headers(),
    )
    assert audit.status_code == 200, audit.text
    assert {entry["action"] for entry in audit.json()["data"]} >= {"create", "update"}


async def test_the_monthly_order_limit_is_402(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    maximum = runtime.entitlements.limit("growth", "max_orders_per_month")
    assert maximum is not None
    async with runtime.cluster_manager.tenant_transaction(
        shop.setup.cluster, shop.setup.tenant_id
    ) as db:
        await db.execute(
            text(
                "INSERT INTO orders (tenant_id, id, number, customer_id, status, order_date) "
                "SELECT :tenant, gen_random_uuid(), 'X/' || n, :customer, 'draft', now()::date "
                "FROM generate_series(1, :count) AS n"
            ),
            {"tenant": shop.setup.tenant_id, "customer": shop.retail["id"], "count": maximum},
        )
    body = problem(
        await client.post(ORDERS, json=order_body(shop), headers=shop.owner.headers()),
        402,
        "PLAN_LIMIT_REACHED",
    )
    assert body["limit"] == "max_orders_per_month"


async def test_permissions_and_other_tenants(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    order = await create_order(client, shop)
    line = order["lines"][0]
    production = await member_with_roles(runtime, client, shop.setup, ["production"])
    assert (
        await client.get(f"{ORDERS}/{order['id']}", headers=production.headers())
    ).status_code == 200
    for method, path, body in (
        ("POST", ORDERS, order_body(shop)),
        ("PATCH", f"{ORDERS}/{order['id']}", {"notes": "x"}),
        ("PATCH", f"{ORDERS}/{order['id']}/lines/{line['id']}/sizes", {"sizes": {"M": 1}}),
        ("PUT", f"{ORDERS}/{order['id']}/lines/{line['id']}/artwork", {"status": "approved"}),
        ("POST", f"{ORDERS}/{order['id']}/transitions", {"to": "confirmed"}),
        (
            "POST",
            f"{ORDERS}/{order['id']}/payments",
            {"method": "cash", "amount": 1, "paid_on": "2026-12-01"},
        ),
    ):
        denied = await client.request(method, path, json=body, headers=production.headers())
        problem(denied, 403, "PERMISSION_DENIED")
    sales = await member_with_roles(runtime, client, shop.setup, ["sales"])
    confirm = await client.post(
        f"{ORDERS}/{order['id']}/transitions", json={"to": "confirmed"}, headers=sales.headers()
    )
    assert problem(confirm, 403, "PERMISSION_DENIED")["permission"] == "orders.approve"
    stranger = other_shop.owner
    hidden_calls: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
        ("GET", f"{ORDERS}/{order['id']}", None),
        ("PATCH", f"{ORDERS}/{order['id']}", {"notes": "x"}),
        ("PATCH", f"{ORDERS}/{order['id']}/lines/{line['id']}/sizes", {"sizes": {"M": 1}}),
        ("PUT", f"{ORDERS}/{order['id']}/lines/{line['id']}/artwork", {"status": "approved"}),
        ("POST", f"{ORDERS}/{order['id']}/transitions", {"to": "confirmed"}),
        ("GET", f"{ORDERS}/{order['id']}/history", None),
        ("GET", f"{ORDERS}/{order['id']}/payments", None),
        (
            "POST",
            f"{ORDERS}/{order['id']}/payments",
            {"method": "cash", "amount": 1, "paid_on": "2026-12-01"},
        ),
        ("GET", f"{ORDERS}/{order['id']}/packing-list", None),
    )
    for method, path, payload in hidden_calls:
        hidden = await client.request(method, path, json=payload, headers=stranger.headers())
        problem(hidden, 404, "RESOURCE_NOT_FOUND")
    # Another tenant's customer or product is not a reference either.
    foreign = order_body(shop)
    foreign["customer_id"] = other_shop.retail["id"]
    assert "body.customer_id" in field_errors(
        await client.post(ORDERS, json=foreign, headers=shop.owner.headers())
    )


async def test_the_demo_tenant_gets_one_confirmed_order_with_dp_paid(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from garment.demo import DemoCatalogue, DemoSales
    from tests.tenancy.conftest import tenant_setup
    from tests.tenant.conftest import owner_of

    setup = await tenant_setup(runtime, client)
    await DemoCatalogue(
        tenancy=runtime.tenancy,
        cluster_manager=runtime.cluster_manager,
        taxonomies=runtime.taxonomies,
        products=runtime.products,
        materials=runtime.materials,
    ).ensure(setup.tenant_id)
    seed = DemoSales(
        tenancy=runtime.tenancy,
        central=runtime.central,
        cluster_manager=runtime.cluster_manager,
        products=runtime.products,
        customers=runtime.customers,
        orders=runtime.orders,
    )
    order_id = await seed.ensure(setup.tenant_id)
    assert order_id is not None
    assert await seed.ensure(setup.tenant_id) is None
    owner = owner_of(setup)
    order = (await client.get(f"{ORDERS}/{order_id}", headers=owner.headers())).json()
    assert order["status"] == "confirmed" and order["quantity"] == 52
    assert order["paid_amount"] == order["down_payment_due"] > 0
    assert {line["artwork_status"] for line in order["lines"]} == {"approved"}
    customers = (await client.get("/api/v1/tenant/customers", headers=owner.headers())).json()
    assert sorted(c["type"] for c in customers["data"]) == ["corporate", "reseller", "retail"]
    school = next(c for c in customers["data"] if c["type"] == "corporate")
    assert school["credit_days"] == 30  # delivers before full payment (credit terms)
