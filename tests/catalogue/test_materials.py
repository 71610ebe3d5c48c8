"""Materials: units, lots (rolls), movements exact under concurrency, reservations and the
low-stock list; permissions and tenant isolation."""

from __future__ import annotations

import asyncio

import httpx

from garment.runtime import Runtime
from tests.catalogue.conftest import MATERIALS, create_material
from tests.tenancy.conftest import TenantSetup
from tests.tenant.conftest import Caller, field_errors, member_with_roles, owner_of, problem


async def test_lots_movements_and_exact_decimals(client: httpx.AsyncClient, owner: Caller) -> None:
    material = await create_material(client, owner)
    assert material["on_hand"] == "0" and material["unit"] == "kg"
    url = f"{MATERIALS}/{material['id']}"
    lot = await client.post(
        f"{url}/lots",
        json={"lot_number": "R-001", "color": "Hitam", "dye_lot": "DL-7", "quantity": "25.5"},
        headers=owner.headers(),
    )
    assert lot.status_code == 201, lot.text
    roll = lot.json()
    problem(
        await client.post(
            f"{url}/lots", json={"lot_number": "R-001", "quantity": "1"}, headers=owner.headers()
        ),
        409,
        "LOT_NUMBER_TAKEN",
    )
    for kind, quantity in [("in", "0.1"), ("in", "0.2"), ("out", "0.3")]:
        moved = await client.post(
            f"{url}/movements",
            json={"kind": kind, "quantity": quantity, "reason": "uji"},
            headers=owner.headers(),
        )
        assert moved.status_code == 201, moved.text
    assert (await client.get(url, headers=owner.headers())).json()["on_hand"] == "25.5"
    out = await client.post(
        f"{url}/movements",
        json={"kind": "out", "quantity": "30", "lot_id": roll["id"], "reason": "potong"},
        headers=owner.headers(),
    )
    body = problem(out, 409, "INSUFFICIENT_STOCK")
    assert body["available"] == "25.5"
    cut = await client.post(
        f"{url}/movements",
        json={"kind": "out", "quantity": "25.5", "lot_id": roll["id"], "reason": "potong SO-1"},
        headers=owner.headers(),
    )
    assert cut.json()["balance"] == "0" and cut.json()["delta"] == "-25.5"
    lots = await client.get(f"{url}/lots", headers=owner.headers())
    assert lots.json()["data"] == []  # the roll is consumed
    lots = await client.get(f"{url}/lots", params={"consumed": "true"}, headers=owner.headers())
    assert lots.json()["data"][0]["consumed"] is True
    adjusted = await client.post(
        f"{url}/movements",
        json={"kind": "adjust", "quantity": "3.25", "reason": "stok opname"},
        headers=owner.headers(),
    )
    assert adjusted.json()["delta"] == "3.25" and adjusted.json()["balance"] == "3.25"
    movements = (await client.get(f"{url}/movements", headers=owner.headers())).json()["data"]
    assert [m["seq"] for m in movements] == [6, 5, 4, 3, 2, 1]
    for bad, field in [
        ({"kind": "in", "quantity": 1.5, "reason": "x"}, "body.quantity"),
        ({"kind": "in", "quantity": "1.2345", "reason": "x"}, "body.quantity"),
        ({"kind": "pinjam", "quantity": "1", "reason": "x"}, "body.kind"),
        ({"kind": "in", "quantity": "1", "reason": ""}, "body.reason"),
    ]:
        errors = field_errors(
            await client.post(f"{url}/movements", json=bad, headers=owner.headers())
        )
        assert field in errors, errors


