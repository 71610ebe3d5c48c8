"""Fixtures of the taxonomy suites: the catalogue's two tenants (one per cluster) and helpers."""

from __future__ import annotations

from typing import Any

import httpx

from tests.catalogue.conftest import owner, tenant_a, tenant_b
from tests.tenant.conftest import Caller

__all__ = ["owner", "tenant_a", "tenant_b"]

TAXONOMIES = "/api/v1/tenant/taxonomies"


def term_body(code: str = "batik", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "collection",
        "code": code,
        "label_id": "Koleksi Batik",
        "label_en": "Batik collection",
    }
    body.update(overrides)
    return body


async def create_term(
    client: httpx.AsyncClient, caller: Caller, code: str = "batik", **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        TAXONOMIES, json=term_body(code, **overrides), headers=caller.headers()
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
