"""GET /tenant/taxonomies: the seeded terms in picker order, one page at a time, only the
caller's tenant, with a cursor format the schema states exactly."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from garment.runtime import Runtime
from garment.tenant.taxonomies.defaults import DEFAULT_TERMS
from garment.tenant.taxonomies.models import TaxonomyTerm
from garment.tenant.taxonomies.service import TaxonomyService
from tests.tenancy.conftest import TenantSetup, tenant_setup

TERMS = "/api/v1/tenant/taxonomies"


async def every_page(
    client: httpx.AsyncClient, setup: TenantSetup, **query: Any
) -> tuple[list[dict[str, Any]], int]:
    terms: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        response = await client.get(TERMS, params=params, headers=setup.headers())
        assert response.status_code == 200, response.text
        body = response.json()
        terms.extend(body["data"])
        pages += 1
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return terms, pages


async def test_pages_list_every_term_once_in_picker_order(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    terms, pages = await every_page(client, setup, limit=7)
    assert pages == -(-len(DEFAULT_TERMS) // 7)
    # Types alphabetically, each in the order it was seeded (its `sort_order`).
    seeded = [(term_type, code) for term_type, code, *_ in DEFAULT_TERMS]
    picker_order = sorted(seeded, key=lambda pair: (pair[0], seeded.index(pair)))
    assert [(t["type"], t["code"]) for t in terms] == picker_order
    assert {(t["type"], t["code"]) for t in terms} == {(d[0], d[1]) for d in DEFAULT_TERMS}
    assert len({t["id"] for t in terms}) == len(DEFAULT_TERMS)
    sizes, _ = await every_page(client, setup, type="size")
    assert [t["code"] for t in sizes] == ["xs", "s", "m", "l", "xl", "xxl", "xxxl"]
    assert {t["label_id"] for t in sizes} >= {"XS", "XXXL"}


async def test_archived_terms_show_only_when_asked(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    async with runtime.cluster_manager.tenant_transaction(
        setup.cluster, setup.tenant_id
    ) as session:
        await session.execute(
            update(TaxonomyTerm)
            .where(TaxonomyTerm.type == "color", TaxonomyTerm.code == "kuning")
            .values(archived=True)
        )
    colors, _ = await every_page(client, setup, type="color")
    assert "kuning" not in {t["code"] for t in colors}
    everything, _ = await every_page(client, setup, type="color", archived="true")
    archived = [t for t in everything if t["code"] == "kuning"]
    assert len(archived) == 1 and archived[0]["archived"] is True


async def test_another_tenants_terms_never_appear(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mine = await tenant_setup(runtime, client)
    other = await tenant_setup(runtime, client, cluster=mine.cluster)  # same cluster, same table
    my_terms, _ = await every_page(client, mine, limit=100)
    their_terms, _ = await every_page(client, other, limit=100)
    assert not {t["id"] for t in my_terms} & {t["id"] for t in their_terms}
    assert len(my_terms) == len(their_terms) == len(DEFAULT_TERMS)


async def test_any_cursor_the_schema_allows_is_answered(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    keyset = TaxonomyService.keyset
    # Positions no server issued, at the edges of each part's range.
    for values in (
        ("", -(2**31), "00000000-0000-0000-0000-000000000000"),
        ("\U0010ffff" * 32, 2**31 - 1, "ffffffff-ffff-ffff-ffff-ffffffffffff"),
        ("size", 8, "b6312762-3056-45ab-af74-a174a5db3829"),
    ):
        cursor = keyset.encode(values)
        response = await client.get(TERMS, params={"cursor": cursor}, headers=setup.headers())
        assert response.status_code == 200, (values, response.text)
    # Undecodable bytes and out-of-range numbers still match the pattern: still a position.
    for cursor in ("_w.9999999999." + "f" * 32, "AA.-9999999999." + "0" * 32):
        response = await client.get(TERMS, params={"cursor": cursor}, headers=setup.headers())
        assert response.status_code == 200, (cursor, response.text)


async def test_a_malformed_cursor_is_refused_on_the_cursor_field(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    for cursor in ("not-a-cursor", "W1sidiIsInNpemUiXV0", "c2l6ZQ.9"):
        response = await client.get(TERMS, params={"cursor": cursor}, headers=setup.headers())
        assert response.status_code == 422, response.text
        assert "query.cursor" in response.json()["errors"]
