"""RFC 9457 problem details: the one shape every error response has.

Members: `type` (a link into the served error catalogue), `title`, `status`, `detail` (localized),
`instance` (the request path), and our extensions `code`, `request_id` and, for validation,
`errors` (field -> messages). Never a stack trace, SQL or secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from garment.platform.context import Locale, current_context
from garment.platform.errors import AppError, ErrorSpec

PROBLEM_MEDIA_TYPE = "application/problem+json"
ERROR_CATALOGUE_PATH = "/api/v1/meta/errors"


class Problem(BaseModel):
    """Problem details (RFC 9457) with Garment.id extension members."""

    type: str = Field(description="Link to this code in the error catalogue.")
    title: str = Field(description="Short English summary of the code.")
    status: int
    detail: str = Field(description="Human message in the request's locale (id or en).")
    instance: str | None = Field(None, description="Path of the request that failed.")
    code: str = Field(description="Stable UPPER_SNAKE error code; branch on this.")
    request_id: str = Field(description="Equals the X-Request-ID response header.")
    errors: dict[str, list[str]] | None = Field(
        None, description="VALIDATION_FAILED only: field path -> messages."
    )


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_body(
    spec: ErrorSpec,
    *,
    instance: str | None,
    params: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, Any] | None = None,
    status: int | None = None,
) -> dict[str, Any]:
    context = current_context()
    merged = {"request_id": context.request_id, **(params or {})}
    body: dict[str, Any] = {
        "type": f"{ERROR_CATALOGUE_PATH}#{spec.code}",
        "title": spec.title,
        "status": status or spec.status,
        "detail": spec.message(context.locale, merged),
        "instance": instance,
        "code": spec.code,
        "request_id": context.request_id,
    }
    if errors:
        body["errors"] = dict(errors)
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return body


def problem_response(
    spec: ErrorSpec,
    *,
    instance: str | None,
    params: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    status: int | None = None,
) -> ProblemResponse:
    body = problem_body(
        spec, instance=instance, params=params, errors=errors, extra=extra, status=status
    )
    response_headers = {"Content-Language": current_context().locale.value, **(headers or {})}
    retry_after = (params or {}).get("retry_after")
    if retry_after is not None and "Retry-After" not in response_headers:
        response_headers["Retry-After"] = str(retry_after)
    return ProblemResponse(body, status_code=body["status"], headers=response_headers)


def app_error_response(error: AppError, instance: str | None) -> ProblemResponse:
    return problem_response(
        error.spec,
        instance=instance,
        params=error.params,
        errors=error.errors,
        extra=error.extra,
        headers=error.headers,
    )


# Indonesian for the validation messages a front end shows most; anything else falls back to
# pydantic's English text, which is still better than nothing.
_VALIDATION_ID: dict[str, str] = {
    "missing": "Wajib diisi.",
    "string_too_short": "Minimal {min_length} karakter.",
    "string_too_long": "Maksimal {max_length} karakter.",
    "string_type": "Harus berupa teks.",
    "string_pattern_mismatch": "Format tidak sesuai.",
    "int_parsing": "Harus berupa bilangan bulat.",
    "int_type": "Harus berupa bilangan bulat.",
    "bool_parsing": "Harus bernilai true atau false.",
    "greater_than": "Harus lebih besar dari {gt}.",
    "greater_than_equal": "Minimal {ge}.",
    "less_than": "Harus lebih kecil dari {lt}.",
    "less_than_equal": "Maksimal {le}.",
    "uuid_parsing": "Harus berupa UUID yang valid.",
    "uuid_type": "Harus berupa UUID yang valid.",
    "enum": "Harus salah satu dari: {expected}.",
    "literal_error": "Harus salah satu dari: {expected}.",
    "json_invalid": "JSON tidak valid.",
    "value_error": "Nilai tidak valid.",
    "model_attributes_type": "Harus berupa objek JSON.",
    "dict_type": "Harus berupa objek JSON.",
    "list_type": "Harus berupa daftar.",
    "datetime_parsing": "Harus berupa waktu RFC 3339.",
    "datetime_from_date_parsing": "Harus berupa waktu RFC 3339.",
    "date_parsing": "Harus berupa tanggal (YYYY-MM-DD).",
    "extra_forbidden": "Kolom ini tidak dikenal.",
}


def validation_field_errors(
    raw_errors: Sequence[Mapping[str, Any]], locale: Locale
) -> dict[str, list[str]]:
    """pydantic/FastAPI errors as `{"body.email": ["..."]}` in the request's locale."""
    fields: dict[str, list[str]] = {}
    for error in raw_errors:
        location = ".".join(str(part) for part in error.get("loc", ())) or "body"
        fields.setdefault(location, []).append(_validation_message(error, locale))
    return fields


def _validation_message(error: Mapping[str, Any], locale: Locale) -> str:
    english = str(error.get("msg", "Invalid value."))
    if locale is Locale.EN:
        return english
    template = _VALIDATION_ID.get(str(error.get("type")))
    if template is None:
        return english
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return template
