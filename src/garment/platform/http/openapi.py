"""OpenAPI: every error response is documented as problem+json, per route, with its codes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from garment.platform.errors import BAD_REQUEST, INTERNAL_ERROR, VALIDATION_FAILED, ErrorSpec
from garment.platform.http.problem import PROBLEM_MEDIA_TYPE, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def error_responses(*specs: ErrorSpec) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: one entry per status listing the codes it may answer."""
    by_status: dict[int, list[ErrorSpec]] = {}
    for spec in specs:
        by_status.setdefault(spec.status, []).append(spec)
    return {
        status: {
            "model": Problem,
            "description": describe(group),
            "x-error-codes": [spec.code for spec in group],
        }
        for status, group in sorted(by_status.items())
    }


def describe(specs: Iterable[ErrorSpec]) -> str:
    return "; ".join(f"`{spec.code}`: {spec.message_en}" for spec in specs)


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Problem", Problem.model_json_schema())
        for schema_name in ("HTTPValidationError", "ValidationError"):
            components.pop(schema_name, None)
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    _problemize(operation["responses"], has_body="requestBody" in operation)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def _problemize(responses: dict[str, Any], *, has_body: bool = False) -> None:
    for status, response in list(responses.items()):
        if status == "422":
            response["description"] = describe([VALIDATION_FAILED])
            response["x-error-codes"] = [VALIDATION_FAILED.code]
        if status.isdigit() and int(status) >= 400:
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
    if has_body:
        # A body that is not decodable at all (not UTF-8, not JSON text) is refused before
        # validation: 400 BAD_REQUEST rather than 422.
        responses.setdefault(
            "400",
            {
                "description": describe([BAD_REQUEST]),
                "x-error-codes": [BAD_REQUEST.code],
                "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
            },
        )
    responses.setdefault(
        "500",
        {
            "description": describe([INTERNAL_ERROR]),
            "x-error-codes": [INTERNAL_ERROR.code],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
        },
    )
