"""`StaticRoutes` (ADR 0027): a request for a fixed-path route reaches exactly the route FastAPI's
own matching would pick, with the scope FastAPI would leave, and everything else is FastAPI's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from garment.app import create_app
from garment.platform.http.dispatch import StaticRoutes, static_targets
from garment.platform.http.routing import Router

cleanups: list[str] = []


async def held_resource() -> AsyncIterator[str]:
    yield "resource"
    cleanups.append("closed")


async def router_guard(request: Request) -> None:
    if request.headers.get("x-deny"):
        raise HTTPException(status_code=403, detail="denied")


def toy_app(*, with_static_routes: bool) -> FastAPI:
    app = FastAPI()
    items = APIRouter(prefix="/items", dependencies=[Depends(router_guard)])

    @items.get("/{item_id}")
    async def one_item(item_id: str, request: Request) -> dict[str, Any]:
        return {"item": item_id, "route": request.scope["route"].path}

    # Declared after the parameter route: FastAPI sends `/items/special` to `one_item`.
    @items.get("/special")
    async def shadowed() -> dict[str, str]:
        return {"item": "never"}

    @items.get("")
    async def list_items(
        resource: Annotated[str, Depends(held_resource)], request: Request
    ) -> dict[str, Any]:
        return {
            "items": [],
            "resource": resource,
            "route": request.scope["route"].path,
            "endpoint": request.scope["endpoint"].__name__,
        }

    @items.post("/fail")
    async def fail() -> None:
        raise ValueError("boom")

    app.include_router(items, prefix="/v1")
    app.state.items_router = items

    @app.exception_handler(ValueError)
    async def value_error(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"handled": str(exc)}, status_code=422)

    if with_static_routes:
        app.router.middleware_stack = StaticRoutes(app.router.middleware_stack, app.router)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_the_app_routes_through_the_table() -> None:
    app = create_app()
    stack = app.router.middleware_stack
    assert isinstance(stack, StaticRoutes)
    assert stack.router is app.router
    stack.table()
    assert stack.routes_version() == (app.router._routes_version, Router.changes)


def test_the_table_holds_fixed_path_routes_and_only_those() -> None:
    table = static_targets(create_app().router)
    assert ("GET", "/api/v1/tenant/taxonomies") in table
    assert ("POST", "/api/v1/auth/refresh") in table
    assert all("{" not in path for _method, path in table)
    assert ("GET", "/api/v1/tenant/taxonomies/{taxonomy_id}") not in table


def test_a_route_behind_an_earlier_parameter_route_stays_with_fastapi() -> None:
    table = static_targets(toy_app(with_static_routes=False).router)
    assert ("GET", "/v1/items") in table
    assert ("POST", "/v1/items/fail") in table
    assert ("GET", "/v1/items/special") not in table


REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/v1/items", {}),
    ("GET", "/v1/items", {"x-deny": "1"}),
    ("GET", "/v1/items/special", {}),
    ("GET", "/v1/items/abc", {}),
    ("POST", "/v1/items", {}),
    ("POST", "/v1/items/fail", {}),
    ("DELETE", "/v1/items/fail", {}),
    ("GET", "/v1/nothing", {}),
]


@pytest.mark.parametrize(("method", "path", "headers"), REQUESTS)
async def test_every_answer_is_the_one_fastapi_gives(
    method: str, path: str, headers: dict[str, str]
) -> None:
    async with client(toy_app(with_static_routes=False)) as plain:
        expected = await plain.request(method, path, headers=headers)
    async with client(toy_app(with_static_routes=True)) as fast:
        answered = await fast.request(method, path, headers=headers)
    assert (answered.status_code, answered.json()) == (expected.status_code, expected.json())
    assert answered.headers.get("allow") == expected.headers.get("allow")


async def test_a_table_route_runs_its_dependencies_and_their_cleanup() -> None:
    cleanups.clear()
    async with client(toy_app(with_static_routes=True)) as fast:
        answered = await fast.get("/v1/items")
    assert answered.json() == {
        "items": [],
        "resource": "resource",
        "route": "/items",
        "endpoint": "list_items",
    }
    assert cleanups == ["closed"]


async def test_routes_added_later_enter_the_table() -> None:
    app = toy_app(with_static_routes=True)
    items: APIRouter = app.state.items_router
    async with client(app) as fast:
        assert (await fast.get("/v1/items-later")).status_code == 404

        # FastAPI (0.165) keeps a router included by reference: a route added to it later is
        # served under the prefix given at inclusion.
        @items.get("-later")
        async def later() -> dict[str, bool]:
            return {"later": True}

        assert (await fast.get("/v1/items-later")).json() == {"later": True}
    stack = app.router.middleware_stack
    assert isinstance(stack, StaticRoutes)
    assert ("GET", "/v1/items-later") in stack.table()


async def test_a_route_added_to_one_of_our_routers_enters_the_table() -> None:
    app = FastAPI()
    ours = Router(prefix="/ours")

    @ours.get("/first")
    async def first() -> dict[str, str]:
        return {"route": "first"}

    app.include_router(ours, prefix="/v1")
    stack = StaticRoutes(app.router.middleware_stack, app.router)
    app.router.middleware_stack = stack
    async with client(app) as fast:
        assert (await fast.get("/v1/ours/first")).json() == {"route": "first"}
        assert stack.routes_version() == (app.router._routes_version, Router.changes)

        @ours.get("/second")
        async def second() -> dict[str, str]:
            return {"route": "second"}

        assert (await fast.get("/v1/ours/second")).json() == {"route": "second"}
    assert ("GET", "/v1/ours/second") in stack.table()
