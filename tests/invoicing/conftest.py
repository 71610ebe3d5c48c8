"""Fixtures of the invoicing suites: the sales shop (tests/sales) on each cluster, made PKP or
not through the tax settings, confirmed orders, and helpers that create and issue invoices."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from garment.runtime import Runtime
from tests.sales.conftest import ORDERS, Shop, create_order, open_shop, transition
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import Caller, new_key

INVOICES = "/api/v1/tenant/invoices"
TAX_SETTINGS = "/api/v1/tenant/tax-settings"
TURNOVER = "/api/v1/tenant/tax/turnover"
AGEING = "/api/v1/tenant/receivables/ageing"
SELLER_NPWP = "0012345678901000"
SELLER_NITKU = SELLER_NPWP + "000000"
BUYER_NPWP = "0023456789012000"


@pytest.fixture
async def shop(runtime: Runtime, client: httpx.AsyncClient) -> Shop:
    return await open_shop(client, await tenant_setup(runtime, client))


@pytest.fixture
async def other_shop(runtime: Runtime, client: httpx.AsyncClient) -> Shop:
    return await open_shop(client, await tenant_setup(runtime, client, cluster="secondary"))


async def set_tax(
    client: httpx.AsyncClient, caller: Caller, *, pkp: bool, **values: Any
) -> httpx.Response:
    body: dict[str, Any] = {"pkp": pkp}
    if pkp:
        body.update(npwp=SELLER_NPWP, nitku=SELLER_NITKU, seller_address="Jl. Braga 1, Bandung")
    body.update(values)
    return await client.put(TAX_SETTINGS, json=body, headers=caller.headers())


async def pkp(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await set_tax(client, shop.owner, pkp=True)
    assert response.status_code == 200, response.text


async def confirmed_order(
    client: httpx.AsyncClient, shop: Shop, customer: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    """A confirmed order (priced after the tax settings were made)."""
    order = await create_order(client, shop, customer, **overrides)
    moved = await transition(client, shop.owner, order["id"], "confirmed")
    assert moved.status_code == 200, moved.text
    fresh = await client.get(f"{ORDERS}/{order['id']}", headers=shop.owner.headers())
    detail: dict[str, Any] = fresh.json()
    return detail


async def create_invoice(
    client: httpx.AsyncClient, caller: Caller, order_id: str, kind: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        INVOICES,
        json={"order_id": order_id, "kind": kind, **extra},
        headers=caller.headers(**{"Idempotency-Key": new_key()}),
    )


async def issue(client: httpx.AsyncClient, caller: Caller, invoice_id: str) -> dict[str, Any]:
    response = await client.post(
        f"{INVOICES}/{invoice_id}/issue", headers=caller.headers(**{"Idempotency-Key": new_key()})
    )
    assert response.status_code == 200, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def issued_invoice(
    client: httpx.AsyncClient, caller: Caller, order_id: str, kind: str, **extra: Any
) -> dict[str, Any]:
    created = await create_invoice(client, caller, order_id, kind, **extra)
    assert created.status_code == 201, created.text
    return await issue(client, caller, created.json()["id"])


async def buyer(client: httpx.AsyncClient, caller: Caller, **values: Any) -> dict[str, Any]:
    """A corporate customer with the tax ids a tax invoice needs."""
    body: dict[str, Any] = {
        "name": "PT Seragam Nusantara",
        "type": "corporate",
        "npwp": BUYER_NPWP,
        "nitku": BUYER_NPWP + "000001",
        "address": "Jl. Asia Afrika 8, Bandung",
        "email": "pajak@seragam.example",
        "credit_days": 30,
        **values,
    }
    response = await client.post("/api/v1/tenant/customers", json=body, headers=caller.headers())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def parse_xml(content: bytes) -> ET.Element:
    """Our own export, parsed back (never untrusted input, hence no defusedxml)."""
    return ET.fromstring(content)  # noqa: S314
