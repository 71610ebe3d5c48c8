"""Exception handlers: every error the framework or our code raises becomes problem+json."""

from __future__ import annotations

import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from garment.platform.context import current_context
from garment.platform.errors import VALIDATION_FAILED, AppError, spec_for_status
from garment.platform.http.middleware import ERROR_CODE_SCOPE_KEY
from garment.platform.http.problem import (
    app_error_response,
    problem_response,
    validation_field_errors,
)
from garment.platform.metrics import AUTH_FAILURES

logger = structlog.get_logger("garment.http")
HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


async def handle_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    request.scope[ERROR_CODE_SCOPE_KEY] = exc.code
    if exc.spec.status == 401:
        AUTH_FAILURES.labels(exc.code).inc()
    return app_error_response(exc, request.url.path)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    spec = spec_for_status(exc.status_code)
    request.scope[ERROR_CODE_SCOPE_KEY] = spec.code
    headers = dict(exc.headers or {})
    extra: dict[str, Any] = {}
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    if exc.status_code == 413:
        route = request.scope.get("route")
        limit = getattr(route, "max_body_size", None) or getattr(request.app, "max_body_size", None)
        if limit is not None:
            extra["limit_bytes"] = limit
    # Starlette's own texts ("Not Found") are English-only; the catalogue message replaces them.
    return problem_response(
        spec, instance=request.url.path, headers=headers, status=exc.status_code, extra=extra
    )


def allowed_methods(request: Request) -> str:
    """Every method the API document gives this path (RFC 9110: `Allow` lists them all;
    Starlette names only those of the first route that matched the path). Empty for a path the
    document does not list (`/docs`): Starlette's answer stands there."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        request.app.state, "allow_table", None
    )
    if table is None:
        table = request.app.state.allow_table = _allow_table(request.app.openapi())
    methods: set[str] = set()
    for pattern, verbs in table:
        if pattern.match(request.url.path):
            methods |= verbs
    return ", ".join(sorted(methods))


def _allow_table(document: dict[str, Any]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    table = []
    for path, item in document.get("paths", {}).items():
        # A path parameter the document types as a UUID matches only a UUID (`/members/{id}`
        # does not swallow `/members/invitations`), as the route's own convertor does.
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                if (
                    parameter.get("in") == "path"
                    and parameter.get("schema", {}).get("format") == "uuid"
                ):
                    path = path.replace(
                        "{" + parameter["name"] + "}", "{" + parameter["name"] + ":uuid}"
                    )
        regex, _, _ = compile_path(path)
        verbs = frozenset(method.upper() for method in item if method.upper() in HTTP_METHODS)
        table.append((regex, verbs))
    return table


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    request.scope[ERROR_CODE_SCOPE_KEY] = VALIDATION_FAILED.code
    errors = validation_field_errors(exc.errors(), current_context().locale)
    return problem_response(VALIDATION_FAILED, instance=request.url.path, errors=errors)


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
