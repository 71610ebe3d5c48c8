"""The outermost middleware: request context, request log line, metrics and the last-resort 500.

Written as plain ASGI (not BaseHTTPMiddleware) so it adds no task or stream copy per request.
"""

from __future__ import annotations

import logging
import os
import re
import time
from ipaddress import ip_address, ip_network
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from garment.platform.context import (
    RequestContext,
    current_context,
    parse_accept_language,
    reset_context,
    set_context,
)
from garment.platform.db import is_connection_failure, is_rejected_data
from garment.platform.errors import (
    INTERNAL_ERROR,
    REQUEST_TOO_LARGE,
    SERVICE_UNAVAILABLE,
    VALIDATION_FAILED,
    ErrorSpec,
)
from garment.platform.http.problem import problem_response
from garment.platform.metrics import HTTP_METRICS

logger = structlog.get_logger("garment.http")
# The standard-library logger behind it: asked first, so a process whose level hides request
# lines (a benchmark, `log.level=WARNING`) does not build and drop one per request.
request_log = logging.getLogger("garment.http")

REQUEST_ID_HEADER = "X-Request-ID"
ERROR_CODE_SCOPE_KEY = "garment.error_code"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED_ROUTE = "<unmatched>"
DATABASE_RETRY_SECONDS = 5


def accepted_request_id(value: str | None) -> str:
    """Echo a caller's id when it is safe to log and return; otherwise mint one (32 random hex
    digits, as a uuid4's hex without the cost of building the UUID)."""
    if value and _SAFE_REQUEST_ID.match(value):
        return value
    return os.urandom(16).hex()


# The request headers the middleware reads, found in one pass over the raw list (Starlette's
# `Headers.get` scans it again for each name).
READ_HEADERS = frozenset(
    {b"x-request-id", b"accept-language", b"user-agent", b"x-forwarded-for", b"content-length"}
)


def read_headers(scope: Scope) -> dict[bytes, str]:
    """The first value of each of `READ_HEADERS` the request carries (names arrive lower-case
    from the server), decoded as Starlette decodes them."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in READ_HEADERS and name not in found:
            found[name] = value.decode("latin-1")
    return found


def route_template(scope: Scope) -> str:
    """The matched route's full template (`/api/v1/auth/sessions/{session_id}`).

    A route inside an included router knows only its own part of the path; our router prefixes
    carry no parameters, so the prefix is whatever precedes the part the route matches.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not template:
        return UNMATCHED_ROUTE
    path: str = scope.get("path", "")
    regex = getattr(route, "path_regex", None)
    if regex is None or regex.match(path):
        return str(template)
    for index in range(1, len(path)):
        if path[index] == "/" and regex.match(path[index:]):
            return path[:index] + str(template)
    return str(template)


def classify_failure(error: BaseException) -> ErrorSpec:
    """What an unexpected exception means for the caller: a database that cannot be reached is
    an outage to wait out (503 + Retry-After), a value the database cannot hold (a NUL byte, a
    lone surrogate) is bad input (422); anything else is our bug (500)."""
    if is_connection_failure(error):
        return SERVICE_UNAVAILABLE
    if is_rejected_data(error):
        return VALIDATION_FAILED
    return INTERNAL_ERROR


# Headers every answer carries: no MIME sniffing of JSON into something executable, no framing
# of the API's pages (/docs), no referrer leaking ids from URLs. A route's own value stands.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
VARY_LOCALE = b"Accept-Language"


def with_standard_headers(
    headers: list[tuple[bytes, bytes]], request_id: bytes
) -> list[tuple[bytes, bytes]]:
    """An answer's headers plus the ones every answer carries, in one pass: the request id
    (replacing any), `Accept-Language` added to `Vary` (every message has two languages), the
    security headers unless the route set its own."""
    result: list[tuple[bytes, bytes]] = []
    present: set[bytes] = set()
    vary: bytes | None = None
    for name, value in headers:
        key = name.lower()
        if key == b"x-request-id":
            continue
        if key == b"vary":
            vary = value if vary is None else vary
            continue
        present.add(key)
        result.append((name, value))
    result.append((b"x-request-id", request_id))
    result.append((b"vary", vary + b", " + VARY_LOCALE if vary else VARY_LOCALE))
    for name, value in SECURITY_HEADERS:
        if name not in present:
            result.append((name, value))
    return result


def is_framework_text_413(message: Message) -> bool:
    if message["status"] != 413:
        return False
    content_type = dict(message.get("headers", [])).get(b"content-type", b"")
    return bool(content_type.startswith(b"text/plain"))


