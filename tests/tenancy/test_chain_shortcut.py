"""The tenant chain's shortcut in compiled plans (ADR 0030) answers every request exactly as
FastAPI's own solving of the same dependencies: same status, headers and body (request ids
aside) and the same mismatch activity, on a read list and on a write, for every outcome of the
chain; and it leaves to FastAPI what FastAPI validates itself (an over-long `X-Tenant-ID`).

The comparison app holds a dependency override, which sends every compiled route through
FastAPI's `solve_dependencies` (ADR 0022); the override itself is never reached."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from garment.app import create_app
from garment.runtime import Runtime
from tests.conftest import make_client
from tests.tenancy.conftest import TenantSetup, tenant_setup
from tests.tenancy.test_fast_lane import CASES, comparable, mismatches_of
from tests.tenant.conftest import member_with_roles

LIST = "/api/v1/tenant/taxonomies?limit=5"
CREATE = "/api/v1/tenant/taxonomies"
Headers = Callable[[TenantSetup, TenantSetup], dict[str, str]]


def never_called() -> None:
    raise AssertionError("the override only switches the app to FastAPI's solving")


@pytest.fixture
async def clients(runtime: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    by_fastapi = create_app(runtime=runtime, lanes=False)
    by_fastapi.dependency_overrides[never_called] = never_called
    async with (
        make_client(create_app(runtime=runtime, lanes=False)) as planned,
        make_client(by_fastapi) as solved,
    ):
        yield planned, solved


async def both(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    method: str,
    url: str,
    headers: dict[str, str],
    bodies: tuple[Any, Any] = (None, None),
) -> tuple[httpx.Response, httpx.Response]:
    """The same request to both apps (FastAPI's first), each with its own body."""
    planned, solved = clients
    by_fastapi = await solved.request(method, url, headers=headers, json=bodies[1])
    by_plan = await planned.request(method, url, headers=headers, json=bodies[0])
    return by_plan, by_fastapi


def term(code: str) -> dict[str, str]:
    return {"type": "size", "code": code, "label_id": code.upper(), "label_en": code.upper()}


def shape(response: httpx.Response) -> tuple[int, dict[str, str], list[str]]:
    """A created resource's answer without what differs between two creations."""
    differ = {"x-request-id", "etag", "location", "content-length"}
    headers = {name: value for name, value in response.headers.items() if name not in differ}
    return response.status_code, headers, sorted(response.json())


async def caller(
    runtime: Runtime, client: httpx.AsyncClient, headers_of: Headers
) -> tuple[TenantSetup, dict[str, str]]:
    """A tenant of its own and another one; the case's headers between them."""
    mine = await tenant_setup(runtime, client)
    other = await tenant_setup(runtime, client)
    return mine, headers_of(mine, other)


@pytest.mark.parametrize("case", CASES)
async def test_the_shortcut_answers_a_list_as_fastapi_solving_does(
    runtime: Runtime, clients: tuple[httpx.AsyncClient, httpx.AsyncClient], case: str
) -> None:
    mine, headers = await caller(runtime, clients[0], CASES[case])
    await both(clients, "GET", LIST, headers)  # warm: both then answer from the same caches

    before = await mismatches_of(runtime, mine)
    by_plan, by_fastapi = await both(clients, "GET", LIST, headers)

    assert comparable(by_plan) == comparable(by_fastapi)
    mismatched = by_fastapi.json().get("code") == "TENANT_CONTEXT_MISMATCH"
    assert await mismatches_of(runtime, mine) == before + (2 if mismatched else 0)


WRITE_CASES: dict[str, Headers] = {
    name: CASES[name]
    for name in (
        "a member, by slug shouted, in English",
        "no token",
        "another tenant's slug",
        "a tenant header longer than the route admits",
    )
}


@pytest.mark.parametrize("case", WRITE_CASES)
async def test_the_shortcut_answers_a_write_as_fastapi_solving_does(
    runtime: Runtime, clients: tuple[httpx.AsyncClient, httpx.AsyncClient], case: str
) -> None:
    _, headers = await caller(runtime, clients[0], WRITE_CASES[case])
    by_plan, by_fastapi = await both(
        clients, "POST", CREATE, headers, (term("plan-a"), term("fast-b"))
    )
    if by_fastapi.status_code == 201:
        assert shape(by_plan) == shape(by_fastapi)
        assert by_plan.json()["code"] == "plan-a"
        return
    assert comparable(by_plan) == comparable(by_fastapi)


async def test_a_member_without_the_permission_is_refused_alike(
    runtime: Runtime, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    setup = await tenant_setup(runtime, clients[0])
    operator = await member_with_roles(runtime, clients[0], setup, ["operator"])

    by_plan, by_fastapi = await both(clients, "GET", LIST, operator.headers())

    assert by_plan.status_code == 403
    assert comparable(by_plan) == comparable(by_fastapi)
