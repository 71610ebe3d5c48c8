"""Project lint: every error code is UPPER_SNAKE with distinct Indonesian and English text."""

from __future__ import annotations

import re

import garment.app  # noqa: F401  (imports every context, so every code is registered)
from garment.platform.context import Locale
from garment.platform.errors import (
    AUTH_ACCOUNT_LOCKED,
    define_error,
    registered_errors,
    spec_for_status,
)

SPEC_05_CODES = {
    "VALIDATION_FAILED": 422,
    "AUTH_INVALID_CREDENTIALS": 401,
    "AUTH_ACCOUNT_LOCKED": 423,
    "AUTH_EMAIL_NOT_VERIFIED": 403,
    "AUTH_MFA_REQUIRED": 401,
    "AUTH_TOKEN_MISSING": 401,
    "AUTH_TOKEN_INVALID": 401,
    "AUTH_TOKEN_EXPIRED": 401,
    "AUTH_REFRESH_INVALID": 401,
    "AUTH_REFRESH_REPLAYED": 401,
    "AUTH_FINGERPRINT_MISMATCH": 401,
    "AUTH_SESSION_REVOKED": 401,
    "TENANT_HEADER_MISSING": 400,
    "TENANT_NOT_FOUND": 404,
    "TENANT_CONTEXT_MISMATCH": 403,
    "TENANT_ACCESS_DENIED": 403,
    "TENANT_PROVISIONING": 409,
    "TENANT_SUSPENDED": 402,
    "TENANT_CANCELLED": 410,
    "PLAN_LIMIT_REACHED": 402,
    "PERMISSION_DENIED": 403,
    "RESOURCE_NOT_FOUND": 404,
    "CONFLICT": 409,
    "INVALID_STATE_TRANSITION": 409,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "RATE_LIMITED": 429,
    "WEBHOOK_SIGNATURE_INVALID": 401,
    "CLUSTER_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}


def test_spec_catalogue_is_complete_with_spec_statuses() -> None:
    registered = {spec.code: spec.status for spec in registered_errors()}
    for code, status in SPEC_05_CODES.items():
        assert registered.get(code) == status, code


def test_every_code_speaks_both_languages() -> None:
    for spec in registered_errors():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", spec.code)
        assert spec.message_id.strip() and spec.message_en.strip(), spec.code
        assert spec.message_id != spec.message_en, f"{spec.code} is not translated"
        assert spec.fe_action.strip(), spec.code
        placeholders_id = set(re.findall(r"{(\w+)}", spec.message_id))
        placeholders_en = set(re.findall(r"{(\w+)}", spec.message_en))
        assert placeholders_id == placeholders_en, spec.code


def test_missing_parameters_read_naturally_instead_of_leaking_placeholders() -> None:
    assert AUTH_ACCOUNT_LOCKED.message(Locale.EN, {}).endswith("Try again in a few seconds.")
    assert AUTH_ACCOUNT_LOCKED.message(Locale.ID, {}).endswith("Coba lagi dalam beberapa detik.")
    assert "30" in AUTH_ACCOUNT_LOCKED.message(Locale.ID, {"retry_after": 30})
    for spec in registered_errors():
        for locale in Locale:
            assert "{" not in spec.message(locale), spec.code


def test_redefining_a_code_with_another_status_fails() -> None:
    try:
        define_error("CONFLICT", 400, id="x", en="y", action="z")
    except ValueError:
        return
    raise AssertionError("expected ValueError")


def test_framework_statuses_map_to_codes() -> None:
    assert spec_for_status(404).code == "RESOURCE_NOT_FOUND"
    assert spec_for_status(405).code == "METHOD_NOT_ALLOWED"
    assert spec_for_status(418).code == "BAD_REQUEST"
    assert spec_for_status(502).code == "INTERNAL_ERROR"
