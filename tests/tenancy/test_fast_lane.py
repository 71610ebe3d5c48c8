"""The fast lane of `GET /tenant/me` (ADR 0026) answers every request exactly as the route it
stands in for: same status, headers and body (request ids aside), the same side effects, the
same metrics; and it leaves to the route what FastAPI validates itself.

That every change (revocation, removal, suspension, role change) takes effect on the next
request is proved for `/tenant/me` by `test_request_path.py`, which now reaches the lane."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from garment.app import create_app
from garment.platform.metrics import HTTP_REQUESTS
from garment.runtime import Runtime
from tests.auth.conftest import bearer
from tests.conftest import make_client
from tests.tenancy.conftest import TenantSetup, tenant_setup

ME = "/api/v1/tenant/me"
Headers = Callable[[TenantSetup, TenantSetup], dict[str, str]]

CASES: dict[str, Headers] = {
    "a member, by id": lambda mine, _: mine.headers(),
    "a member, by slug shouted, in English": lambda mine, _: {
        **mine.headers(tenant=f"  {mine.slug.upper()} "),
        "Accept-Language": "en",
    },
    "an upper-case tenant id": lambda mine, _: mine.headers(tenant=str(mine.tenant_id).upper()),
    "no token": lambda mine, _: {"X-Tenant-ID": str(mine.tenant_id)},
    "another scheme": lambda mine, _: {
        "Authorization": f"Basic {mine.token}",
        "X-Tenant-ID": str(mine.tenant_id),
    },
    "a forged token": lambda mine, _: mine.headers(token=mine.token[:-4] + "AAAA"),
    "an account token": lambda mine, _: mine.headers(token=mine.session["access_token"]),
    "no tenant header": lambda mine, _: bearer(mine.token),
    "a blank tenant header": lambda mine, _: mine.headers(tenant=" \t "),
    "another tenant's slug": lambda mine, other: mine.headers(tenant=other.slug),
    "a tenant header longer than the route admits": lambda mine, _: mine.headers(tenant="x" * 65),
}


def comparable(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """The answer without what differs by design between two requests: the request id."""
    headers = {name: value for name, value in response.headers.items() if name != "x-request-id"}
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, headers, body


async def mismatches_of(runtime: Runtime, setup: TenantSetup) -> int:
    async with runtime.central.transaction() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM auth_activities"
                " WHERE user_id = :user AND type = 'tenant_context_mismatch'"
            ),
            {"user": setup.owner.id},
        )
    return int(count or 0)


def served(status: int) -> float:
    return float(HTTP_REQUESTS.labels("GET", ME, str(status))._value.get())


@pytest.fixture
async def clients(runtime: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        make_client(create_app(runtime=runtime)) as lane,
        make_client(create_app(runtime=runtime, lanes=False)) as route,
    ):
        yield lane, route


@pytest.mark.parametrize("case", CASES)
async def test_the_lane_answers_as_the_route_does(
    runtime: Runtime, clients: tuple[httpx.AsyncClient, httpx.AsyncClient], case: str
) -> None:
    lane, route = clients
    mine = await tenant_setup(runtime, lane)
    other = await tenant_setup(runtime, lane)
    headers = CASES[case](mine, other)
    await route.get(ME, headers=headers)  # warm: both then answer from the same caches

    by_route = await route.get(ME, headers=headers)
    before = await mismatches_of(runtime, mine)
    by_lane = await lane.get(ME, headers=headers)

    assert comparable(by_lane) == comparable(by_route)
    mismatched = by_route.json().get("code") == "TENANT_CONTEXT_MISMATCH"
    # The mismatch activity (incident playbook 2) is recorded once per request, by either.
    assert await mismatches_of(runtime, mine) == before + (1 if mismatched else 0)


async def test_the_lane_answers_a_member_from_its_caches_and_counts_under_the_route(
    runtime: Runtime, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    lane, _ = clients
    setup = await tenant_setup(runtime, lane)
    assert (await lane.get(ME, headers=setup.headers())).status_code == 200

    before = served(200)
    answer = await lane.get(ME, headers=setup.headers())

    assert answer.status_code == 200
    assert answer.json()["tenant"]["id"] == str(setup.tenant_id)
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["vary"] == "Accept-Language"
    assert answer.headers["x-content-type-options"] == "nosniff"
    # Metrics and the request log name the route's template, as for any routed request.
    assert served(200) == before + 1
