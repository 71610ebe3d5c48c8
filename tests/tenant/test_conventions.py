"""If-Match/ETag versions, gap-free document numbers, plan entitlements at the boundary and the
audit log list."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from garment.platform.errors import AppError
from garment.runtime import Runtime
from garment.tenant.conventions.service import DocumentType, next_document_number
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import member_with_roles, owner_of, problem

CUSTOMERS = "/api/v1/tenant/customers"
AUDIT = "/api/v1/tenant/audit-logs"


# --- If-Match / ETag ---------------------------------------------------------------------------


async def test_a_stale_if_match_is_409_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    created = await client.post(CUSTOMERS, json={"name": "CV Jaya"}, headers=owner.headers())
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    url = created.headers["Location"]

    first = await client.patch(
        url, json={"credit_days": 14}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"2"' and first.json()["version"] == 2

    stale = await client.patch(
        url, json={"name": "Overwritten"}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    body = problem(stale, 409, "CONFLICT")
    assert body["current_version"] == 2
    current = await client.get(url, headers=owner.headers())
    assert current.json()["name"] == "CV Jaya" and current.json()["version"] == 2
    assert current.headers["ETag"] == '"2"'
    stale_archive = await client.delete(url, headers=owner.headers(**{"If-Match": '"1"'}))
    problem(stale_archive, 409, "CONFLICT")
    assert (await client.get(url, headers=owner.headers())).json()["archived"] is False

    # A weak tag of the current version is accepted; a value naming no version is a 409.
    weak = await client.patch(
        url, json={"notes": "ok"}, headers=owner.headers(**{"If-Match": 'W/"2"'})
    )
    assert weak.status_code == 200 and weak.json()["version"] == 3
    for naming_nothing in ("two", "0", '"abc"', "*"):
        bad = await client.patch(
            url, json={"notes": "x"}, headers=owner.headers(**{"If-Match": naming_nothing})
        )
        problem(bad, 409, "CONFLICT")
    assert (await client.get(url, headers=owner.headers())).json()["notes"] == "ok"


async def test_concurrent_updates_with_one_version_let_exactly_one_win(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    created = await client.post(CUSTOMERS, json={"name": "CV Balapan"}, headers=owner.headers())
    url = created.headers["Location"]
    answers = await asyncio.gather(
        *(
            client.patch(
                url, json={"notes": f"edit {n}"}, headers=owner.headers(**{"If-Match": '"1"'})
            )
            for n in range(5)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    final = (await client.get(url, headers=owner.headers())).json()
    assert final["version"] == 2


# --- document numbers --------------------------------------------------------------------------


async def test_twenty_concurrent_creations_take_twenty_consecutive_numbers(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    manager = runtime.cluster_manager
    at = datetime(2026, 6, 1, tzinfo=UTC)

    async def create() -> str:
        async with manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
            number = await next_document_number(db, setup.tenant_id, DocumentType.QUOTATION, at=at)
            await asyncio.sleep(0.01)  # the rest of the document's transaction
            return number

    numbers = await asyncio.gather(*(create() for _ in range(20)))
    assert sorted(numbers) == [f"QT/2026/{n:06d}" for n in range(1, 21)]

    # A rolled-back creation gives its number back: no gap.
    with pytest.raises(RuntimeError):
        async with manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
            assert (
                await next_document_number(db, setup.tenant_id, DocumentType.QUOTATION, at=at)
                == "QT/2026/000021"
            )
            raise RuntimeError("the document failed validation")
    async with manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        assert (
            await next_document_number(db, setup.tenant_id, DocumentType.QUOTATION, at=at)
            == "QT/2026/000021"
        )
        # Per type and per year (the tenant's local year: 31 Dec 18:00 UTC is 1 Jan in Jakarta).
        assert (
            await next_document_number(db, setup.tenant_id, DocumentType.SALES_ORDER, at=at)
            == "SO/2026/000001"
        )
        new_year = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
        assert (
            await next_document_number(db, setup.tenant_id, DocumentType.QUOTATION, at=new_year)
            == "QT/2027/000001"
        )
    # Another tenant counts on its own.
    other = await tenant_setup(runtime, client, cluster=setup.cluster)
    async with manager.tenant_transaction(other.cluster, other.tenant_id) as db:
        assert (
            await next_document_number(db, other.tenant_id, DocumentType.QUOTATION, at=at)
            == "QT/2026/000001"
        )


# --- entitlements ------------------------------------------------------------------------------


@pytest.mark.parametrize(("usage", "refused"), [(99, False), (100, True), (101, True)])
def test_a_limit_refuses_at_and_beyond_the_plan_value(
    runtime: Runtime, usage: int, refused: bool
) -> None:
    """starter: max_products 100. 99 existing + 1 new is the 100th: allowed."""
    entitlements = runtime.entitlements
    assert entitlements.limit("starter", "max_products") == 100
    if not refused:
        entitlements.require_within_limit("starter", "max_products", usage)
        return
    with pytest.raises(AppError) as caught:
        entitlements.require_within_limit("starter", "max_products", usage)
    assert caught.value.code == "PLAN_LIMIT_REACHED"
    assert caught.value.extra == {"limit": "max_products", "usage": usage, "maximum": 100}


def test_features_follow_the_plan(runtime: Runtime) -> None:
    entitlements = runtime.entitlements
    assert entitlements.has_feature("growth", "custom_roles")
    entitlements.require_feature("growth", "custom_roles")
    with pytest.raises(AppError) as caught:
        entitlements.require_feature("starter", "custom_roles")
    assert caught.value.code == "PLAN_FEATURE_UNAVAILABLE"
    assert caught.value.status == 402
    # A plan without a limit allows anything.
    entitlements.require_within_limit("growth", "max_unicorns", 10**9)


# --- the audit log -----------------------------------------------------------------------------


async def test_every_customer_write_is_audited_and_listed_with_filters(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    sales = await member_with_roles(runtime, client, setup, ["sales"])
    created = await client.post(
        CUSTOMERS, json={"name": "CV Audit", "type": "retail"}, headers=sales.headers()
    )
    customer_id = created.json()["id"]
    url = created.headers["Location"]
    await client.patch(url, json={"type": "reseller"}, headers=owner.headers())
    await client.delete(url, headers=owner.headers())
    other = await client.post(CUSTOMERS, json={"name": "Lain"}, headers=owner.headers())
    assert other.status_code == 201

    listed = await client.get(
        AUDIT, params={"entity_type": "customer", "entity_id": customer_id}, headers=owner.headers()
    )
    assert listed.status_code == 200, listed.text
    rows = listed.json()["data"]
    assert [row["action"] for row in rows] == ["archive", "update", "create"]  # newest first
    archive, update, create = rows
    assert create["actor_id"] == str(sales.user.id)
    assert create["changes"]["after"]["name"] == "CV Audit" and create["changes"]["before"] == {}
    assert update["changes"] == {"before": {"type": "retail"}, "after": {"type": "reseller"}}
    assert archive["changes"] == {"before": {"archived": False}, "after": {"archived": True}}
    assert all(row["request_id"] for row in rows)
    assert len({row["request_id"] for row in rows}) == 3

    by_actor = await client.get(
        AUDIT, params={"actor_id": str(sales.user.id)}, headers=owner.headers()
    )
    assert [row["entity_id"] for row in by_actor.json()["data"]] == [customer_id]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = await client.get(AUDIT, params={"from": future}, headers=owner.headers())
    assert later.json()["data"] == []
    earlier = await client.get(AUDIT, params={"to": future, "limit": 2}, headers=owner.headers())
    page = earlier.json()
    assert len(page["data"]) == 2 and page["meta"]["next_cursor"]
    rest = await client.get(
        AUDIT, params={"to": future, "cursor": page["meta"]["next_cursor"]}, headers=owner.headers()
    )
    assert len(rest.json()["data"]) == 2
    assert {r["id"] for r in rest.json()["data"]}.isdisjoint({r["id"] for r in page["data"]})

    # Sales may not read the audit log; another tenant sees none of these rows.
    problem(await client.get(AUDIT, headers=sales.headers()), 403, "PERMISSION_DENIED")
    stranger = await tenant_setup(runtime, client, cluster=setup.cluster)
    theirs = await client.get(AUDIT, headers=owner_of(stranger).headers())
    assert theirs.status_code == 200 and theirs.json()["data"] == []
    bad = await client.get(AUDIT, params={"actor_id": "nope"}, headers=owner.headers())
    assert "query.actor_id" in problem(bad, 422, "VALIDATION_FAILED")["errors"]
    assert uuid.UUID(customer_id)
