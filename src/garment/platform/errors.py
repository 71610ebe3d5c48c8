"""The error catalogue and the one exception type every layer raises.

Each code has one HTTP status, an Indonesian and an English message and the action the front end
takes (chapter 21 of the guide). `GET /api/v1/meta/errors` serves this registry and
`docs/21-fe-error-matrix.md` is generated from it, so the contract cannot drift from the code.
Messages may name parameters (`{retry_after}`) that the raiser supplies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from garment.platform.context import Locale
from garment.platform.i18n import Message


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: str
    status: int
    message_id: str
    message_en: str
    fe_action: str
    title: str

    def message(self, locale: Locale, params: Mapping[str, Any] | None = None) -> str:
        template = self.message_id if locale is Locale.ID else self.message_en
        try:
            return template.format_map(_ParamsWithFallback(params or {}, locale))
        except (IndexError, ValueError):
            # A malformed parameter must never turn an expected error into a 500.
            return template


# What a message says when its raiser (or the framework) gave no value for a parameter.
_PARAM_FALLBACKS = {"retry_after": ("beberapa", "a few")}


class _ParamsWithFallback(dict[str, Any]):
    def __init__(self, params: Mapping[str, Any], locale: Locale) -> None:
        super().__init__(params)
        self.locale = locale

    def __missing__(self, key: str) -> str:
        indonesian, english = _PARAM_FALLBACKS.get(key, ("…", "…"))
        return indonesian if self.locale is Locale.ID else english


_REGISTRY: dict[str, ErrorSpec] = {}


def define_error(
    code: str, status: int, *, id: str, en: str, action: str, title: str | None = None
) -> ErrorSpec:
    """Register a code once; contexts call this at import time for their own codes."""
    if code in _REGISTRY:
        existing = _REGISTRY[code]
        if existing.status != status:
            raise ValueError(f"error code {code} registered twice with different statuses")
        return existing
    if not code.isupper() or " " in code:
        raise ValueError(f"error code {code!r} must be UPPER_SNAKE")
    spec = ErrorSpec(
        code=code,
        status=status,
        message_id=id,
        message_en=en,
        fe_action=action,
        title=title or code.replace("_", " ").capitalize(),
    )
    _REGISTRY[code] = spec
    return spec


def registered_errors() -> list[ErrorSpec]:
    return sorted(_REGISTRY.values(), key=lambda spec: (spec.status, spec.code))


def get_error(code: str) -> ErrorSpec:
    return _REGISTRY[code]


class AppError(Exception):
    """An expected failure: rendered as problem+json, logged as a warning, never as a crash."""

    def __init__(
        self,
        spec: ErrorSpec,
        *,
        params: Mapping[str, Any] | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(spec.code)
        self.spec = spec
        # Security outcomes (a revoked token family, a lockout counter, an activity row) must
        # persist even though the caller receives an error: the transaction commits instead of
        # rolling back when this is set.
        self.keep_changes = keep_changes
        self.params = dict(params or {})
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def status(self) -> int:
        return self.spec.status

    def __repr__(self) -> str:
        return f"AppError({self.spec.code}, params={self.params!r})"


class CommandError(Exception):
    """An expected failure of an operator command: printed as one line, exit code 1."""


@dataclass(slots=True)
class FieldErrors:
    """Collects field → messages for a VALIDATION_FAILED raised by a service."""

    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, field_name: str, message: Message | str, **params: Any) -> None:
        text = message.render(**params) if isinstance(message, Message) else message
        self.errors.setdefault(field_name, []).append(text)

    def raise_if_any(self) -> None:
        if self.errors:
            raise AppError(VALIDATION_FAILED, errors=self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)


def invalid(field_name: str, message: Message, **params: Any) -> AppError:
    """A VALIDATION_FAILED naming one field (the service-side twin of pydantic's 422)."""
    problems = FieldErrors()
    problems.add(field_name, message, **params)
    return AppError(VALIDATION_FAILED, errors=problems.errors)


def codes(specs: Iterable[ErrorSpec]) -> list[str]:
    return [spec.code for spec in specs]


# --- the platform catalogue (spec 05); contexts add theirs with define_error -------------------

VALIDATION_FAILED = define_error(
    "VALIDATION_FAILED",
    422,
    id="Data yang dikirim tidak valid. Periksa kolom yang ditandai.",
    en="The submitted data is invalid. Check the highlighted fields.",
    action="Show the field errors next to their inputs.",
)
BAD_REQUEST = define_error(
    "BAD_REQUEST",
    400,
    id="Permintaan tidak dapat diproses.",
    en="The request could not be processed.",
    action="Show the message; fix the client request.",
)
AUTH_INVALID_CREDENTIALS = define_error(
    "AUTH_INVALID_CREDENTIALS",
    401,
    id="Email atau kata sandi salah.",
    en="Incorrect email or password.",
    action="Show the message on the login form.",
)
AUTH_ACCOUNT_LOCKED = define_error(
    "AUTH_ACCOUNT_LOCKED",
    423,
    id="Terlalu banyak percobaan masuk. Coba lagi dalam {retry_after} detik.",
    en="Too many sign-in attempts. Try again in {retry_after} seconds.",
    action="Show the wait time from Retry-After; disable the form until then.",
)
AUTH_EMAIL_NOT_VERIFIED = define_error(
    "AUTH_EMAIL_NOT_VERIFIED",
    403,
    id="Email Anda belum diverifikasi.",
    en="Your email address is not verified yet.",
    action="Go to the verification page (offer to resend the mail).",
)
AUTH_MFA_REQUIRED = define_error(
    "AUTH_MFA_REQUIRED",
    401,
    id="Masukkan kode verifikasi dua langkah.",
    en="Enter your two-step verification code.",
    action="Go to the MFA step with the challenge id from the response.",
)
AUTH_TOKEN_MISSING = define_error(
    "AUTH_TOKEN_MISSING",
    401,
    id="Anda harus masuk terlebih dahulu.",
    en="You need to sign in first.",
    action="Log out locally and go to the login page.",
)
AUTH_TOKEN_INVALID = define_error(
    "AUTH_TOKEN_INVALID",
    401,
    id="Token akses tidak valid.",
    en="The access token is invalid.",
    action="Log out locally and go to the login page.",
)
AUTH_TOKEN_EXPIRED = define_error(
    "AUTH_TOKEN_EXPIRED",
    401,
    id="Token akses sudah kedaluwarsa.",
    en="The access token has expired.",
    action="Refresh once with the refresh token, then retry the request.",
)
AUTH_REFRESH_INVALID = define_error(
    "AUTH_REFRESH_INVALID",
    401,
    id="Sesi Anda sudah berakhir. Silakan masuk kembali.",
    en="Your session has ended. Please sign in again.",
    action="Log out locally and go to the login page.",
)
AUTH_REFRESH_REPLAYED = define_error(
    "AUTH_REFRESH_REPLAYED",
    401,
    id="Sesi dihentikan karena token lama dipakai ulang. Silakan masuk kembali.",
    en="The session was stopped because an old token was reused. Please sign in again.",
    action="Log out everywhere and show a security notice.",
)
AUTH_FINGERPRINT_MISMATCH = define_error(
    "AUTH_FINGERPRINT_MISMATCH",
    401,
    id="Sesi dihentikan karena perangkat tidak cocok. Silakan masuk kembali.",
    en="The session was stopped because the device does not match. Please sign in again.",
    action="Log out and show a security notice.",
)
AUTH_SESSION_REVOKED = define_error(
    "AUTH_SESSION_REVOKED",
    401,
    id="Sesi ini sudah dihentikan. Silakan masuk kembali.",
    en="This session has been revoked. Please sign in again.",
    action="Log out locally and go to the login page.",
)
TENANT_HEADER_MISSING = define_error(
    "TENANT_HEADER_MISSING",
    400,
    id="Pilih usaha (tenant) terlebih dahulu.",
    en="Select a business (tenant) first.",
    action="Open the tenant picker.",
)
TENANT_NOT_FOUND = define_error(
    "TENANT_NOT_FOUND",
    404,
    id="Usaha (tenant) tidak ditemukan.",
    en="Business (tenant) not found.",
    action="Reset the tenant context and open the tenant picker.",
)
TENANT_CONTEXT_MISMATCH = define_error(
    "TENANT_CONTEXT_MISMATCH",
    403,
    id="Token tidak berlaku untuk usaha (tenant) yang dipilih.",
    en="The token is not valid for the selected business (tenant).",
    action="Reset the tenant context and select the tenant again.",
)
TENANT_ACCESS_DENIED = define_error(
    "TENANT_ACCESS_DENIED",
    403,
    id="Anda bukan anggota aktif usaha (tenant) ini.",
    en="You are not an active member of this business (tenant).",
    action="Open the tenant picker.",
)
TENANT_PROVISIONING = define_error(
    "TENANT_PROVISIONING",
    409,
    id="Usaha (tenant) sedang disiapkan. Coba lagi sebentar lagi.",
    en="The business (tenant) is being prepared. Try again shortly.",
    action='Show "preparing" and poll.',
)
TENANT_SUSPENDED = define_error(
    "TENANT_SUSPENDED",
    402,
    id="Layanan usaha (tenant) ini sedang ditangguhkan. Selesaikan tagihan untuk melanjutkan.",
    en="This business (tenant) is suspended. Settle billing to continue.",
    action="Go to billing.",
)
TENANT_CANCELLED = define_error(
    "TENANT_CANCELLED",
    410,
    id="Usaha (tenant) ini sudah ditutup.",
    en="This business (tenant) has been closed.",
    action="Open the tenant picker.",
)
PLAN_LIMIT_REACHED = define_error(
    "PLAN_LIMIT_REACHED",
    402,
    id="Batas paket Anda tercapai ({limit}: {usage} dari {maximum}).",
    en="Your plan limit is reached ({limit}: {usage} of {maximum}).",
    action="Show an upgrade prompt with the limit and usage.",
)
PERMISSION_DENIED = define_error(
    "PERMISSION_DENIED",
    403,
    id="Anda tidak memiliki izin untuk tindakan ini.",
    en="You do not have permission for this action.",
    action="Hide or disable the action.",
)
RESOURCE_NOT_FOUND = define_error(
    "RESOURCE_NOT_FOUND",
    404,
    id="Data yang diminta tidak ditemukan.",
    en="The requested resource was not found.",
    action="Show a not-found state.",
)
METHOD_NOT_ALLOWED = define_error(
    "METHOD_NOT_ALLOWED",
    405,
    id="Metode HTTP ini tidak didukung untuk alamat tersebut.",
    en="This HTTP method is not supported for that address.",
    action="Fix the client request (a programming error).",
)
NOT_ACCEPTABLE = define_error(
    "NOT_ACCEPTABLE",
    406,
    id="Format respons yang diminta tidak tersedia.",
    en="The requested response format is not available.",
    action="Fix the client request (a programming error).",
)
CONFLICT = define_error(
    "CONFLICT",
    409,
    id="Data sudah diubah atau sudah ada. Muat ulang lalu coba lagi.",
    en="The data was changed or already exists. Reload and try again.",
    action="Reload the resource.",
)
INVALID_STATE_TRANSITION = define_error(
    "INVALID_STATE_TRANSITION",
    409,
    id="Perubahan status dari {current} ke {target} tidak diizinkan.",
    en="Changing the status from {current} to {target} is not allowed.",
    action="Reload the resource.",
)
REQUEST_TOO_LARGE = define_error(
    "REQUEST_TOO_LARGE",
    413,
    id="Data yang dikirim terlalu besar.",
    en="The request body is too large.",
    action="Show the message; send less data.",
)
REQUEST_HEADERS_TOO_LARGE = define_error(
    "REQUEST_HEADERS_TOO_LARGE",
    431,
    id="Header permintaan terlalu besar.",
    en="The request headers are too large.",
    action="Fix the client request: drop oversized cookies or headers.",
)
UNSUPPORTED_MEDIA_TYPE = define_error(
    "UNSUPPORTED_MEDIA_TYPE",
    415,
    id="Format data tidak didukung; kirim JSON.",
    en="Unsupported content type; send JSON.",
    action="Fix the client request (a programming error).",
)
IDEMPOTENCY_KEY_REUSED = define_error(
    "IDEMPOTENCY_KEY_REUSED",
    422,
    id="Idempotency-Key sudah dipakai untuk permintaan yang berbeda.",
    en="The Idempotency-Key was already used for a different request.",
    action="Generate a new key and resubmit.",
)
RATE_LIMITED = define_error(
    "RATE_LIMITED",
    429,
    id="Terlalu banyak permintaan. Coba lagi dalam {retry_after} detik.",
    en="Too many requests. Try again in {retry_after} seconds.",
    action="Wait for Retry-After, then retry.",
)
WEBHOOK_SIGNATURE_INVALID = define_error(
    "WEBHOOK_SIGNATURE_INVALID",
    401,
    id="Tanda tangan webhook tidak valid.",
    en="The webhook signature is invalid.",
    action="(Provider-facing) the provider retries; investigate with the forensic record.",
)
INTERNAL_ERROR = define_error(
    "INTERNAL_ERROR",
    500,
    id="Terjadi kesalahan pada server. Sebutkan kode permintaan {request_id} ke tim dukungan.",
    en="Something went wrong on our side. Quote request id {request_id} to support.",
    action="Show a generic message with the request id.",
)
SERVICE_UNAVAILABLE = define_error(
    "SERVICE_UNAVAILABLE",
    503,
    id="Layanan sedang tidak tersedia. Coba lagi dalam {retry_after} detik.",
    en="The service is unavailable. Try again in {retry_after} seconds.",
    action="Retry after Retry-After.",
)
CLUSTER_UNAVAILABLE = define_error(
    "CLUSTER_UNAVAILABLE",
    503,
    id="Basis data usaha Anda sedang tidak dapat dihubungi. Coba lagi dalam {retry_after} detik.",
    en="Your business database cannot be reached right now. Try again in {retry_after} seconds.",
    action="Retry after Retry-After.",
)

# Statuses the framework itself produces, mapped to a catalogue code.
STATUS_FALLBACKS: dict[int, ErrorSpec] = {
    400: BAD_REQUEST,
    401: AUTH_TOKEN_MISSING,
    403: PERMISSION_DENIED,
    404: RESOURCE_NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    406: NOT_ACCEPTABLE,
    409: CONFLICT,
    413: REQUEST_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    422: VALIDATION_FAILED,
    429: RATE_LIMITED,
    500: INTERNAL_ERROR,
    503: SERVICE_UNAVAILABLE,
}


def spec_for_status(status: int) -> ErrorSpec:
    if status in STATUS_FALLBACKS:
        return STATUS_FALLBACKS[status]
    return BAD_REQUEST if 400 <= status < 500 else INTERNAL_ERROR
