"""Requests for a route with a fixed path go straight to it (ADR 0027).

FastAPI (0.165) routes a request by asking each included router in turn to match it, and the
router that matches matches again to pick its route: on a tenant list that is about a tenth of
the request's CPU (bench/README.md). Most hot routes have a fixed path (`GET
/api/v1/tenant/taxonomies`, `POST /api/v1/auth/refresh`), so the route a request reaches
depends only on its method and path. `StaticRoutes` sits where the app router's matching
starts (inside the exception and exit-stack middlewares, so errors and dependency cleanup work as
for any route) and looks the pair up in a table; a hit sets the scope as FastAPI's matching
would and calls the route's own ASGI app. Everything else goes on to FastAPI's routing.

The table is built from FastAPI's own matching, not beside it: for each fixed-path route, a
request of its method and path is matched by the app router exactly as a real one would be, and
the pair enters the table only when that match picks the route itself. A route shadowed by an
earlier one (a path parameter declared first) therefore stays with FastAPI, which answers it as
it always did. The table is rebuilt when routes are added; `Router` counts its changes so that
noticing one costs two integer reads per request, not FastAPI's walk over every router.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    APIRouter,
    _apply_router_form_limits,
    _IncludedRouter,
)
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from garment.platform.http.routing import Router


@dataclass(frozen=True, slots=True)
class StaticTarget:
    """Where FastAPI's matching sends one (method, path), and the scope it leaves behind."""

    branch: _IncludedRouter
    context: Any  # FastAPI's effective route context: the route as included (prefix, limits)
    route: APIRoute
    endpoint: Any
    app: ASGIApp

    def enter(self, scope: Scope, router: APIRouter) -> None:
        """The scope as FastAPI's matching leaves it for this route."""
        scope.setdefault("router", router)
        _apply_router_form_limits(scope, router.form_limits)
        _apply_router_form_limits(scope, self.branch.include_context.form_limits)
        fastapi_scope = scope.setdefault(_FASTAPI_SCOPE_KEY, {})
        fastapi_scope[_FASTAPI_INCLUDED_ROUTER_KEY] = self.branch
        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = self.context
        scope["endpoint"] = self.endpoint
        scope["path_params"] = dict(scope.get("path_params", {}))
        scope["route"] = self.route


class StaticRoutes:
    """ASGI app in front of `router`'s matching: fixed-path routes by table (module docstring)."""

    def __init__(self, app: ASGIApp, router: APIRouter) -> None:
        self.app = app
        self.router = router
        self._version: tuple[int, ...] | None = None
        self._table: dict[tuple[str, str], StaticTarget] = {}
        self._all_ours = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Under a root path FastAPI's matching strips it first, and with FastAPI's telemetry on
        # its matching names the span: both stay FastAPI's.
        if (
            scope["type"] == "http"
            and not scope.get("root_path")
            and scope.get("fastapi.telemetry") is None
        ):
            target = self.table().get((scope["method"], scope["path"]))
            if target is not None:
                target.enter(scope, self.router)
                await target.app(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def table(self) -> dict[tuple[str, str], StaticTarget]:
        version = self.routes_version()
        if version != self._version:
            self._table = static_targets(self.router)
            self._all_ours = all(isinstance(r, Router) for r in included_routers(self.router))
            self._version = self.routes_version()
        return self._table

    def routes_version(self) -> tuple[int, ...]:
        """Changes whenever a route is added anywhere in the app: when every included router is
        a `Router`, from two integers; otherwise by FastAPI's walk over every router, which
        costs about as much as the matching the table saves."""
        if self._all_ours:
            return (self.router._routes_version, Router.changes)
        return (self.router._get_routes_version(),)


def included_routers(router: APIRouter) -> Iterator[APIRouter]:
    """Every router included in `router`, at any depth."""
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            yield route.original_router
            yield from included_routers(route.original_router)


def static_targets(router: APIRouter) -> dict[tuple[str, str], StaticTarget]:
    """Every (method, path) of a fixed-path route that FastAPI's matching sends to that route."""
    table: dict[tuple[str, str], StaticTarget] = {}
    for branch in router.routes:
        if not isinstance(branch, _IncludedRouter):
            continue
        for context in branch.effective_route_contexts():
            route = context.original_route
            if not isinstance(route, APIRoute) or context.param_convertors or context.app is None:
                continue
            for method in sorted(context.methods or ()):
                target = chosen_target(router, method, context.path)
                if target is not None and target.context is context:
                    table[(method, context.path)] = target
    return table


def chosen_target(router: APIRouter, method: str, path: str) -> StaticTarget | None:
    """The route FastAPI's matching picks for a request of `method` and `path`, when it is a
    route of an included router (what `APIRouter.app` and `_IncludedRouter._handle_selected`
    do, without calling it)."""
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for candidate in router.routes:
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            break
    else:
        return None
    if not isinstance(candidate, _IncludedRouter):
        return None
    match, child_scope, chosen, context = candidate._match(scope)
    if match != Match.FULL or context is None or context.app is None:
        return None
    route = child_scope.get("route")
    if not isinstance(route, APIRoute) or route is not chosen or child_scope.get("path_params"):
        return None
    return StaticTarget(candidate, context, route, child_scope["endpoint"], context.app)
