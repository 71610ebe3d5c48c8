"""Property: random creates, reads, updates and deletes of tenant resources by the members of
three tenants never reveal or change another tenant's rows, through the API and directly on the
RLS-bound session. Adding a resource is one `Resource(...)` entry in `RESOURCES`."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text

from garment.runtime import Runtime
from tests.conftest import make_client
from tests.tenancy.conftest import TenantSetup, tenant_setup


@dataclass(frozen=True)
class Resource:
    """A tenant resource under test: its collection path, its table, a create body and an update
    body for a drawn number, the member `check` both set, and what DELETE does to the row."""

    name: str
    path: str
    table: str
    # The create body for a drawn number and the tenant's references (`refs`: ids made once
    # per tenant by `prepare_refs`, e.g. a customer and a product for an order).
    create: Callable[[int, dict[str, Any]], dict[str, Any]]
    update: Callable[[int], dict[str, Any]] | None  # None: no PATCH (documents)
    check: str
    delete_removes_row: bool | None  # False: DELETE archives; None: no DELETE
    list_params: dict[str, str] = field(default_factory=dict)
    touch: str = "updated_at = now()"  # the no-op change of the RLS update probe
    # Per-create references made just before the create (e.g. a fresh design for a routing,
    # which is unique per target, or a confirmed order for a production job).
    prepare: Callable[[World, TenantModel], Awaitable[dict[str, Any]]] | None = None
    # The rows a create answers with (a production start answers with its jobs).
    created: Callable[[dict[str, Any]], list[dict[str, Any]]] = lambda body: [body]
    # Rows a create adds to other resources' tables (a dispatch writes ledger events).
    side_rows: Callable[[World, TenantModel, dict[str, Any]], Awaitable[None]] | None = None
    read_suffix: str | None = ""  # appended to the row's path for a read; None: no GET one
    unwrap: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: body  # the read's row


# Wage periods may not overlap: every created period gets days of its own.
PERIOD_DAYS = itertools.count()


def next_period() -> dict[str, Any]:
    day = date(2001, 1, 1) + timedelta(days=next(PERIOD_DAYS))
    return {"starts_on": day.isoformat(), "ends_on": day.isoformat()}


def stages(n: int) -> list[dict[str, Any]]:
    return [
        {"code": code, "label_id": code.title(), "label_en": code.title(), "capacity_per_day": n}
        for code in ("potong", "jahit", "packing")
    ]


async def fresh_design(world: World, model: TenantModel) -> dict[str, Any]:
    """A design of its own for a routing (one routing per product); it joins the model."""
    response = await world.client.post(
        "/api/v1/tenant/products",
        json={
            "sku": f"RT-{uuid.uuid4().hex[:8].upper()}",
            "name": "Desain Alur",
            "base_price": 20_000,
            "status": "active",
            "sizes": [{"code": "M"}],
            "colors": ["putih"],
        },
        headers=model.setup.headers(),
    )
    assert response.status_code == 201, response.text
    model.rows["products"].add(response.json()["id"])
    model.live["products"][response.json()["id"]] = response.json()["name"]
    return {"target_id": response.json()["id"]}


async def confirmed_order(world: World, model: TenantModel) -> dict[str, Any]:
    return await order_to_produce(world.client, model, {"M": 3})


async def order_to_produce(
    http: httpx.AsyncClient, model: TenantModel, sizes: dict[str, int]
) -> dict[str, Any]:
    """An order with approved artwork, confirmed (the DP policy is 0): ready to produce."""
    headers = model.setup.headers()
    order = await http.post(
        "/api/v1/tenant/orders",
        json={
            "customer_id": model.refs["customer_id"],
            "notes": "Untuk produksi",
            "lines": [{"product_id": model.refs["product_id"], "color": "hitam", "sizes": sizes}],
        },
        headers=headers,
    )
    assert order.status_code == 201, order.text
    body = order.json()
    path = f"/api/v1/tenant/orders/{body['id']}"
    approved = await http.put(
        f"{path}/lines/{body['lines'][0]['id']}/artwork",
        json={"status": "approved"},
        headers=headers,
    )
    assert approved.status_code == 200, approved.text
    moved = await http.post(f"{path}/transitions", json={"to": "confirmed"}, headers=headers)
    assert moved.status_code == 200, moved.text
    model.rows["orders"].add(body["id"])
    model.live["orders"][body["id"]] = body["notes"]
    return {"order_id": body["id"]}


async def dispatch_events(world: World, model: TenantModel, created: dict[str, Any]) -> None:
    """A dispatch writes a `dispatch` ledger event per size: they join the model."""
    setup = model.setup
    manager = world.runtime.cluster_manager
    async with manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        rows = (
            await db.execute(
                text("SELECT id, quantity FROM production_events WHERE dispatch_id = :id"),
                {"id": created["id"]},
            )
        ).all()
    assert rows
    for row in rows:
        model.rows["ledger_events"].add(str(row.id))
        model.live["ledger_events"][str(row.id)] = row.quantity


RESOURCES: tuple[Resource, ...] = (
    Resource(
        name="customers",
        path="/api/v1/tenant/customers",
        table="customers",
        create=lambda n, refs: {"name": f"Pelanggan {n}", "type": ("retail", "reseller")[n % 2]},
        update=lambda n: {"name": f"Pelanggan diubah {n}"},
        check="name",
        delete_removes_row=False,
        list_params={"limit": "100"},
    ),
    Resource(
        name="products",
        path="/api/v1/tenant/products",
        table="products",
        # SKUs are unique per tenant: a drawn number may repeat, the suffix does not.
        create=lambda n, refs: {
            "sku": f"ISO-{n}-{uuid.uuid4().hex[:6].upper()}",
            "name": f"Desain {n}",
            "base_price": 10_000 + n,
            "status": "active",
            "sizes": [{"code": "S"}, {"code": "M"}],
            "colors": ["hitam"],
        },
        update=lambda n: {"name": f"Desain diubah {n}"},
        check="name",
        delete_removes_row=True,
        list_params={"limit": "100"},
    ),
    Resource(
        name="materials",
        path="/api/v1/tenant/materials",
        table="materials",
        create=lambda n, refs: {
            "code": f"MAT-{n}-{uuid.uuid4().hex[:6].upper()}",
            "name": f"Bahan {n}",
            "unit": ("kg", "m")[n % 2],
        },
        update=lambda n: {"name": f"Bahan diubah {n}"},
        check="name",
        delete_removes_row=False,
        list_params={"limit": "100"},
    ),
    Resource(
        name="orders",
        path="/api/v1/tenant/orders",
        table="orders",
        create=lambda n, refs: {
            "customer_id": refs["customer_id"],
            "notes": f"Pesanan {n}",
            "lines": [{"product_id": refs["product_id"], "color": "hitam", "sizes": {"M": 1 + n}}],
        },
        update=lambda n: {"notes": f"Pesanan diubah {n}"},
        check="notes",
        delete_removes_row=None,
        list_params={"limit": "100"},
    ),
    Resource(
        name="quotations",
        path="/api/v1/tenant/quotations",
        table="quotations",
        create=lambda n, refs: {
            "customer_id": refs["customer_id"],
            "valid_until": "2999-12-31",
            "lines": [{"product_id": refs["product_id"], "color": "hitam", "sizes": {"L": 1 + n}}],
        },
        update=None,
        check="number",
        delete_removes_row=None,
        list_params={"limit": "100"},
    ),
    Resource(
        name="deliveries",
        path="/api/v1/tenant/deliveries",
        table="deliveries",
        create=lambda n, refs: {
            "order_id": refs["ready_order_id"],
            "lines": [{"line_id": refs["ready_line_id"], "size": "S", "qty": 1}],
        },
        update=None,
        check="number",
        delete_removes_row=None,
        list_params={"limit": "100"},
        touch="notes = notes",
    ),
    Resource(
        name="makloon_partners",
        path="/api/v1/tenant/makloon/partners",
        table="makloon_partners",
        create=lambda n, refs: {"name": f"Penjahit {n}"},
        update=lambda n: {"name": f"Penjahit diubah {n}"},
        check="name",
        delete_removes_row=False,
        list_params={"limit": "100"},
    ),
    Resource(
        name="wage_rates",
        path="/api/v1/tenant/wages/rates",
        table="wage_rates",
        create=lambda n, refs: {"stage": "jahit", "rate": 1_000 + n},
        update=lambda n: {"rate": 5_000 + n},
        check="rate",
        delete_removes_row=True,
    ),
    Resource(
        name="routings",
        path="/api/v1/tenant/production/routings",
        table="production_routings",
        create=lambda n, refs: {
            "scope": "product",
            "target_id": refs["target_id"],
            "stages": stages(n),
        },
        update=lambda n: {"stages": stages(100 + n)},
        check="stages",
        delete_removes_row=True,
        prepare=fresh_design,
    ),
    Resource(
        name="production_jobs",
        path="/api/v1/tenant/production/jobs",
        table="production_jobs",
        create=lambda n, refs: {"order_id": refs["order_id"]},
        update=None,
        check="order_number",
        delete_removes_row=None,
        list_params={"limit": "100"},
        prepare=confirmed_order,
        created=lambda body: list(body["jobs"]),
    ),
    Resource(
        name="ledger_events",
        path="/api/v1/tenant/production/events",
        table="production_events",
        create=lambda n, refs: {
            "job_id": refs["job_id"],
            "size": "S",
            "stage": "potong",
            "kind": "in",
            "quantity": 1 + n % 5,
        },
        update=None,
        check="quantity",
        delete_removes_row=None,
        list_params={"limit": "100"},
        touch="quantity = quantity",
        read_suffix=None,
    ),
    Resource(
        name="makloon_dispatches",
        path="/api/v1/tenant/makloon/dispatches",
        table="makloon_dispatches",
        create=lambda n, refs: {
            "partner_id": refs["partner_id"],
            "job_id": refs["job_id"],
            "stage": "potong",
            "sizes": {"S": 1 + n % 3},
            "rate_per_piece": 1_000 + n,
        },
        update=None,
        check="number",
        delete_removes_row=None,
        list_params={"limit": "100"},
        side_rows=dispatch_events,
    ),
    Resource(
        name="wage_periods",
        path="/api/v1/tenant/wages/periods",
        table="wage_periods",
        create=lambda n, refs: next_period(),
        update=None,
        check="starts_on",
        delete_removes_row=None,
        read_suffix="/earnings",
        unwrap=lambda body: dict(body["period"]),
    ),
    Resource(
        name="taxonomy_terms",
        path="/api/v1/tenant/taxonomies",
        table="taxonomy_terms",
        # Codes are unique per type: a drawn number may repeat, the suffix does not.
        create=lambda n, refs: {
            "type": "custom",
            "code": f"iso-{n}-{uuid.uuid4().hex[:8]}",
            "label_id": f"Istilah {n}",
            "label_en": f"Term {n}",
        },
        update=lambda n: {"label_en": f"Term changed {n}"},
        check="label_en",
        delete_removes_row=False,
        list_params={"type": "custom", "limit": "100"},  # the seeded defaults are other types
    ),
)


async def prepare_refs(
    runtime: Runtime, http: httpx.AsyncClient, model: TenantModel
) -> dict[str, Any]:
    """What the sales resources reference in one tenant: a customer with credit terms, a design,
    and a ready order (plenty of S left) for delivery notes. Rows it makes join the model."""
    setup = model.setup
    headers = setup.headers()
    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        seeded = (await db.execute(text("SELECT id FROM taxonomy_terms"))).scalars().all()
    model.rows["taxonomy_terms"].update(str(term_id) for term_id in seeded)  # the defaults
    customer = await http.post(
        "/api/v1/tenant/customers",
        json={"name": "Pelanggan Kredit", "type": "corporate", "credit_days": 30},
        headers=headers,
    )
    assert customer.status_code == 201, customer.text
    model.rows["customers"].add(customer.json()["id"])
    model.live["customers"][customer.json()["id"]] = customer.json()["name"]
    product = await http.post(
        "/api/v1/tenant/products",
        json={
            "sku": "KAOS-ISO",
            "name": "Kaos Isolasi",
            "base_price": 50_000,
            "status": "active",
            "sizes": [{"code": "S"}, {"code": "M"}, {"code": "L"}],
            "colors": ["hitam"],
        },
        headers=headers,
    )
    assert product.status_code == 201, product.text
    policy = await http.put(
        "/api/v1/tenant/sales-settings",
        json={"down_payment_kind": "fixed", "down_payment_value": 0},
        headers=headers,
    )
    assert policy.status_code == 200, policy.text
    model.rows["products"].add(product.json()["id"])
    model.live["products"][product.json()["id"]] = product.json()["name"]
    refs = {"customer_id": customer.json()["id"], "product_id": product.json()["id"]}
    order = await http.post(
        "/api/v1/tenant/orders",
        json={
            "customer_id": refs["customer_id"],
            "lines": [
                {"product_id": refs["product_id"], "color": "hitam", "sizes": {"S": 100_000}}
            ],
        },
        headers=headers,
    )
    assert order.status_code == 201, order.text
    ready = order.json()
    line_id = ready["lines"][0]["id"]
    path = f"/api/v1/tenant/orders/{ready['id']}"
    assert (
        await http.put(
            f"{path}/lines/{line_id}/artwork", json={"status": "approved"}, headers=headers
        )
    ).status_code == 200
    for to in ("confirmed", "in_production"):
        moved = await http.post(f"{path}/transitions", json={"to": to}, headers=headers)
        assert moved.status_code == 200, moved.text
    async with (
        runtime.central.transaction() as central,
        runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db,
    ):
        await runtime.orders.mark_ready(db, central, setup.tenant_id, uuid.UUID(ready["id"]))
    model.rows["orders"].add(ready["id"])
    model.live["orders"][ready["id"]] = None
    return {
        **refs,
        "ready_order_id": ready["id"],
        "ready_line_id": line_id,
        **await production_refs(http, model, refs),
    }


async def production_refs(
    http: httpx.AsyncClient, model: TenantModel, refs: dict[str, Any]
) -> dict[str, Any]:
    """What the production resources reference: the default routing (never deleted), a job of
    100 000 S with 10 000 cut in at `potong` (for dispatches and more pieces in), a partner."""
    headers = model.setup.headers()
    routings = await http.get("/api/v1/tenant/production/routings", headers=headers)
    assert routings.status_code == 200, routings.text
    (default,) = [row for row in routings.json()["data"] if row["scope"] == "default"]
    model.rows["routings"].add(default["id"])
    model.live["routings"][default["id"]] = default["stages"]
    model.refs = dict(refs)
    order = await order_to_produce(http, model, {"S": 100_000})
    started = await http.post("/api/v1/tenant/production/jobs", json=order, headers=headers)
    assert started.status_code == 201, started.text
    (job,) = started.json()["jobs"]
    model.rows["production_jobs"].add(job["id"])
    model.live["production_jobs"][job["id"]] = job["order_number"]
    cut_in = await http.post(
        "/api/v1/tenant/production/events",
        json={
            "job_id": job["id"],
            "size": "S",
            "stage": "potong",
            "kind": "in",
            "quantity": 10_000,
        },
        headers=headers,
    )
    assert cut_in.status_code == 201, cut_in.text
    model.rows["ledger_events"].add(cut_in.json()["id"])
    model.live["ledger_events"][cut_in.json()["id"]] = 10_000
    partner = await http.post(
        "/api/v1/tenant/makloon/partners", json={"name": "Penjahit Tetap"}, headers=headers
    )
    assert partner.status_code == 201, partner.text
    model.rows["makloon_partners"].add(partner.json()["id"])
    model.live["makloon_partners"][partner.json()["id"]] = partner.json()["name"]
    return {"routing_id": default["id"], "job_id": job["id"], "partner_id": partner.json()["id"]}


@dataclass
class TenantModel:
    setup: TenantSetup
    # resource name -> id -> the `check` value it should have; deleted ids leave `live`
    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: dict[str, set[str]] = field(default_factory=dict)  # every id with a row
    refs: dict[str, Any] = field(default_factory=dict)  # what creates reference (prepare_refs)


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    tenants: list[TenantModel]


@pytest.fixture(scope="module")
async def world(runtime: Runtime, app: FastAPI) -> AsyncIterator[World]:
    """Two tenants on `default` (only RLS separates their rows), one on `secondary`."""
    async with make_client(app) as http:
        setups = [
            await tenant_setup(runtime, http, cluster="default"),
            await tenant_setup(runtime, http, cluster="default"),
            await tenant_setup(runtime, http, cluster="secondary"),
        ]
        models = [
            TenantModel(s, {r.name: {} for r in RESOURCES}, {r.name: set() for r in RESOURCES})
            for s in setups
        ]
        for model in models:
            model.refs = await prepare_refs(runtime, http, model)
        yield World(http, runtime, models)


@dataclass(frozen=True)
class Op:
    kind: str
    resource: int
    actor: int  # whose member acts
    target: int  # whose row the operation names
    pick: int


OPS = st.builds(
    Op,
    kind=st.sampled_from(["create", "read", "update", "delete", "rls_read", "rls_update"]),
    resource=st.integers(0, len(RESOURCES) - 1),
    actor=st.integers(0, 2),
    target=st.integers(0, 2),
    pick=st.integers(0, 50),
)


def chosen(model: TenantModel, resource: Resource, pick: int) -> str:
    known = sorted(model.rows[resource.name])
    return known[pick % len(known)] if known else str(uuid.uuid4())


async def apply(world: World, op: Op) -> None:
    resource = RESOURCES[op.resource]
    client = world.client
    actor, target = world.tenants[op.actor], world.tenants[op.target]
    headers = actor.setup.headers()
    same = op.actor == op.target
    row_id = chosen(target, resource, op.pick)
    ours = same and row_id in target.rows[resource.name]
    live = target.live[resource.name]
    url = f"{resource.path}/{row_id}"
    if op.kind == "create":
        refs = actor.refs
        if resource.prepare is not None:
            refs = {**refs, **await resource.prepare(world, actor)}
        body = resource.create(op.pick, refs)
        response = await client.post(resource.path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        for created in resource.created(response.json()):
            actor.rows[resource.name].add(created["id"])
            actor.live[resource.name][created["id"]] = created[resource.check]
        if resource.side_rows is not None:
            await resource.side_rows(world, actor, response.json())
    elif op.kind == "read" and resource.read_suffix is not None:
        response = await client.get(url + resource.read_suffix, headers=headers)
        if ours and (row_id in live or not resource.delete_removes_row):
            assert response.status_code == 200, response.text
            if row_id in live:
                assert resource.unwrap(response.json())[resource.check] == live[row_id]
        else:
            assert response.status_code == 404, response.text
    elif op.kind == "update" and resource.update is not None:
        body = resource.update(op.pick)
        response = await client.patch(url, json=body, headers=headers)
        if ours and (row_id in live or not resource.delete_removes_row):
            assert response.status_code == 200, response.text
            if row_id in live:
                live[row_id] = body[resource.check]
        else:
            assert response.status_code == 404, response.text
    elif op.kind == "delete" and resource.delete_removes_row is not None:
        if same and row_id in {str(ref) for ref in target.refs.values()}:
            return  # what other resources' creates reference (the design orders are made of)
        response = await client.delete(url, headers=headers)
        if ours and (row_id in live or not resource.delete_removes_row):
            assert response.status_code == 204, response.text
            live.pop(row_id, None)
            if resource.delete_removes_row:
                target.rows[resource.name].discard(row_id)
        else:
            assert response.status_code == 404, response.text
    elif op.kind in ("rls_read", "rls_update"):
        manager = world.runtime.cluster_manager
        async with manager.tenant_transaction(actor.setup.cluster, actor.setup.tenant_id) as db:
            if op.kind == "rls_read":
                found = await db.execute(
                    text(f"SELECT id FROM {resource.table} WHERE id = :id"), {"id": row_id}
                )
                assert len(found.all()) == (1 if ours else 0)
            else:
                # A statement that forgets the tenant filter still reaches only own rows.
                changed = await db.execute(
                    text(f"UPDATE {resource.table} SET {resource.touch} WHERE id = :id"),
                    {"id": row_id},
                )
                assert getattr(changed, "rowcount", None) == (1 if ours else 0)
    elif op.kind not in ("read", "update", "delete"):  # pragma: no cover
        raise AssertionError(op.kind)


async def check_invariant(world: World) -> None:
    for model in world.tenants:
        setup = model.setup
        for resource in RESOURCES:
            response = await world.client.get(
                resource.path, params=resource.list_params, headers=setup.headers()
            )
            assert response.status_code == 200, response.text
            listed = {row["id"]: row[resource.check] for row in response.json()["data"]}
            assert listed == model.live[resource.name]
            async with world.runtime.cluster_manager.tenant_transaction(
                setup.cluster, setup.tenant_id
            ) as db:
                rows = (await db.execute(text(f"SELECT tenant_id, id FROM {resource.table}"))).all()
            assert {row.tenant_id for row in rows} <= {setup.tenant_id}
            assert {str(row.id) for row in rows} == model.rows[resource.name]


@hypothesis_settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(OPS, min_size=1, max_size=8))
async def test_random_operations_never_cross_tenants(world: World, ops: list[Op]) -> None:
    for op in ops:
        await apply(world, op)
    await check_invariant(world)
