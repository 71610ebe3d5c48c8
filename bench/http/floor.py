"""The FastAPI floor: the bare endpoints' very work, reached through FastAPI instead of plain
Starlette routes.

Each route declares what a documented FastAPI route declares (its headers and query as
parameters, solved by FastAPI's dependency machinery) and then calls the bare endpoint itself, so
the difference to `bare` is FastAPI alone: its routing, request parsing, dependency solving and
response handling, with none of ours' middleware, caches, sessions or serialization. If the floor
is below a target ratio to `bare`, no request path built on FastAPI routes can reach it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import FastAPI, Header, Query, Request
from starlette.responses import Response
from starlette.routing import Route

from bench.http import bare
from garment.central.auth.schemas import LoginRequest, RefreshRequest

Endpoint = Callable[[Request], Awaitable[Response]]


def create_app() -> FastAPI:
    baseline = bare.create_app()
    endpoints: dict[str, Endpoint] = {
        route.path: route.endpoint for route in baseline.routes if isinstance(route, Route)
    }
    app = FastAPI(lifespan=baseline.router.lifespan_context, openapi_url=None, docs_url=None)
    tenant_me = endpoints["/tenant-me"]
    tenant_list = endpoints["/tenant-list"]
    seed_member = endpoints["/seed-member"]
    seed_chains = endpoints["/seed-chains"]
    bare_refresh = endpoints["/refresh"]
    bare_login = endpoints["/login"]

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/seed-member")
    async def seed(request: Request) -> Response:
        return await seed_member(request)

    @app.get("/tenant-me")
    async def me(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        x_tenant_id: Annotated[str | None, Header(max_length=64)] = None,
    ) -> Response:
        return await tenant_me(request)

    @app.get("/tenant-list")
    async def listed(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        x_tenant_id: Annotated[str | None, Header(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        return await tenant_list(request)

    @app.post("/seed-chains")
    async def chains(request: Request) -> Response:
        return await seed_chains(request)

    # Ours' bodies and headers, validated by FastAPI as ours' routes declare them; the bare
    # endpoint then reads the body FastAPI has already read (the request keeps it).
    @app.post("/refresh")
    async def refresh(
        request: Request,
        body: RefreshRequest,
        x_device_fingerprint: Annotated[str | None, Header(max_length=512)] = None,
    ) -> Response:
        return await bare_refresh(request)

    @app.post("/login")
    async def login(
        request: Request,
        body: LoginRequest,
        x_device_fingerprint: Annotated[str | None, Header(max_length=512)] = None,
    ) -> Response:
        return await bare_login(request)

    return app
