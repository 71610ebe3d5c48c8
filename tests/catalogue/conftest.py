"""Fixtures of the catalogue suites: two provisioned tenants and request helpers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from garment.runtime import Runtime
from tests.tenancy.conftest import TenantSetup, tenant_setup
from tests.tenant.conftest import Caller, owner_of

PRODUCTS = "/api/v1/tenant/products"
TIERS = "/api/v1/tenant/price-tiers"
MATERIALS = "/api/v1/tenant/materials"
SIZES = ["S", "M", "L", "XL"]


@pytest.fixture
async def tenant_a(runtime: Runtime, client: httpx.AsyncClient) -> TenantSetup:
    return await tenant_setup(runtime, client)


@pytest.fixture
async def tenant_b(runtime: Runtime, client: httpx.AsyncClient) -> TenantSetup:
    return await tenant_setup(runtime, client, cluster="secondary")


@pytest.fixture
def owner(tenant_a: TenantSetup) -> Caller:
    return owner_of(tenant_a)


def product_body(sku: str = "KAOS-CC30S", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": sku,
        "name": "Kaos Polos Cotton Combed 30s",
        "base_price": 55_000,
        "status": "active",
        "sizes": [
            {"code": "S"},
            {"code": "M"},
            {"code": "L"},
            {"code": "XL"},
            {"code": "XXL", "surcharge": 10_000},
        ],
        "colors": ["hitam", "putih", "navy"],
    }
    body.update(overrides)
    return body


async def create_product(
    client: httpx.AsyncClient, caller: Caller, sku: str = "KAOS-CC30S", **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        PRODUCTS, json=product_body(sku, **overrides), headers=caller.headers()
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create_material(
    client: httpx.AsyncClient, caller: Caller, code: str = "CC30S-HITAM", **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": "Cotton Combed 30s Hitam",
        "unit": "kg",
        "reorder_level": "20",
    }
    body.update(overrides)
    response = await client.post(MATERIALS, json=body, headers=caller.headers())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
