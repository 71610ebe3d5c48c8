"""OpenAPI: every error response is documented as problem+json, per route, with its codes."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from garment.platform.contract import NO_NUL, RULE_KEY
from garment.platform.errors import BAD_REQUEST, INTERNAL_ERROR, VALIDATION_FAILED, ErrorSpec
from garment.platform.http.problem import PROBLEM_MEDIA_TYPE, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# A header the chain requires but reads itself (so it can answer with its own code, in order).
# Not blank: a character other than the spaces HTTP strips around header values (SP, HTAB).
NOT_BLANK = r"[^ \t]"


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


def created(status: int, description: str, location: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` entry of a creating route that answers `Location` (the new resource)."""
    return {
        status: {
            "description": description,
            "headers": {
                "Location": {"description": location, "schema": {"type": "string"}},
            },
        }
    }


def describe(specs: Iterable[ErrorSpec]) -> str:
    return "; ".join(f"`{spec.code}`: {spec.message_en}" for spec in specs)


def install_openapi(
    app: FastAPI,
    *,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
    required_headers: Collection[str] = (),
) -> None:
    """`rules`: the JSON Schema keywords of each `rule(name)` marker. `required_headers`: header
    parameters documented as required and not blank wherever they appear, although their
    dependency reads them as optional to answer a missing one with its own error code."""
    filled = dict(rules or {})

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
        _apply_rules(schema, filled)
        _require_headers(schema, {name.lower() for name in required_headers})
        _refuse_nul_in_requests(schema)
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


def _apply_rules(node: Any, rules: Mapping[str, Mapping[str, Any]]) -> None:
    if isinstance(node, dict):
        name = node.pop(RULE_KEY, None)
        if name is not None:
            if name not in rules:
                raise KeyError(f"no OpenAPI rule {name!r}: pass it to install_openapi")
            node.update(rules[name])
        for value in node.values():
            _apply_rules(value, rules)
    elif isinstance(node, list):
        for item in node:
            _apply_rules(item, rules)


def _require_headers(schema: dict[str, Any], names: set[str]) -> None:
    if not names:
        return
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter["name"].lower() in names:
                    parameter["required"] = True
                    parameter["schema"] = _not_null(parameter["schema"])


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The string branch of an optional header's `anyOf [string, null]`, not blank."""
    branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
    chosen = {**branches[0], "minLength": 1, "pattern": NOT_BLANK}
    for key in ("description", "title"):
        if key in schema:
            chosen[key] = schema[key]
    return chosen


def _refuse_nul_in_requests(schema: dict[str, Any]) -> None:
    """State on every request string without a stricter pattern that U+0000 is refused (the
    server refuses it everywhere: `RequestBody`, and the database for query strings). Headers
    are left alone: HTTP itself cannot carry a NUL in a header."""
    components = schema.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _no_nul_strings(parameter.get("schema", {}), components, seen)
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                _no_nul_strings(media.get("schema", {}), components, seen)


def _no_nul_strings(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _no_nul_strings(item, components, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            _no_nul_strings(components.get(name, {}), components, seen)
        return
    if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & node.keys():
        node["pattern"] = NO_NUL
    for value in node.values():
        _no_nul_strings(value, components, seen)
