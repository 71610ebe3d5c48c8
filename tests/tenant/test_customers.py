"""Customers: CRUD, tax-id validation naming the field, credit terms, archive, list filters and
sorts with cursors, permissions, and another tenant's id as 404."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from garment.platform.events import OutboxEvent
from garment.runtime import Runtime
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import field_errors, member_with_roles, owner_of, problem

CUSTOMERS = "/api/v1/tenant/customers"
NIK = "3273015506900002"  # Bandung, born 15-06-1990 (a woman: day + 40)
NPWP15 = "012345678901000"
NPWP16 = "0012345678901000"


async def test_create_read_update_archive(client: httpx.AsyncClient, runtime: Runtime) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    created = await client.post(
        CUSTOMERS,
        json={
            "name": "PT Seragam Nusantara",
            "type": "corporate",
            "phone": "+62 812-3456-7890",
            "email": "beli@seragam.co.id",
            "address": "Jl. Soekarno-Hatta 12, Bandung",
            "npwp": NPWP15,
            "nitku": NPWP16 + "000000",
            "credit_days": 30,
            "credit_limit": 50_000_000,
        },
        headers=owner.headers(),
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["type"] == "corporate" and customer["credit_limit"] == 50_000_000
    assert customer["version"] == 1 and customer["archived"] is False
    url = created.headers["Location"]
    assert url.endswith(customer["id"])
    fetched = await client.get(url, headers=owner.headers())
    assert fetched.json() == customer

    person = await client.post(
        CUSTOMERS, json={"name": "Ibu Sari", "nik": NIK, "npwp": NIK}, headers=owner.headers()
    )
    assert person.status_code == 201, person.text
    assert person.json()["type"] == "retail" and person.json()["credit_days"] == 0

    updated = await client.patch(
        url, json={"credit_days": 45, "notes": None}, headers=owner.headers()
    )
    assert updated.status_code == 200 and updated.json()["credit_days"] == 45
    assert updated.json()["version"] == 2
    unchanged = await client.patch(url, json={"credit_days": 45}, headers=owner.headers())
    assert unchanged.json()["version"] == 2  # nothing changed, nothing written

    archived = await client.delete(url, headers=owner.headers())
    assert archived.status_code == 204
    listed = await client.get(CUSTOMERS, headers=owner.headers())
    assert [c["name"] for c in listed.json()["data"]] == ["Ibu Sari"]
    with_archived = await client.get(
        CUSTOMERS, params={"archived": "true"}, headers=owner.headers()
    )
    assert {c["name"] for c in with_archived.json()["data"]} == {"Ibu Sari", "PT Seragam Nusantara"}
    restored = await client.patch(url, json={"archived": False}, headers=owner.headers())
    assert restored.json()["archived"] is False

    # Each change went out as a domain event through the outbox, in order, with its version.
    async with runtime.central.transaction() as session:
        rows = (
            await session.execute(
                select(OutboxEvent.name, OutboxEvent.payload)
                .where(OutboxEvent.payload["customer_id"].astext == customer["id"])
                .order_by(OutboxEvent.id)
            )
        ).all()
    assert [(name, payload.get("action"), payload["version"]) for name, payload in rows] == [
        ("customers.CustomerCreated", None, 1),
        ("customers.CustomerUpdated", "update", 2),
        ("customers.CustomerUpdated", "archive", 3),
        ("customers.CustomerUpdated", "restore", 4),
    ]


async def test_validation_names_the_field(client: httpx.AsyncClient, runtime: Runtime) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    cases: list[tuple[dict[str, object], str]] = [
        ({"name": ""}, "body.name"),
        ({"name": " padded "}, "body.name"),
        ({"name": "A", "type": "wholesale"}, "body.type"),
        ({"name": "A", "npwp": "12345"}, "body.npwp"),
        ({"name": "A", "npwp": "12.345.678.9-012.000"}, "body.npwp"),
        ({"name": "A", "npwp": "9912345678901234"}, "body.npwp"),  # 16 digits, not a NIK
        ({"name": "A", "nik": "327301550690000"}, "body.nik"),  # 15 digits
        ({"name": "A", "nik": "0073015506900002"}, "body.nik"),  # province 00
        ({"name": "A", "nik": "3273013206900002"}, "body.nik"),  # day 32
        ({"name": "A", "nik": "3273011513900002"}, "body.nik"),  # month 13
        ({"name": "A", "nitku": "123"}, "body.nitku"),
        ({"name": "A", "nitku": NPWP16 + "000000"}, "body.npwp"),  # NITKU without NPWP
        ({"name": "A", "npwp": NPWP15, "nitku": "1" * 22}, "body.nitku"),  # not of this NPWP
        ({"name": "A", "credit_days": -1}, "body.credit_days"),
        ({"name": "A", "credit_limit": 1.5}, "body.credit_limit"),
        ({"name": "A", "email": "no-at-sign"}, "body.email"),
        ({"name": "A", "phone": "call me"}, "body.phone"),
        ({"name": "A", "surprise": 1}, "body.surprise"),
    ]
    for body, field in cases:
        response = await client.post(CUSTOMERS, json=body, headers=owner.headers())
        assert field in field_errors(response), (body, response.text)
    created = await client.post(CUSTOMERS, json={"name": "A"}, headers=owner.headers())
    url = created.headers["Location"]
    assert "body.nik" in field_errors(
        await client.patch(url, json={"nik": "1"}, headers=owner.headers())
    )
    assert "query.type" in field_errors(
        await client.get(CUSTOMERS, params={"type": "x"}, headers=owner.headers())
    )
    assert "query.cursor" in field_errors(
        await client.get(CUSTOMERS, params={"cursor": "x.y"}, headers=owner.headers())
    )


async def test_permissions_and_other_tenants(client: httpx.AsyncClient, runtime: Runtime) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    production = await member_with_roles(runtime, client, setup, ["production"])
    viewer = await member_with_roles(runtime, client, setup, ["viewer"])
    created = await client.post(CUSTOMERS, json={"name": "CV Rahasia"}, headers=owner.headers())
    url = created.headers["Location"]
    problem(await client.get(CUSTOMERS, headers=production.headers()), 403, "PERMISSION_DENIED")
    problem(await client.get(url, headers=production.headers()), 403, "PERMISSION_DENIED")
    assert (await client.get(url, headers=viewer.headers())).status_code == 200
    denied = await client.post(CUSTOMERS, json={"name": "B"}, headers=viewer.headers())
    assert problem(denied, 403, "PERMISSION_DENIED")["permission"] == "customers.manage"
    problem(
        await client.patch(url, json={"name": "B"}, headers=viewer.headers()),
        403,
        "PERMISSION_DENIED",
    )
    problem(await client.delete(url, headers=viewer.headers()), 403, "PERMISSION_DENIED")

    other = owner_of(await tenant_setup(runtime, client, cluster=setup.cluster))
    for response in (
        await client.get(url, headers=other.headers()),
        await client.patch(url, json={"name": "Taken"}, headers=other.headers()),
        await client.delete(url, headers=other.headers()),
        await client.get(f"{CUSTOMERS}/{uuid.uuid4()}", headers=owner.headers()),
    ):
        problem(response, 404, "RESOURCE_NOT_FOUND")
    assert (await client.get(CUSTOMERS, headers=other.headers())).json()["data"] == []
    assert (await client.get(url, headers=owner.headers())).json()["name"] == "CV Rahasia"


async def test_list_search_type_and_sorts_page_through(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    names = ["Toko Batik 100%", "CV Maju", "PT Jaya Abadi", "Toko_Kain", "UD Sinar", "Bu Rina"]
    for index, name in enumerate(names):
        kind = "reseller" if index % 2 else "retail"
        response = await client.post(
            CUSTOMERS, json={"name": name, "type": kind}, headers=owner.headers()
        )
        assert response.status_code == 201

    async def pages(**params: str) -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            query: dict[str, str | int] = {"limit": 2, **params}
            if cursor:
                query["cursor"] = cursor
            body = (await client.get(CUSTOMERS, params=query, headers=owner.headers())).json()
            seen.extend(c["name"] for c in body["data"])
            cursor = body["meta"]["next_cursor"]
            if cursor is None:
                return seen

    assert await pages() == sorted(names)
    assert await pages(sort="-created_at") == list(reversed(names))
    assert await pages(q="toko") == ["Toko Batik 100%", "Toko_Kain"]
    assert await pages(q="100%") == ["Toko Batik 100%"]  # LIKE wildcards are literal
    assert await pages(q="o_k") == ["Toko_Kain"]
    assert await pages(type="reseller") == sorted(names[1::2])
    # A cursor continues the list it came from, whatever `sort` says now.
    first = (await client.get(CUSTOMERS, params={"limit": 2}, headers=owner.headers())).json()
    rest = await client.get(
        CUSTOMERS,
        params={"limit": 10, "sort": "-created_at", "cursor": first["meta"]["next_cursor"]},
        headers=owner.headers(),
    )
    assert [c["name"] for c in rest.json()["data"]] == sorted(names)[2:]
