"""Every Tenant API route declares its permission (chapter 07, step 7; chapter 25).

The walk reads the routes FastAPI actually serves. FastAPI 0.165 keeps included routers nested
(`_IncludedRouter`, holding `original_router` and an `include_context` with the accumulated
prefix and router-level dependencies), so the walk recurses through them, building each route's
full path and the dependency tree of the route plus the routers around it. `app.openapi()` is the
independent cross-check that the walk saw every documented tenant operation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_parameterless_sub_dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from garment.runtime import Runtime
from garment.tenant.authz.permissions import DEFAULT_ROLES, PERMISSION_KEYS, PERMISSIONS
from garment.tenant.context import (
    AnyMember,
    EnsureTenantUsable,
    RequirePermission,
    TenantMember,
    UsableTenantMember,
    tenant_reader,
    tenant_session,
)
from tests.tenancy.conftest import tenant_setup

TENANT_PREFIX = "/api/v1/tenant/"
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# The tenant context chain as FastAPI sees it: EnsureTenantUsable runs steps 2-5
# (authenticate_tenant, SetTenantContext, ValidateTenantToken, the usability checks: each is
# exercised by tests/tenancy/test_isolation.py), tenant_session is step 6, and RequirePermission
# (step 7) sits on top of both.


@dataclass(frozen=True)
class ServedRoute:
    path: str
    methods: frozenset[str]
    calls: tuple[Callable[..., Any], ...]  # every callable in the dependency tree
    endpoint: Callable[..., Any]

    @property
    def permissions(self) -> list[RequirePermission]:
        return [call for call in self.calls if isinstance(call, RequirePermission)]

    def operations(self) -> set[tuple[str, str]]:
        return {(self.path, method) for method in self.methods & HTTP_METHODS}


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from dependency_calls(sub)


def walk(
    routes: Sequence[BaseRoute], prefix: str = "", around: tuple[params.Depends, ...] = ()
) -> Iterator[ServedRoute]:
    """Every APIRoute with its full path and the calls of its whole dependency tree."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if isinstance(original, APIRouter):  # a nested include (FastAPI >= 0.165)
            context = route.include_context  # type: ignore[attr-defined]
            yield from walk(
                original.routes, prefix + context.prefix, around + tuple(context.dependencies)
            )
        elif isinstance(route, APIRoute):
            # The documented path: a convertor (`{user_id:uuid}`) is not part of it.
            path = prefix + route.path_format
            calls = list(dependency_calls(route.dependant))
            for depends in around:
                sub = get_parameterless_sub_dependant(depends=depends, path=path)
                if sub.call is not None:
                    calls.append(sub.call)
                calls.extend(dependency_calls(sub))
            yield ServedRoute(path, frozenset(route.methods or ()), tuple(calls), route.endpoint)


def permission_problems(app: FastAPI) -> list[str]:
    """Tenant routes without a declared permission, or declaring one outside the catalogue."""
    problems = []
    for route in walk(app.router.routes):
        if not route.path.startswith(TENANT_PREFIX):
            continue
        label = f"{','.join(sorted(route.methods))} {route.path}"
        declared = route.permissions
        if not declared:
            problems.append(f"{label}: no RequirePermission")
        for requirement in declared:
            if requirement.permission is not None and requirement.permission not in PERMISSION_KEYS:
                problems.append(f"{label}: {requirement!r} is not in the catalogue")
    return problems


