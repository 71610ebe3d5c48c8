"""Exception handlers: every error the framework or our code raises becomes problem+json."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from garment.platform.context import current_context
from garment.platform.errors import VALIDATION_FAILED, AppError, spec_for_status
from garment.platform.http.middleware import ERROR_CODE_SCOPE_KEY
from garment.platform.http.problem import (
    app_error_response,
    problem_response,
    validation_field_errors,
)

logger = structlog.get_logger("garment.http")


async def handle_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    request.scope[ERROR_CODE_SCOPE_KEY] = exc.code
    return app_error_response(exc, request.url.path)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    spec = spec_for_status(exc.status_code)
    request.scope[ERROR_CODE_SCOPE_KEY] = spec.code
    # Starlette's own texts ("Not Found") are English-only; the catalogue message replaces them.
    return problem_response(
        spec, instance=request.url.path, headers=exc.headers, status=exc.status_code
    )


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    request.scope[ERROR_CODE_SCOPE_KEY] = VALIDATION_FAILED.code
    errors = validation_field_errors(exc.errors(), current_context().locale)
    return problem_response(VALIDATION_FAILED, instance=request.url.path, errors=errors)


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
