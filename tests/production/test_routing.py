"""Routings: the default seeded at provisioning and backfilled by 0007 for tenants that existed
before it; product and category routings picked when an order starts; validation, permissions,
other tenants."""

from __future__ import annotations

import uuid

import httpx
import psycopg
from alembic import command

from garment.platform.db import plain_url
from garment.platform.migrations import Tree, alembic_config, upgrade
from garment.runtime import Runtime
from tests.conftest import LayoutFactory
from tests.production.conftest import PRODUCTION, STAGES, start_order
from tests.sales.conftest import Shop
from tests.tenant.conftest import field_errors, member_with_roles, problem

ROUTINGS = f"{PRODUCTION}/routings"
WITH_SABLON = [
    {"code": "potong", "label_id": "Potong", "label_en": "Cutting", "capacity_per_day": 400},
    {"code": "sablon", "label_id": "Sablon", "label_en": "Screen printing"},
    {"code": "jahit", "label_id": "Jahit", "label_en": "Sewing", "capacity_per_day": 200},
    {"code": "qc", "label_id": "QC", "label_en": "Quality control"},
    {"code": "packing", "label_id": "Packing", "label_en": "Packing"},
]


async def test_default_and_product_routings(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    owner = shop.owner
    listed = (await client.get(ROUTINGS, headers=owner.headers())).json()["data"]
    assert [routing["scope"] for routing in listed] == ["default"]
    assert [stage["code"] for stage in listed[0]["stages"]] == STAGES
    created = await client.post(
        ROUTINGS,
        json={"scope": "product", "target_id": shop.product["id"], "stages": WITH_SABLON},
        headers=owner.headers(),
    )
    assert created.status_code == 201, created.text
    routing = created.json()
    assert created.headers["ETag"] == '"1"'
    again = await client.post(
        ROUTINGS,
        json={"scope": "product", "target_id": shop.product["id"], "stages": WITH_SABLON},
        headers=owner.headers(),
    )
    assert "target_id" in field_errors(again)
    for bad, field in (
        ({"scope": "default", "stages": WITH_SABLON}, "scope"),
        ({"scope": "product", "stages": WITH_SABLON}, "target_id"),
        ({"scope": "category", "target_id": str(uuid.uuid4()), "stages": WITH_SABLON}, "target_id"),
        (
            {
                "scope": "product",
                "target_id": shop.product["id"],
                "stages": [WITH_SABLON[0], WITH_SABLON[0]],
            },
            "stages",
        ),
    ):
        assert field in field_errors(await client.post(ROUTINGS, json=bad, headers=owner.headers()))
    job = await start_order(client, shop, {"M": 5})
    assert job["stages"] == ["potong", "sablon", "jahit", "qc", "packing"]
    url = f"{ROUTINGS}/{routing['id']}"
    stale = await client.patch(
        url, json={"stages": WITH_SABLON[:2]}, headers=owner.headers(**{"If-Match": '"7"'})
    )
    problem(stale, 409, "CONFLICT")
    changed = await client.patch(
        url, json={"stages": WITH_SABLON[:3]}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    running = (await client.get(f"{PRODUCTION}/jobs/{job['id']}", headers=owner.headers())).json()
    assert running["stages"] == job["stages"]  # a running job keeps its snapshot
    production = await member_with_roles(runtime, client, shop.setup, ["production"])
    viewer = await member_with_roles(runtime, client, shop.setup, ["viewer"])
    assert (await client.get(url, headers=viewer.headers())).status_code == 200
    problem(
        await client.patch(url, json={"stages": WITH_SABLON}, headers=viewer.headers()),
        403,
        "PERMISSION_DENIED",
    )
    stranger = other_shop.owner
    problem(await client.get(url, headers=stranger.headers()), 404, "RESOURCE_NOT_FOUND")
    problem(await client.delete(url, headers=stranger.headers()), 404, "RESOURCE_NOT_FOUND")
    assert (await client.delete(url, headers=production.headers())).status_code == 204
    default_id = listed[0]["id"]
    assert "routing_id" in field_errors(
        await client.delete(f"{ROUTINGS}/{default_id}", headers=owner.headers())
    )


def test_0007_gives_existing_tenants_the_default_routing(layout_factory: LayoutFactory) -> None:
    _, targets = layout_factory("rt")
    cluster = next(iter(targets.clusters.values()))
    command.upgrade(alembic_config(Tree.TENANT, cluster.owner_url, cluster.app_role), "0006_sales")
    tenants = [uuid.uuid4(), uuid.uuid4()]
    with psycopg.connect(plain_url(cluster.owner_url), autocommit=True) as conn:
        for tenant_id in tenants:
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_id),))
            for key in ("owner", "viewer"):
                conn.execute(
                    "INSERT INTO roles (tenant_id, id, key, name_id, name_en, is_system) "
                    "VALUES (%s, %s, %s, %s, %s, true)",
                    (tenant_id, uuid.uuid4(), key, key, key),
                )
    result = upgrade(Tree.TENANT, cluster.owner_url, cluster.app_role)
    assert result.before == "0006_sales" and result.changed
    with psycopg.connect(plain_url(cluster.owner_url), autocommit=True) as conn:
        for tenant_id in tenants:
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_id),))
            rows = conn.execute("SELECT scope, stages FROM production_routings").fetchall()
            assert len(rows) == 1 and rows[0][0] == "default"
            assert [stage["code"] for stage in rows[0][1]] == STAGES