def openapi_operations(app: FastAPI, prefix: str) -> set[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {
        (path, method.upper())
        for path, operations in paths.items()
        if path.startswith(prefix)
        for method in operations
        if method.upper() in HTTP_METHODS
    }


def test_the_walk_sees_what_openapi_documents(app: FastAPI) -> None:
    served = list(walk(app.router.routes))
    walked = {op for route in served for op in route.operations()}
    documented = openapi_operations(app, "/api/v1/")
    # Every documented operation is found by the walk, with the same full path.
    assert documented <= walked, documented - walked
    tenant = {op for op in walked if op[0].startswith(TENANT_PREFIX)}
    assert tenant == openapi_operations(app, TENANT_PREFIX)
    assert {
        ("/api/v1/tenant/me", "GET"),
        ("/api/v1/tenant/permissions", "GET"),
        ("/api/v1/tenant/members/invitations", "GET"),
        ("/api/v1/tenant/members/invitations", "POST"),
        ("/api/v1/tenant/members/invitations/{invitation_id}", "DELETE"),
    } <= tenant
    assert ("/api/v1/auth/login", "POST") in walked


def test_every_tenant_route_declares_a_catalogued_permission(app: FastAPI) -> None:
    assert permission_problems(app) == []


def test_every_tenant_route_runs_the_whole_tenant_chain(app: FastAPI) -> None:
    tenant_routes = [r for r in walk(app.router.routes) if r.path.startswith(TENANT_PREFIX)]
    assert tenant_routes
    for route in tenant_routes:
        # Steps 2-5 and 7 on every route; step 6 (the cluster session) only where the handler
        # reads tenant data, and then always the RLS-bound one.
        assert any(isinstance(call, EnsureTenantUsable) for call in route.calls), route.path
        assert any(isinstance(call, RequirePermission) for call in route.calls), route.path
    with_session = {r.path for r in tenant_routes if tenant_session in r.calls}
    readers = {(r.path, m) for r in tenant_routes if tenant_reader in r.calls for m in r.methods}
    # The hot lists read on the read-only transaction; every other route on the session.
    assert {("/api/v1/tenant/taxonomies", "GET"), ("/api/v1/tenant/products", "GET")} <= readers
    assert all(method == "GET" for _, method in readers), readers
    # The walk does see the session where a route takes one (or the check above proves nothing).
    assert "/api/v1/tenant/taxonomies" in with_session
    # /tenant/me answers from the chain's cached values alone: no cluster transaction at all.
    assert "/api/v1/tenant/me" not in with_session


def test_the_tenant_chain_is_used_only_under_the_tenant_prefix(app: FastAPI) -> None:
    # A tenant-bound handler elsewhere would escape this suite's permission walk.
    for route in walk(app.router.routes):
        if route.path.startswith(TENANT_PREFIX):
            continue
        assert not route.permissions, route.path
        assert tenant_session not in route.calls, route.path
        assert tenant_reader not in route.calls, route.path


def test_declared_permissions_match_the_routes_intent(app: FastAPI) -> None:
    declared = {
        (route.path, method): sorted({str(p.permission) for p in route.permissions})
        for route in walk(app.router.routes)
        if route.path.startswith(TENANT_PREFIX)
        for method in route.methods & HTTP_METHODS
    }
    assert declared[("/api/v1/tenant/me", "GET")] == ["None"]
    assert declared[("/api/v1/tenant/permissions", "GET")] == ["None"]
    for method in ("GET", "POST"):
        assert declared[("/api/v1/tenant/members/invitations", method)] == ["members.manage"]
    assert declared[("/api/v1/tenant/members/invitations/{invitation_id}", "DELETE")] == [
        "members.manage"
    ]


def test_the_walk_catches_an_unguarded_route_and_an_unknown_permission() -> None:
    """The check itself works: a route with only membership, and a made-up permission."""
    inner = APIRouter(prefix="/tenant/sneaky")

    @inner.get("/open")
    async def open_route(member: UsableTenantMember) -> dict[str, str]:
        return {}

    @inner.get("/typo")
    async def typo_route(
        member: Annotated[TenantMember, Depends(RequirePermission("member.manage"))],
    ) -> dict[str, str]:
        return {}

    @inner.get("/fine")
    async def fine_route(member: AnyMember) -> dict[str, str]:
        return {}

    # A router-level dependency counts too (declared once for a whole router).
    guarded = APIRouter(
        prefix="/tenant/guarded", dependencies=[Depends(RequirePermission("orders.view"))]
    )

    @guarded.get("/list")
    async def guarded_route() -> dict[str, str]:
        return {}

    api = APIRouter(prefix="/api/v1")
    api.include_router(inner)
    api.include_router(guarded)
    probe = FastAPI()
    probe.include_router(api)

    assert {route.path for route in walk(probe.router.routes)} >= {
        "/api/v1/tenant/sneaky/open",
        "/api/v1/tenant/sneaky/typo",
        "/api/v1/tenant/sneaky/fine",
        "/api/v1/tenant/guarded/list",
    }
    assert permission_problems(probe) == [
        "GET /api/v1/tenant/sneaky/open: no RequirePermission",
        "GET /api/v1/tenant/sneaky/typo: RequirePermission('member.manage') is not in the "
        "catalogue",
    ]


def test_default_roles_grant_only_catalogued_permissions() -> None:
    assert len(PERMISSION_KEYS) == len(PERMISSIONS)
    for role in DEFAULT_ROLES:
        assert role.permissions <= PERMISSION_KEYS, role.key
    owner = next(role for role in DEFAULT_ROLES if role.key == "owner")
    assert owner.permissions == PERMISSION_KEYS


async def test_the_permissions_endpoint_serves_exactly_the_catalogue(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    response = await client.get("/api/v1/tenant/permissions", headers=setup.headers())
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": [
            {
                "key": permission.key,
                "description_id": permission.description_id,
                "description_en": permission.description_en,
            }
            for permission in PERMISSIONS
        ]
    }
    me = await client.get("/api/v1/tenant/me", headers=setup.headers())
    assert set(me.json()["permissions"]) == PERMISSION_KEYS  # the owner holds all of them


def runs_on_the_event_loop(call: Callable[..., Any]) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_every_handler_and_dependency_is_async(app: FastAPI) -> None:
    # FastAPI runs a plain `def` dependency or handler on the thread pool: a thread hop per call
    # on every request, and a 40-thread ceiling on concurrency under load.
    sync = sorted(
        {
            f"{route.path}: {getattr(call, '__qualname__', type(call).__qualname__)}"
            for route in walk(app.router.routes)
            for call in route.calls
            if not runs_on_the_event_loop(call)
        }
    )
    assert sync == []
    handlers = [
        route.path
        for route in walk(app.router.routes)
        if not runs_on_the_event_loop(route.endpoint)
    ]
    assert handlers == []
