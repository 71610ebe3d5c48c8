"""Taxonomy terms CRUD: create (code unique per type, parent of the same type), read with ETag,
update under If-Match (no cycles), archive instead of delete, idempotent create, the audit
trail, permissions, and another tenant's id as 404."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from garment.runtime import Runtime
from tests.catalogue.conftest import create_product, product_body
from tests.taxonomies.conftest import TAXONOMIES, create_term, term_body
from tests.tenancy.conftest import TenantSetup
from tests.tenant.conftest import (
    Caller,
    field_errors,
    member_with_roles,
    new_key,
    owner_of,
    problem,
)

AUDIT = "/api/v1/tenant/audit-logs"


async def test_create_read_update_archive_restore(client: httpx.AsyncClient, owner: Caller) -> None:
    created = await client.post(
        TAXONOMIES,
        json=term_body("batik", sort_order=5),
        headers=owner.headers(),
    )
    assert created.status_code == 201, created.text
    term = created.json()
    assert term["type"] == "collection" and term["code"] == "batik"
    assert term["parent_id"] is None and term["sort_order"] == 5
    assert term["version"] == 1 and term["archived"] is False
    assert created.headers["ETag"] == '"1"'
    url = created.headers["Location"]
    assert url == f"{TAXONOMIES}/{term['id']}"

    fetched = await client.get(url, headers=owner.headers())
    assert fetched.status_code == 200 and fetched.json() == term
    assert fetched.headers["ETag"] == '"1"'

    child = await create_term(client, owner, "batik-pesisir", parent_id=term["id"])
    assert child["parent_id"] == term["id"]
    children = await client.get(
        TAXONOMIES, params={"parent_id": term["id"]}, headers=owner.headers()
    )
    assert [t["code"] for t in children.json()["data"]] == ["batik-pesisir"]

    updated = await client.patch(
        url,
        json={"label_en": "Batik line", "sort_order": 7},
        headers=owner.headers(**{"If-Match": '"1"'}),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["label_en"] == "Batik line" and updated.json()["version"] == 2
    assert updated.headers["ETag"] == '"2"'
    unchanged = await client.patch(url, json={"sort_order": 7}, headers=owner.headers())
    assert unchanged.json()["version"] == 2  # nothing changed, nothing written

    moved = await client.patch(
        f"{TAXONOMIES}/{child['id']}", json={"parent_id": None}, headers=owner.headers()
    )
    assert moved.status_code == 200 and moved.json()["parent_id"] is None

    archived = await client.delete(url, headers=owner.headers(**{"If-Match": '"2"'}))
    assert archived.status_code == 204
    listed = await client.get(TAXONOMIES, params={"type": "collection"}, headers=owner.headers())
    assert [t["code"] for t in listed.json()["data"]] == ["batik-pesisir"]
    with_archived = await client.get(
        TAXONOMIES, params={"type": "collection", "archived": "true"}, headers=owner.headers()
    )
    assert {t["code"] for t in with_archived.json()["data"]} == {"batik", "batik-pesisir"}
    still = await client.get(url, headers=owner.headers())
    assert still.status_code == 200 and still.json()["archived"] is True
    restored = await client.patch(url, json={"archived": False}, headers=owner.headers())
    assert restored.json()["archived"] is False and restored.json()["version"] == 4

    audit = await client.get(
        AUDIT,
        params={"entity_type": "taxonomy_term", "entity_id": term["id"]},
        headers=owner.headers(),
    )
    rows = audit.json()["data"]
    assert [row["action"] for row in rows] == ["restore", "archive", "update", "create"]
    assert rows[2]["changes"] == {
        "before": {"label_en": "Batik collection", "sort_order": 5},
        "after": {"label_en": "Batik line", "sort_order": 7},
    }
    assert rows[3]["actor_id"] == str(owner.user.id)


async def test_archived_term_used_by_a_product_keeps_existing(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    collection = await create_term(client, owner, "lebaran")
    product = await create_product(client, owner, collection_id=collection["id"])
    assert product["collection_id"] == collection["id"]
    url = f"{TAXONOMIES}/{collection['id']}"
    assert (await client.delete(url, headers=owner.headers())).status_code == 204
    fetched = await client.get(f"/api/v1/tenant/products/{product['id']}", headers=owner.headers())
    assert fetched.status_code == 200 and fetched.json()["collection_id"] == collection["id"]
    assert (await client.get(url, headers=owner.headers())).json()["archived"] is True
    # An archived term cannot be newly chosen, neither by a product nor as a parent.
    refused = await client.post(
        "/api/v1/tenant/products",
        json=product_body("KAOS-2", collection_id=collection["id"]),
        headers=owner.headers(),
    )
    assert "collection_id" in field_errors(refused)  # products name it without `body.`
    orphan = await client.post(
        TAXONOMIES, json=term_body("lebaran-2", parent_id=collection["id"]), headers=owner.headers()
    )
    assert "body.parent_id" in field_errors(orphan)


async def test_validation_names_the_field(client: httpx.AsyncClient, owner: Caller) -> None:
    cases = {
        "body.type": term_body(type="sleeve"),
        "body.code": term_body("Bukan Kode"),
        "body.label_id": term_body(label_id=" padded "),
        "body.label_en": term_body(label_en=""),
        "body.sort_order": term_body(sort_order=-1),
        "body.parent_id": term_body(parent_id="nope"),
    }
    for field, body in cases.items():
        response = await client.post(TAXONOMIES, json=body, headers=owner.headers())
        assert field in field_errors(response), (field, response.text)
    unknown = await client.post(
        TAXONOMIES, json={**term_body(), "colour": "red"}, headers=owner.headers()
    )
    assert "body.colour" in field_errors(unknown)
    missing = await client.post(TAXONOMIES, json={"type": "size"}, headers=owner.headers())
    assert {"body.code", "body.label_id", "body.label_en"} <= set(field_errors(missing))
    no_parent = await client.post(
        TAXONOMIES, json=term_body(parent_id=str(uuid.uuid4())), headers=owner.headers()
    )
    assert "body.parent_id" in field_errors(no_parent)


async def test_duplicate_code_is_409_per_type(client: httpx.AsyncClient, owner: Caller) -> None:
    # `hitam` is a seeded colour; the same code is free for another type.
    taken = await client.post(
        TAXONOMIES, json=term_body("hitam", type="color"), headers=owner.headers()
    )
    body = problem(taken, 409, "TAXONOMY_CODE_TAKEN")
    assert "body.code" in body["errors"]
    assert "hitam" in body["detail"]
    other_type = await create_term(client, owner, "hitam", type="collection")
    assert other_type["type"] == "collection"


async def test_parent_must_have_the_same_type(client: httpx.AsyncClient, owner: Caller) -> None:
    colour = await client.get(TAXONOMIES, params={"type": "color"}, headers=owner.headers())
    black = colour.json()["data"][0]
    response = await client.post(
        TAXONOMIES, json=term_body("hitam-pekat", parent_id=black["id"]), headers=owner.headers()
    )
    assert "body.parent_id" in field_errors(response)
    same = await create_term(client, owner, "hitam-pekat", type="color", parent_id=black["id"])
    assert same["parent_id"] == black["id"]
    collection = await create_term(client, owner, "koleksi")
    moved = await client.patch(
        f"{TAXONOMIES}/{same['id']}", json={"parent_id": collection["id"]}, headers=owner.headers()
    )
    assert "body.parent_id" in field_errors(moved)


async def test_a_term_cannot_become_its_own_ancestor(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    top = await create_term(client, owner, "atasan", type="category")
    middle = await create_term(client, owner, "kaos-lengan", type="category", parent_id=top["id"])
    leaf = await create_term(client, owner, "kaos-raglan", type="category", parent_id=middle["id"])
    for parent in (top, middle, leaf):
        response = await client.patch(
            f"{TAXONOMIES}/{top['id']}", json={"parent_id": parent["id"]}, headers=owner.headers()
        )
        assert "body.parent_id" in field_errors(response), parent["code"]
    fetched = await client.get(f"{TAXONOMIES}/{top['id']}", headers=owner.headers())
    assert fetched.json()["parent_id"] is None and fetched.json()["version"] == 1
    # Moving the leaf under the top (not a cycle) is fine.
    fine = await client.patch(
        f"{TAXONOMIES}/{leaf['id']}", json={"parent_id": top["id"]}, headers=owner.headers()
    )
    assert fine.status_code == 200 and fine.json()["parent_id"] == top["id"]


async def test_stale_if_match_is_409_and_changes_nothing(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    term = await create_term(client, owner, "ramadan")
    url = f"{TAXONOMIES}/{term['id']}"
    first = await client.patch(
        url, json={"label_id": "Koleksi Ramadan"}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = await client.patch(
        url, json={"label_en": "Overwritten"}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    assert problem(stale, 409, "CONFLICT")["current_version"] == 2
    stale_archive = await client.delete(url, headers=owner.headers(**{"If-Match": '"1"'}))
    problem(stale_archive, 409, "CONFLICT")
    fetched = (await client.get(url, headers=owner.headers())).json()
    assert fetched["label_en"] == "Batik collection" and fetched["archived"] is False
    assert fetched["version"] == 2
    weak = await client.patch(
        url, json={"sort_order": 3}, headers=owner.headers(**{"If-Match": 'W/"2"'})
    )
    assert weak.status_code == 200 and weak.json()["version"] == 3


async def test_idempotent_create(client: httpx.AsyncClient, owner: Caller) -> None:
    key = new_key()
    body = term_body("imlek")
    first = await client.post(
        TAXONOMIES, json=body, headers=owner.headers(**{"Idempotency-Key": key})
    )
    again = await client.post(
        TAXONOMIES, json=body, headers=owner.headers(**{"Idempotency-Key": key})
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = await client.get(TAXONOMIES, params={"type": "collection"}, headers=owner.headers())
    assert [t["code"] for t in listed.json()["data"]] == ["imlek"]
    reused = await client.post(
        TAXONOMIES, json=term_body("imlek-2"), headers=owner.headers(**{"Idempotency-Key": key})
    )
    problem(reused, 422, "IDEMPOTENCY_KEY_REUSED")


async def test_permissions(
    client: httpx.AsyncClient, runtime: Runtime, tenant_a: TenantSetup, owner: Caller
) -> None:
    term = await create_term(client, owner, "sekolah")
    url = f"{TAXONOMIES}/{term['id']}"
    viewer = await member_with_roles(runtime, client, tenant_a, ["viewer"])
    assert (await client.get(url, headers=viewer.headers())).status_code == 200
    assert (await client.get(TAXONOMIES, headers=viewer.headers())).status_code == 200
    denied = [
        await client.post(TAXONOMIES, json=term_body("x"), headers=viewer.headers()),
        await client.patch(url, json={"sort_order": 1}, headers=viewer.headers()),
        await client.delete(url, headers=viewer.headers()),
    ]
    for response in denied:
        problem(response, 403, "PERMISSION_DENIED")
    admin = await member_with_roles(runtime, client, tenant_a, ["admin"])
    assert (
        await client.post(TAXONOMIES, json=term_body("y"), headers=admin.headers())
    ).status_code == 201
    operator = await member_with_roles(runtime, client, tenant_a, ["operator"])
    problem(await client.get(url, headers=operator.headers()), 403, "PERMISSION_DENIED")


async def test_another_tenants_term_is_404(
    client: httpx.AsyncClient, owner: Caller, tenant_b: TenantSetup
) -> None:
    theirs = owner_of(tenant_b)
    term = await create_term(client, owner, "kantor")
    url = f"{TAXONOMIES}/{term['id']}"
    problem(await client.get(url, headers=theirs.headers()), 404, "RESOURCE_NOT_FOUND")
    problem(
        await client.patch(url, json={"sort_order": 1}, headers=theirs.headers()),
        404,
        "RESOURCE_NOT_FOUND",
    )
    problem(await client.delete(url, headers=theirs.headers()), 404, "RESOURCE_NOT_FOUND")
    # Nor can their term take ours as a parent.
    adopt = await client.post(
        TAXONOMIES, json=term_body("kantor-2", parent_id=term["id"]), headers=theirs.headers()
    )
    assert "body.parent_id" in field_errors(adopt)
    assert (await client.get(url, headers=owner.headers())).json()["version"] == 1


async def test_parallel_creations_of_one_code_give_one_term_and_field_errors(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    """The check before the insert cannot see a twin committing at the same moment; the unique
    key does, and it answers like the check (409 naming the field), never 500."""
    code = f"par-{uuid.uuid4().hex[:8]}"
    answers = await asyncio.gather(
        *(client.post(TAXONOMIES, json=term_body(code), headers=owner.headers()) for _ in range(8))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * 7, [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["code"] == "TAXONOMY_CODE_TAKEN"
            assert "body.code" in answer.json()["errors"]
