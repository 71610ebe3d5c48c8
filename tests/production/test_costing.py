"""Order costing (HPP): planned against actual cost per order, line and piece, and the margin,
checked against figures computed by hand from the inputs below; before production only the
plan has figures; `invoices.view` is needed; another tenant's order is 404."""

from __future__ import annotations

from typing import Any

import httpx

from garment.runtime import Runtime
from tests.catalogue.conftest import MATERIALS, PRODUCTS, create_material
from tests.production.conftest import MAKLOON, ORDERS, WAGES, ok, record, start_order
from tests.sales.conftest import Shop, create_order
from tests.tenant.conftest import member_with_roles, problem

SIZES = {"M": 6, "L": 4}  # 10 pieces x Rp 55.000 (retail, no surcharge) = Rp 550.000


async def stock(client: httpx.AsyncClient, shop: Shop, material: dict[str, Any], qty: str) -> None:
    moved = await client.post(
        f"{MATERIALS}/{material['id']}/movements",
        json={"kind": "in", "quantity": qty, "reason": "Terima supplier"},
        headers=shop.owner.headers(),
    )
    assert moved.status_code == 201, moved.text


async def prepare(client: httpx.AsyncClient, shop: Shop) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fabric at Rp 120.001/kg (0.25 kg per M, 0.3 per L), a label at Rp 350 (one a piece),
    sablon at Rp 7.500 a piece; borongan jahit Rp 2.000 in general but Rp 2.500 for this
    design, qc Rp 300."""
    owner = shop.owner
    fabric = await create_material(client, owner, code="CC30S", unit="kg", unit_cost=120_001)
    label = await create_material(client, owner, code="LABEL", unit="pcs", unit_cost=350)
    await stock(client, shop, fabric, "10")
    await stock(client, shop, label, "100")
    bom = await client.put(
        f"{PRODUCTS}/{shop.product['id']}/bom",
        json={
            "lines": [
                {
                    "kind": "material",
                    "material_id": fabric["id"],
                    "consumption": [
                        {"size": "M", "quantity": "0.25"},
                        {"size": "L", "quantity": "0.3"},
                    ],
                },
                {
                    "kind": "material",
                    "material_id": label["id"],
                    "consumption": [{"size": "M", "quantity": "1"}, {"size": "L", "quantity": "1"}],
                },
                {"kind": "service", "service": "sablon", "cost_per_piece": 7_500},
            ]
        },
        headers=owner.headers(),
    )
    assert bom.status_code == 200, bom.text
    for rate in (
        {"stage": "jahit", "rate": 2_000},
        {"stage": "jahit", "product_id": shop.product["id"], "rate": 2_500},
        {"stage": "qc", "rate": 300},
    ):
        await ok(await client.post(f"{WAGES}/rates", json=rate, headers=owner.headers()))
    return fabric, label


# Planned: fabric 0.25x6 + 0.3x4 = 2.7 kg x 120.001 = 324.002,7 -> 324.003; labels 10 x 350 =
# 3.500; labour (2.500 jahit + 300 qc) x 10 = 28.000; services 7.500 x 10 = 75.000.
PLANNED_BEFORE_MAKLOON = {
    "materials": 327_503,
    "labour": 28_000,
    "makloon": 0,
    "services": 75_000,
    "total": 430_503,
    "per_piece": 43_050,  # 43.050,3
}


async def test_order_costing_planned_vs_actual_with_the_margin(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    owner = shop.owner
    fabric, label = await prepare(client, shop)

    # before production: the plan, and nothing actual
    waiting = await create_order(
        client,
        shop,
        shop.retail,
        lines=[{"product_id": shop.product["id"], "color": "hitam", "sizes": SIZES}],
    )
    early = await ok(
        await client.get(f"{ORDERS}/{waiting['id']}/costing", headers=owner.headers()), 200
    )
    assert (early["pieces"], early["revenue"]) == (10, 550_000)
    assert early["planned"] == PLANNED_BEFORE_MAKLOON
    assert early["actual"] == {
        "materials": 0,
        "labour": 0,
        "makloon": 0,
        "services": 0,
        "total": 0,
        "per_piece": 0,
    }
    assert early["lines"][0]["started"] is False
    assert early["planned_margin"] == {"amount": 119_497, "per_piece": 11_950, "percent": "21.73"}

    job = await start_order(client, shop, dict(SIZES), customer=shop.retail)
    # cutting: M issues 1.6 kg of fabric (labels as planned: 6), L as planned (1.2 kg, 4)
    await ok(await record(client, owner, job, "M", "potong", "in", 6))
    await ok(await record(client, owner, job, "L", "potong", "in", 4))
    await ok(
        await record(
            client,
            owner,
            job,
            "M",
            "potong",
            "out",
            6,
            materials=[{"material_id": fabric["id"], "quantity": "1.6"}],
        )
    )
    await ok(await record(client, owner, job, "L", "potong", "out", 4))
    # sewing: 9 out by named workers (paid), 1 rejected (not paid)
    await ok(await record(client, owner, job, "M", "jahit", "out", 6, worker="Siti"))
    await ok(await record(client, owner, job, "L", "jahit", "out", 3, worker="Ani"))
    await ok(
        await record(client, owner, job, "L", "jahit", "reject", 1, worker="Ani", reason_code="x")
    )
    # finishing by a makloon partner at Rp 1.000: 9 sent, 8 accepted
    partner = await ok(
        await client.post(f"{MAKLOON}/partners", json={"name": "Bu Sri"}, headers=owner.headers())
    )
    dispatch = await ok(
        await client.post(
            f"{MAKLOON}/dispatches",
            json={
                "partner_id": partner["id"],
                "job_id": job["id"],
                "stage": "finishing",
                "sizes": {"M": 6, "L": 3},
                "rate_per_piece": 1_000,
            },
            headers=owner.headers(),
        )
    )
    await ok(
        await client.post(
            f"{MAKLOON}/dispatches/{dispatch['id']}/receipts",
            json={"sizes": {"M": {"accepted": 5, "rejected": 1}, "L": {"accepted": 3}}},
            headers=owner.headers(),
        ),
        200,
    )
    # qc: 8 out by a named worker
    await ok(await record(client, owner, job, "M", "qc", "out", 4, worker="Budi"))
    await ok(await record(client, owner, job, "L", "qc", "out", 3, worker="Budi"))
    await ok(await record(client, owner, job, "M", "qc", "out", 1, worker="Budi"))

    costing = await ok(
        await client.get(f"{ORDERS}/{job['order_id']}/costing", headers=owner.headers()), 200
    )
    # planned makloon: 9 sent x 1.000
    assert costing["planned"] == {
        **PLANNED_BEFORE_MAKLOON,
        "makloon": 9_000,
        "total": 439_503,
        "per_piece": 43_950,  # 43.950,3
    }
    # actual: fabric 1.6 + 1.2 = 2.8 kg x 120.001 = 336.002,8 -> 336.003; labels 10 x 350;
    # labour jahit 9 x 2.500 + qc 8 x 300 = 24.900; makloon 8 x 1.000; services 7.500 x 10 cut
    assert costing["actual"] == {
        "materials": 339_503,
        "labour": 24_900,
        "makloon": 8_000,
        "services": 75_000,
        "total": 447_403,
        "per_piece": 44_740,  # 44.740,3
    }
    assert costing["planned_margin"] == {"amount": 110_497, "per_piece": 11_050, "percent": "20.09"}
    assert costing["actual_margin"] == {"amount": 102_597, "per_piece": 10_260, "percent": "18.65"}
    (line,) = costing["lines"]
    assert line["started"] is True and (line["pieces"], line["revenue"]) == (10, 550_000)
    by_material = {item["material_id"]: item for item in line["materials"]}
    assert by_material[fabric["id"]] == {
        "material_id": fabric["id"],
        "unit": "kg",
        "unit_cost": 120_001,
        "planned_quantity": "2.7",
        "actual_quantity": "2.8",
        "planned": 324_003,
        "actual": 336_003,
    }
    assert (by_material[label["id"]]["planned"], by_material[label["id"]]["actual"]) == (
        3_500,
        3_500,
    )
    assert "half away from zero" in costing["rounding"]

    # finance and the viewer read it; sales (orders but no finance figures) does not
    finance = await member_with_roles(runtime, client, shop.setup, ["finance"])
    url = f"{ORDERS}/{job['order_id']}/costing"
    assert (await client.get(url, headers=finance.headers())).json() == costing
    sales = await member_with_roles(runtime, client, shop.setup, ["sales"])
    problem(await client.get(url, headers=sales.headers()), 403, "PERMISSION_DENIED")
    # another tenant's order, or none, is 404
    problem(await client.get(url, headers=other_shop.owner.headers()), 404, "RESOURCE_NOT_FOUND")
    missing = f"{ORDERS}/00000000-0000-4000-8000-000000000000/costing"
    problem(await client.get(missing, headers=owner.headers()), 404, "RESOURCE_NOT_FOUND")
