"""`CompiledRoute` (ADR 0022): every API route solves its dependencies by a plan built once, and
a plan answers exactly what FastAPI's own solving answers, errors and their order included."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import (
    APIRouter,
    Body,
    Cookie,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
)
from fastapi.exceptions import ResponseValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from garment.app import create_app
from garment.platform.http.routing import CompiledRoute, compiled

calls: list[str] = []


async def authenticated(authorization: Annotated[str | None, Header()] = None) -> str:
    calls.append("authenticated")
    if authorization != "Bearer ok":
        raise_unauthorized()
    return "user-1"


def raise_unauthorized() -> None:
    raise HTTPException(status_code=401, detail="no")


async def member(
    user: Annotated[str, Depends(authenticated)],
    x_tenant_id: Annotated[str, Header(max_length=8)],
) -> dict[str, str]:
    calls.append("member")
    return {"user": user, "tenant": x_tenant_id}


async def session(
    who: Annotated[dict[str, str], Depends(member)],
) -> AsyncIterator[str]:
    calls.append("session-open")
    yield f"session-of-{who['user']}"
    calls.append("session-close")


async def guarded_unit(fail: str = "none") -> AsyncIterator[str]:
    """A unit of work as `TenantSession` is one: it sees the endpoint's error, and may fail
    itself before it yields or while it closes."""
    calls.append("unit-open")
    if fail == "before":
        raise HTTPException(status_code=503, detail="unit unavailable")
    try:
        yield "unit"
    except HTTPException as error:
        calls.append(f"unit-saw-{error.status_code}")
        raise
    calls.append("unit-close")
    if fail == "cleanup":
        raise HTTPException(status_code=409, detail="commit refused")


async def request_unit() -> AsyncIterator[str]:
    """A request-scoped generator: it closes after the response has been sent."""
    calls.append("request-open")
    yield "request"
    calls.append("request-close")


def sync_unit() -> Iterator[str]:
    calls.append("sync-open")
    yield "sync"
    calls.append("sync-close")


def sync_service() -> str:
    calls.append("service")
    return "service"


def paging(
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    tags: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies it per request
) -> dict[str, Any]:
    return {"limit": limit, "tags": tags}


class Item(BaseModel):
    name: str = Field(min_length=2)
    qty: int = Field(ge=1)


def build(route_class: type[APIRoute]) -> FastAPI:
    app = FastAPI()
    router = APIRouter(route_class=route_class, prefix="/v1")

    @router.get("/things/{thing_id}")
    async def get_thing(
        thing_id: Annotated[int, Path(ge=1)],
        who: Annotated[dict[str, str], Depends(member)],
        db: Annotated[str, Depends(session, scope="function")],
        page: Annotated[dict[str, Any], Depends(paging)],
        service: Annotated[str, Depends(sync_service)],
        request: Request,
        response: Response,
        flavour: Annotated[str | None, Cookie()] = None,
        q: Annotated[str | None, Query(min_length=2)] = None,
    ) -> dict[str, Any]:
        response.headers["X-Seen"] = "1"
        return {
            "thing": thing_id,
            "who": who,
            "db": db,
            "page": page,
            "service": service,
            "path": request.url.path,
            "flavour": flavour,
            "q": q,
        }

    @router.post("/things", status_code=201)
    async def create_thing(
        item: Item,
        who: Annotated[dict[str, str], Depends(member)],
        note: Annotated[str, Body(max_length=5)] = "none",
    ) -> dict[str, Any]:
        return {"item": item.model_dump(), "note": note, "who": who}

    @router.post("/plain", status_code=201)
    def sync_endpoint(item: Item) -> Item:
        return item

    @router.get("/shaped", response_model=Item)
    async def shaped(response: Response, bad: bool = False) -> Any:
        response.status_code = 202
        response.headers["X-Seen"] = "shaped"
        return {"name": 1} if bad else {"name": "kaos", "qty": 1, "extra": "dropped"}

    @router.get("/raw")
    async def raw() -> Response:
        return PlainTextResponse("raw", status_code=203, headers={"X-Seen": "raw"})

    @router.delete("/things/{thing_id}", status_code=204)
    async def delete_thing(thing_id: int) -> None:
        return None

    @router.get("/guarded")
    async def guarded(
        unit: Annotated[str, Depends(guarded_unit, scope="function")],
        outer: Annotated[str, Depends(request_unit)],
        sync: Annotated[str, Depends(sync_unit, scope="function")],
        fail: str = "none",
    ) -> dict[str, str]:
        calls.append("endpoint")
        if fail == "conflict":
            raise HTTPException(status_code=409, detail="taken")
        if fail == "crash":
            raise RuntimeError("boom")
        return {"unit": unit, "outer": outer, "sync": sync}

    @router.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return "<p>halo</p>"

    lenient_router = APIRouter(route_class=route_class, prefix="/v1", strict_content_type=False)

    @lenient_router.post("/lenient")
    async def lenient(item: Item) -> Item:
        return item

    app.include_router(router)
    app.include_router(lenient_router)
    return app


GOOD = {"Authorization": "Bearer ok", "X-Tenant-ID": "demo"}
CASES: list[tuple[str, str, dict[str, str], Any]] = [
    ("GET", "/v1/things/3?limit=5&tags=a&tags=b&q=zz", GOOD, None),
    ("GET", "/v1/things/3", {**GOOD, "Cookie": "flavour=mint"}, None),
    ("GET", "/v1/things/0?limit=500&q=z", GOOD, None),  # three errors, in FastAPI's order
    ("GET", "/v1/things/x?limit=y", GOOD, None),
    ("GET", "/v1/things/3", {"Authorization": "Bearer ok"}, None),  # missing header
    ("GET", "/v1/things/3", {**GOOD, "X-Tenant-ID": "much-too-long"}, None),
    ("GET", "/v1/things/3", {"X-Tenant-ID": "demo"}, None),  # 401 before any 422
    ("GET", "/v1/things/3?limit=0", {"X-Tenant-ID": "demo"}, None),
    ("POST", "/v1/things", GOOD, {"item": {"name": "kaos", "qty": 2}, "note": "hi"}),
    ("POST", "/v1/things", GOOD, {"item": {"name": "k", "qty": 0}, "note": "too long"}),
    ("POST", "/v1/things", GOOD, None),
    ("POST", "/v1/things", {"X-Tenant-ID": "demo"}, {"item": {}}),
    ("POST", "/v1/plain", GOOD, {"name": "kemeja", "qty": 3}),
    ("POST", "/v1/plain", GOOD, {"name": 5}),
    ("POST", "/v1/plain", {**GOOD, "Content-Type": "text/plain"}, "not json"),
    ("POST", "/v1/plain", {**GOOD, "Content-Type": "application/json"}, "{broken"),
    ("POST", "/v1/plain", {**GOOD, "Content-Type": "application/vnd.api+json"}, '{"name":"ab"}'),
    ("POST", "/v1/plain", {**GOOD, "Content-Type": "application/json; charset=utf-8"}, "[1]"),
    ("POST", "/v1/plain", {**GOOD, "Content-Type": ""}, '{"name": "kemeja", "qty": 3}'),
    ("POST", "/v1/lenient", {**GOOD, "Content-Type": ""}, '{"name": "kemeja", "qty": 3}'),
    ("POST", "/v1/plain", GOOD, ""),
    ("GET", "/v1/shaped", GOOD, None),
    ("GET", "/v1/raw", GOOD, None),
    ("DELETE", "/v1/things/3", GOOD, None),
    ("GET", "/v1/page", GOOD, None),
    # Generator dependencies: opened and closed in FastAPI's order, the endpoint's error thrown
    # into them, their own failures before the yield and while closing answered as FastAPI's.
    ("GET", "/v1/guarded", GOOD, None),
    ("GET", "/v1/guarded?fail=conflict", GOOD, None),
    ("GET", "/v1/guarded?fail=before", GOOD, None),
    ("GET", "/v1/guarded?fail=cleanup", GOOD, None),
]


async def answer(app: FastAPI, case: tuple[str, str, dict[str, str], Any]) -> tuple[Any, ...]:
    method, url, headers, body = case
    calls.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        if isinstance(body, str):
            response = await client.request(method, url, headers=headers, content=body)
        else:
            response = await client.request(method, url, headers=headers, json=body)
    seen = response.headers.get("x-seen")
    kept = {name: response.headers.get(name) for name in ("content-type", "content-length")}
    return response.status_code, response.content, seen, list(calls), kept


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
async def test_a_plan_answers_what_fastapi_answers(
    case: tuple[str, str, dict[str, str], Any],
) -> None:
    compiled_app = build(CompiledRoute)
    ours = await answer(compiled_app, case)
    fastapis = await answer(build(APIRoute), case)
    assert ours == fastapis
    assert all(compiled(route) for route in api_routes(compiled_app))


async def test_an_answer_outside_the_response_model_fails_as_in_fastapi() -> None:
    failures = []
    for route_class in (CompiledRoute, APIRoute):
        with pytest.raises(ResponseValidationError) as failure:
            await answer(build(route_class), ("GET", "/v1/shaped?bad=true", GOOD, None))
        failures.append((failure.value.errors(), failure.value.body))
    assert failures[0] == failures[1]


async def test_dependency_overrides_are_honoured() -> None:
    app = build(CompiledRoute)
    app.dependency_overrides[sync_service] = lambda: "overridden"
    status, body, _, _, _ = await answer(app, ("GET", "/v1/things/3", GOOD, None))
    assert status == 200
    assert json.loads(body)["service"] == "overridden"
    app.dependency_overrides.clear()
    status, body, _, _, _ = await answer(app, ("GET", "/v1/things/3", GOOD, None))
    assert json.loads(body)["service"] == "service"


async def test_a_cached_dependency_runs_once_and_a_generator_closes() -> None:
    _, _, _, seen, _ = await answer(build(CompiledRoute), CASES[0])
    assert seen.count("authenticated") == 1
    assert seen.count("member") == 1
    assert seen[-1] == "session-close"


async def test_an_endpoint_crash_reaches_the_generators_as_in_fastapi() -> None:
    seen = []
    for route_class in (CompiledRoute, APIRoute):
        calls.clear()
        transport = httpx.ASGITransport(app=build(route_class), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/v1/guarded?fail=crash", headers=GOOD)
        seen.append((response.status_code, list(calls)))
    assert seen[0] == seen[1]
    assert seen[0][0] == 500
    assert "unit-close" not in seen[0][1]


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every route as the app serves it (an included route is served by its include context)."""

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            if hasattr(route, "effective_candidates"):
                yield from walk(route.effective_candidates())
            else:
                yield route

    for route in walk(list(app.routes)):
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def test_every_api_route_solves_by_a_plan() -> None:
    routes = list(api_routes(create_app()))
    assert len(routes) > 150
    uncompiled = sorted(f"{sorted(r.methods)} {r.path}" for r in routes if not compiled(r))
    assert uncompiled == []
