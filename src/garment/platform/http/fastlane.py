"""The fast lane: a few hot read routes answered ahead of FastAPI's routing and dependency
solving (ADR 0026).

A lane belongs to one documented route (same method and path). It runs the route's own chain
and answer builder on the values it takes from the request itself and either answers or
declines (`None`); a declined request goes on to FastAPI unchanged, which then answers it as
if the lane did not exist. A lane declines whatever FastAPI would validate differently (an
over-long header, say), so the route's contract stays the one the OpenAPI document gives. It
answers the route's errors through the same exception handler as the route.

It sits inside the request-context middleware, so every answer still carries the request id,
the security headers and the route's metrics and request log line (`scope["route"]` is the
route's own object).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

LaneHandler = Callable[[Request], Awaitable[Response | None]]


@dataclass(frozen=True, slots=True)
class Lane:
    handler: LaneHandler
    route: BaseRoute


class FastLane:
    """ASGI middleware: `lanes` maps (method, path) to the lane answering it."""

    def __init__(self, app: ASGIApp, lanes: Mapping[tuple[str, str], Lane]) -> None:
        self.app = app
        self.lanes = dict(lanes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self._lane_for(scope)
        if lane is not None:
            scope["route"] = lane.route
            response = await lane.handler(Request(scope, receive))
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _lane_for(self, scope: Scope) -> Lane | None:
        # Under a root path the route's own matching strips it first; the lane does not guess.
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        return self.lanes.get((scope["method"], scope["path"]))
