"""What the adapters share: JSON without floats, integer rupiah, times, and one HTTP call with
errors that never carry a secret."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from pydantic import SecretStr

from garment.central.billing.providers.base import ProviderError

_DECIMAL = re.compile(r"\d{1,18}(?:\.\d{1,6})?")
_DETAIL = re.compile(r"[^A-Za-z0-9 _.,:;()'/*-]+")
MAX_DETAIL = 120
ALWAYS_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number we accept")


def load_json(raw: bytes) -> Any:
    """Parse JSON with every fractional number as `Decimal` (money never becomes a float);
    NaN and Infinity are refused. Raises `ValueError` (also for bytes that are not UTF-8)."""
    return json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)


def integer_amount(value: object) -> int:
    """Integer rupiah from a provider's amount: an int, an integral Decimal (a JSON number with
    a fraction of zero) or a decimal string (`"145000"`, `"145000.00"`). Negative, fractional
    (`"145000.50"`), boolean and other values raise `ValueError`."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = Decimal(value)
    else:
        raise ValueError("not an amount")
    try:
        integral = number == number.to_integral_value()
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc
    if not number.is_finite() or number < 0 or not integral:
        raise ValueError("not a whole, non-negative amount")
    return int(number)


def parse_time(value: object, *, naive_offset: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 time as aware UTC; a time without an offset is read in `naive_offset`.
    None for anything else (times are informational: a bad one never refuses a payment)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_offset)
    return parsed.astimezone(UTC)


def as_bytes(value: str) -> bytes:
    """Header values as bytes for `hmac.compare_digest`, which refuses non-ASCII str."""
    return value.encode("utf-8", "surrogatepass")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-cased name (deliveries carry lower-cased names; any other case
    is tolerated)."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def text_field(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return value if isinstance(value, str) and value else None


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its basic-auth encoding) replaced by `***`."""
    for secret in secrets:
        if not secret:
            continue
        encoded = base64.b64encode(f"{secret}:".encode()).decode()
        text = text.replace(secret, "***").replace(encoded, "***")
    return text


class ApiClient:
    """One provider API: basic auth with a secret user name, a timeout, JSON both ways.
    A client is opened per call: billing calls providers a few times per invoice, and no
    connection pool outlives its event loop."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        username: str | None,
        timeout_seconds: float,
        setting: str,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._username = username
        self.timeout_seconds = timeout_seconds
        self._setting = setting  # the setting to name when the credential is missing

    @property
    def has_credentials(self) -> bool:
        return bool(self._username)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        accept: Iterable[int] = (200, 201),
    ) -> tuple[int, Any]:
        """(status, parsed JSON) for a status in `accept`; anything else, a timeout or a
        network failure raises `ProviderError` naming the call, never a secret."""
        if not self._username:
            raise ProviderError(f"{self.provider}: {self._setting} is not configured")
        where = f"{method} {path}"
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url,
                auth=httpx.BasicAuth(self._username, ""),
                timeout=self.timeout_seconds,
                headers={"accept": "application/json"},
            ) as client:
                response = await client.request(method, path, params=params, json=body)
        except httpx.TimeoutException:
            raise ProviderError(
                f"{self.provider}: {where} timed out after {self.timeout_seconds:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"{self.provider}: {where} failed ({type(exc).__name__})") from None
        status = response.status_code
        if status not in set(accept):
            raise ProviderError(self._refusal(where, response))
        try:
            return status, load_json(response.content)
        except ValueError:
            raise ProviderError(
                f"{self.provider}: {where} answered {status} with a body that is not JSON"
            ) from None

    def _refusal(self, where: str, response: httpx.Response) -> str:
        status = response.status_code
        if status in (401, 403):
            return f"{self.provider}: {where} answered {status}: the credentials were refused"
        if status >= 500:
            return f"{self.provider}: {where} answered {status}"
        detail = self._detail(response)
        return f"{self.provider}: {where} answered {status}" + (f": {detail}" if detail else "")

    def _detail(self, response: httpx.Response) -> str:
        """The provider's own error code/message, cleaned, shortened and scrubbed."""
        try:
            payload = load_json(response.content)
        except ValueError:
            return ""
        if not isinstance(payload, dict):
            return ""
        parts: list[str] = []
        for key in ("error_code", "status_code", "message", "status_message", "error_messages"):
            value = payload.get(key)
            if isinstance(value, list):
                value = "; ".join(str(item) for item in value[:3])
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                parts.append(str(value))
        scrubbed = scrub(" ".join(parts), [self._username or ""])
        return _DETAIL.sub(" ", scrubbed).strip()[:MAX_DETAIL]


def plain_secret(value: SecretStr | None) -> str | None:
    """The plain value of an optional secret setting; blank is unset."""
    if value is None:
        return None
    return value.get_secret_value().strip() or None


def utc_now() -> datetime:
    return datetime.now(UTC)