def route_body_limit(scope: Scope) -> dict[str, Any]:
    limit = getattr(scope.get("route"), "max_body_size", None)
    return {"limit_bytes": limit} if limit is not None else {}


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class BodyLimit:
    """The application-wide request body limit (`http.max_body_bytes`). A declared
    Content-Length over it is refused before anything is read; a body without one (chunked)
    is counted as it arrives and refused the moment it passes the limit. Routes anyone may call
    unauthenticated set a lower limit of their own (FastAPI's `max_body_size`)."""

    def __init__(self, limit: int, content_length: str | None, receive: Receive) -> None:
        self.limit = limit
        self.received = 0
        self._receive = receive
        try:
            self.declared = int(content_length) if content_length is not None else None
        except ValueError:
            self.declared = None

    def declared_too_large(self) -> bool:
        return self.declared is not None and self.declared > self.limit

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise BodyTooLarge(self.limit)
        return message


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        trusted_proxies: list[str] | None = None,
        max_body_bytes: int = 1_048_576,
        self_limited_prefixes: tuple[str, ...] = (),
        secret_path_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        # Paths that carry a bearer secret (a tracking token): logged as their route template
        # (`/t/{token}`), never as sent.
        self.secret_path_prefixes = secret_path_prefixes
        self.max_body_bytes = max_body_bytes
        # Paths whose routes read the body themselves under a limit of their own and must see
        # an oversized request (the billing webhook ingress records it before refusing it).
        self.self_limited_prefixes = self_limited_prefixes
        self.trusted_networks = [ip_network(proxy, strict=False) for proxy in trusted_proxies or []]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = read_headers(scope)
        context = RequestContext(
            request_id=accepted_request_id(headers.get(b"x-request-id")),
            locale=parse_accept_language(headers.get(b"accept-language")),
            client_ip=self.client_ip(scope, headers.get(b"x-forwarded-for")),
            user_agent=(headers.get(b"user-agent") or "")[:512] or None,
        )
        request_id = context.request_id.encode("latin-1")
        token = set_context(context)
        started = time.perf_counter()
        status = 500
        response_started = False

        replacing = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started, replacing
            if message["type"] == "http.response.start" and is_framework_text_413(message):
                # A route's own lower limit (FastAPI's `max_body_size`) answers plain text;
                # every error of this API is problem+json with its code, here with the limit.
                replacing = True
                return
            if replacing:
                if not message.get("more_body"):
                    replacing = False
                    problem = problem_response(
                        REQUEST_TOO_LARGE, instance=scope["path"], extra=route_body_limit(scope)
                    )
                    await problem(scope, receive, send_with_request_id)
                return
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = with_standard_headers(
                    list(message.get("headers", ())), request_id
                )
            await send(message)

        limited = BodyLimit(self.max_body_bytes, headers.get(b"content-length"), receive)
        self_limited = scope["path"].startswith(self.self_limited_prefixes)

        try:
            if self_limited:
                await self.app(scope, receive, send_with_request_id)
                return
            if limited.declared_too_large():
                raise BodyTooLarge(self.max_body_bytes)
            await self.app(scope, limited.receive, send_with_request_id)
        except BodyTooLarge as error:
            # Refused before (or while) reading: the rest of the body is never buffered.
            scope[ERROR_CODE_SCOPE_KEY] = REQUEST_TOO_LARGE.code
            status = REQUEST_TOO_LARGE.status
            if not response_started:
                response = problem_response(
                    REQUEST_TOO_LARGE,
                    instance=scope["path"],
                    extra={"limit_bytes": error.limit},
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send_with_request_id)
        except Exception as error:
            spec = classify_failure(error)
            log = logger.warning if spec is VALIDATION_FAILED else logger.exception
            path = self.logged_path(scope)
            log("request.crashed", method=scope["method"], path=path, code=spec.code)
            if not response_started:
                params = (
                    {"retry_after": DATABASE_RETRY_SECONDS} if spec is SERVICE_UNAVAILABLE else {}
                )
                response = problem_response(spec, instance=scope["path"], params=params)
                await response(scope, receive, send_with_request_id)
            status = spec.status
            scope[ERROR_CODE_SCOPE_KEY] = spec.code
        finally:
            self.record(scope, status, time.perf_counter() - started)
            reset_context(token)

    def logged_path(self, scope: Scope) -> str:
        path: str = scope["path"]
        if self.secret_path_prefixes and path.startswith(self.secret_path_prefixes):
            return route_template(scope)
        return path

    def record(self, scope: Scope, status: int, duration: float) -> None:
        route_path = route_template(scope)
        method = scope["method"]
        HTTP_METRICS.record(method, route_path, status, duration)
        if not request_log.isEnabledFor(logging.INFO):
            return
        context = current_context()
        logger.info(
            "request",
            method=method,
            path=self.logged_path(scope),
            route=route_path,
            status=status,
            duration_ms=round(duration * 1000, 2),
            code=scope.get(ERROR_CODE_SCOPE_KEY),
            client_ip=context.client_ip,
            user_id=str(context.user_id) if context.user_id else None,
            tenant_id=str(context.tenant_id) if context.tenant_id else None,
        )

    def client_ip(self, scope: Scope, forwarded: str | None) -> str | None:
        client = scope.get("client")
        peer: str | None = str(client[0]) if client else None
        if not forwarded or not peer or not self._is_trusted(peer):
            return peer
        # The right-most address not belonging to a trusted proxy is the real client.
        for candidate in reversed([part.strip() for part in forwarded.split(",")]):
            if not self._is_trusted(candidate):
                return candidate
        return peer

    def _is_trusted(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.trusted_networks)
