"""`Router` answers "no match" for a path outside its prefix without trying its routes, and
routes exactly as FastAPI's `APIRouter` does otherwise (garment.platform.http.routing)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import _IncludedRouter
from starlette.responses import PlainTextResponse

from garment.app import api_routers
from garment.platform.http.routing import CompiledRoute, Router, compiled


def build(router_class: type[APIRouter]) -> FastAPI:
    things = router_class(prefix="/things")
    others = router_class(prefix="/things-others")

    @things.get("")
    async def list_things() -> dict[str, str]:
        return {"at": "things"}

    @things.get("/{thing_id:int}")
    async def one_thing(thing_id: int) -> dict[str, int]:
        return {"thing": thing_id}

    @others.get("/{name}")
    async def one_other(name: str) -> dict[str, str]:
        return {"other": name}

    app = FastAPI()
    app.include_router(things, prefix="/api")
    app.include_router(others, prefix="/api")
    return app


CASES = [
    ("GET", "/api/things"),
    ("GET", "/api/things/7"),
    ("GET", "/api/things/x"),
    ("GET", "/api/things-others/kaos"),
    ("GET", "/api/thingsx"),
    ("POST", "/api/things"),
    ("GET", "/api/things/"),
    ("GET", "/elsewhere"),
]


@pytest.mark.parametrize(("method", "path"), CASES)
async def test_answers_match_fastapis_router(method: str, path: str) -> None:
    answers = []
    for router_class in (Router, APIRouter):
        transport = httpx.ASGITransport(app=build(router_class))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.request(method, path, follow_redirects=False)
        answers.append((response.status_code, response.headers.get("location"), response.text))
    assert answers[0] == answers[1]


def test_a_path_outside_the_prefix_is_refused_before_any_route_is_tried() -> None:
    app = build(Router)
    included = next(
        route
        for route in app.router.routes
        if isinstance(route, _IncludedRouter) and route.original_router.prefix == "/things"
    )
    scope: dict[str, Any] = {"type": "http", "path": "/api/other", "root_path": ""}
    scope["fastapi"] = {"included_router": included}
    router = included.original_router
    tried: list[object] = []

    def counted(route: Any) -> Any:
        original = route.matches

        def matches(scope: Any) -> Any:
            tried.append(route)
            return original(scope)

        return matches

    for route in router.routes:
        route.matches = counted(route)  # type: ignore[method-assign]
    match, _ = router.matches(scope)
    assert match.name == "NONE" and tried == []


def test_a_router_with_a_mount_is_not_guarded() -> None:
    router = Router(prefix="/files")
    router.mount("/static", PlainTextResponse("x"))
    assert router._routes_under_prefix() is False
    assert Router()._routes_under_prefix() is False  # no prefix: nothing to test against


def test_every_router_of_the_app_is_a_router_with_compiled_routes() -> None:
    for router in api_routers():
        assert isinstance(router, Router), router
        for route in router.routes:
            assert isinstance(route, CompiledRoute), route
    assert not compiled(object())