async def test_concurrent_movements_keep_on_hand_exact(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    material = await create_material(client, owner)
    url = f"{MATERIALS}/{material['id']}/movements"
    await client.post(
        url, json={"kind": "in", "quantity": "100", "reason": "awal"}, headers=owner.headers()
    )
    moves = [("in", "1.125")] * 10 + [("out", "0.5")] * 10
    responses = await asyncio.gather(
        *(
            client.post(
                url, json={"kind": k, "quantity": q, "reason": "paralel"}, headers=owner.headers()
            )
            for k, q in moves
        )
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    stored = (await client.get(f"{MATERIALS}/{material['id']}", headers=owner.headers())).json()
    assert stored["on_hand"] == "106.25"  # 100 + 10 x 1.125 - 10 x 0.5, nothing lost
    movements = await client.get(url, params={"limit": 100}, headers=owner.headers())
    assert sorted(m["seq"] for m in movements.json()["data"]) == list(range(1, 22))


async def test_reservations_and_the_low_stock_list(
    client: httpx.AsyncClient, owner: Caller
) -> None:
    material = await create_material(client, owner, reorder_level="20")
    plenty = await create_material(
        client, owner, "KANCING", name="Kancing", unit="pcs", reorder_level="0"
    )
    url = f"{MATERIALS}/{material['id']}"
    await client.post(
        f"{url}/movements",
        json={"kind": "in", "quantity": "50", "reason": "awal"},
        headers=owner.headers(),
    )
    low = await client.get(f"{MATERIALS}/low-stock", headers=owner.headers())
    assert low.json()["data"] == []
    held = await client.post(
        f"{url}/reservations",
        json={"quantity": "35", "reference": "SO/2026/000001"},
        headers=owner.headers(),
    )
    assert held.status_code == 201, held.text
    assert (await client.get(url, headers=owner.headers())).json()["available"] == "15"
    low = await client.get(f"{MATERIALS}/low-stock", headers=owner.headers())
    assert [m["id"] for m in low.json()["data"]] == [material["id"]]
    assert plenty["id"] not in [m["id"] for m in low.json()["data"]]
    problem(
        await client.post(
            f"{url}/reservations",
            json={"quantity": "16", "reference": "SO-2"},
            headers=owner.headers(),
        ),
        409,
        "INSUFFICIENT_STOCK",
    )
    released = await client.delete(
        f"{url}/reservations/{held.json()['id']}", headers=owner.headers()
    )
    assert released.status_code == 204
    again = await client.delete(f"{url}/reservations/{held.json()['id']}", headers=owner.headers())
    assert again.status_code == 204
    assert (await client.get(url, headers=owner.headers())).json()["reserved"] == "0"
    listed = await client.get(
        f"{url}/reservations", params={"status": "released"}, headers=owner.headers()
    )
    assert len(listed.json()["data"]) == 1


async def test_crud_permissions_and_isolation(
    runtime: Runtime,
    client: httpx.AsyncClient,
    tenant_a: TenantSetup,
    owner: Caller,
    tenant_b: TenantSetup,
) -> None:
    material = await create_material(client, owner)
    url = f"{MATERIALS}/{material['id']}"
    problem(
        await client.post(
            MATERIALS,
            json={"code": material["code"], "name": "Dobel", "unit": "kg"},
            headers=owner.headers(),
        ),
        409,
        "MATERIAL_CODE_TAKEN",
    )
    errors = field_errors(
        await client.post(
            MATERIALS, json={"code": "X", "name": "Y Z", "unit": "liter"}, headers=owner.headers()
        )
    )
    assert "body.unit" in errors
    changed = await client.patch(
        url, json={"name": "Combed 30s Hitam"}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    problem(
        await client.patch(
            url, json={"name": "Lama"}, headers=owner.headers(**{"If-Match": '"1"'})
        ),
        409,
        "CONFLICT",
    )
    found = await client.get(MATERIALS, params={"q": "combed"}, headers=owner.headers())
    assert [m["id"] for m in found.json()["data"]] == [material["id"]]
    other = owner_of(tenant_b)
    for response in [
        await client.get(url, headers=other.headers()),
        await client.patch(url, json={"name": "Curian"}, headers=other.headers()),
        await client.delete(url, headers=other.headers()),
        await client.get(f"{url}/lots", headers=other.headers()),
        await client.post(
            f"{url}/lots", json={"lot_number": "R-9", "quantity": "1"}, headers=other.headers()
        ),
        await client.post(
            f"{url}/movements",
            json={"kind": "in", "quantity": "1", "reason": "x"},
            headers=other.headers(),
        ),
        await client.get(f"{url}/movements", headers=other.headers()),
        await client.post(
            f"{url}/reservations", json={"quantity": "1", "reference": "x"}, headers=other.headers()
        ),
    ]:
        problem(response, 404, "RESOURCE_NOT_FOUND")
    sales = await member_with_roles(runtime, client, tenant_a, ["sales"])
    problem(await client.get(MATERIALS, headers=sales.headers()), 403, "PERMISSION_DENIED")
    viewer = await member_with_roles(runtime, client, tenant_a, ["viewer"])
    assert (await client.get(url, headers=viewer.headers())).status_code == 200
    problem(
        await client.post(
            f"{url}/movements",
            json={"kind": "in", "quantity": "1", "reason": "x"},
            headers=viewer.headers(),
        ),
        403,
        "PERMISSION_DENIED",
    )
    assert (await client.delete(url, headers=owner.headers())).status_code == 204
    assert (await client.get(MATERIALS, headers=owner.headers())).json()["data"] == []
    archived = await client.get(MATERIALS, params={"archived": "true"}, headers=owner.headers())
    assert archived.json()["data"][0]["archived"] is True
