"""Xendit Invoices: callbacks verified by token (and HMAC when signed), the invoice API.

Verification. Every callback carries `x-callback-token`, the account's callback verification
token, compared in constant time with `billing.xendit.callback_token`. When a callback also
carries `x-callback-signature` and `x-callback-timestamp`, the signature must verify too; one of
the two without the other is a malformed header. Xendit's documentation in our reference
library does not describe that signature scheme, so this adapter assumes: lower-case (or
upper-case) hex of HMAC-SHA256 over `timestamp + "." + raw body`, keyed with the callback token,
the timestamp as the decimal digits sent. Check it against Xendit's current documentation before
relying on the signature; the token check alone is what Xendit documents. The token scheme signs
no time, so replays are stopped by the ingress's dedupe and by reconciliation, not here.

Mapping. `PAID` and `SETTLED` → succeeded, `EXPIRED` → expired, `PENDING` → pending; other
statuses are malformed. Xendit sends the invoice id as the callback `id` for every status change
of the invoice, so the event id is `"{id}:{status}"`: PAID and EXPIRED of one invoice are two
events, the same PAID delivered twice is one. Reference = `external_id`; amount = `paid_amount`,
else `amount`, whole rupiah (a fractional amount is malformed).

API (basic auth, the secret API key as user name, `billing.xendit.api_url`):
`POST /v2/invoices` creates an invoice (first looking for a usable one with the same external id,
so creating twice returns the same link), `GET /v2/invoices?external_id=` reads it,
`GET /v2/invoices?created_after=&created_before=&limit=` pages through recent invoices with
`last_invoice_id`. Invoices cannot be charged again: `retry_charge` is False.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from garment.central.billing.providers._support import (
    ALWAYS_SECRET_HEADERS,
    ApiClient,
    as_bytes,
    header,
    integer_amount,
    load_json,
    parse_time,
    plain_secret,
    text_field,
    utc_now,
)
from garment.central.billing.providers.base import (
    MalformedWebhook,
    PaymentEvent,
    PaymentEventKind,
    PaymentLink,
    PaymentRequest,
    ProviderError,
    RemotePayment,
    Verification,
    WebhookDelivery,
)
from garment.config import Settings

NAME = "xendit"
DEFAULT_API_URL = "https://api.xendit.co"
TOKEN_HEADER = "x-callback-token"
SIGNATURE_HEADER = "x-callback-signature"
TIMESTAMP_HEADER = "x-callback-timestamp"
PAGE_SIZE = 100
MAX_PAGES = 50

STATUSES: Mapping[str, PaymentEventKind] = {
    "PAID": PaymentEventKind.SUCCEEDED,
    "SETTLED": PaymentEventKind.SUCCEEDED,
    "EXPIRED": PaymentEventKind.EXPIRED,
    "PENDING": PaymentEventKind.PENDING,
}
# When several invoices share an external id, the one that says most about the payment wins.
_PREFERENCE = {
    PaymentEventKind.SUCCEEDED: 0,
    PaymentEventKind.PENDING: 1,
    PaymentEventKind.EXPIRED: 2,
}
_USABLE = frozenset({PaymentEventKind.SUCCEEDED, PaymentEventKind.PENDING})

_TIMESTAMP = re.compile(r"[0-9]{1,20}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def xendit_signature(callback_token: str, timestamp: str, body: bytes) -> str:
    """The assumed `x-callback-signature` (see the module docstring): hex HMAC-SHA256 of
    `timestamp + "." + body` keyed with the callback token."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(as_bytes(callback_token), message, hashlib.sha256).hexdigest()


class XenditProvider:
    """Xendit Invoices behind `PaymentProvider` (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        callback_token: str | None,
        api_key: str | None,
        api_url: str = DEFAULT_API_URL,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._callback_token = callback_token or None
        self._api_key = api_key or None
        self._api = ApiClient(
            NAME,
            api_url,
            username=self._api_key,
            timeout_seconds=timeout_seconds,
            setting="billing.xendit.api_key",
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> XenditProvider:
        section = settings.billing.xendit
        return cls(
            callback_token=plain_secret(section.callback_token),
            api_key=plain_secret(section.api_key),
            api_url=section.api_url,
            timeout_seconds=settings.billing.provider_timeout_seconds,
        )

    @property
    def configured(self) -> bool:
        """Callback token and API key both set; without the token every callback is refused."""
        return self._callback_token is not None and self._api_key is not None

    def secret_headers(self) -> frozenset[str]:
        return ALWAYS_SECRET_HEADERS | {TOKEN_HEADER}

    # Webhooks -------------------------------------------------------------------------------

    def verify(self, delivery: WebhookDelivery) -> Verification:
        if self._callback_token is None:
            return Verification.refused("not_configured")
        token = header(delivery.headers, TOKEN_HEADER)
        if token is None:
            return Verification.refused("missing_header")
        if not hmac.compare_digest(as_bytes(token), as_bytes(self._callback_token)):
            return Verification.refused("token_mismatch")
        signature = header(delivery.headers, SIGNATURE_HEADER)
        timestamp = header(delivery.headers, TIMESTAMP_HEADER)
        if signature is None and timestamp is None:
            return Verification.ok()
        if signature is None or timestamp is None:
            return Verification.refused("malformed_header")
        signature, timestamp = signature.strip(), timestamp.strip()
        if not _TIMESTAMP.fullmatch(timestamp) or not _HEX_SHA256.fullmatch(signature):
            return Verification.refused("malformed_header")
        expected = xendit_signature(self._callback_token, timestamp, delivery.body)
        if not hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("ascii")):
            return Verification.refused("signature_mismatch")
        return Verification.ok()

    def parse(self, delivery: WebhookDelivery) -> PaymentEvent:
        try:
            payload = load_json(delivery.body)
        except ValueError:
            raise MalformedWebhook("the Xendit callback body is not JSON") from None
        if not isinstance(payload, dict):
            raise MalformedWebhook("the Xendit callback body is not a JSON object")
        invoice_id = _required(payload, "id")
        reference = _required(payload, "external_id")
        status = _required(payload, "status")
        kind = STATUSES.get(status)
        if kind is None:
            raise MalformedWebhook(f"unknown Xendit invoice status {status[:40]!r}")
        raw_amount = payload.get("paid_amount", payload.get("amount"))
        try:
            amount = None if raw_amount is None else integer_amount(raw_amount)
        except ValueError:
            raise MalformedWebhook("the Xendit amount is not whole rupiah") from None
        occurred_at = (
            parse_time(payload.get("paid_at")) if kind is PaymentEventKind.SUCCEEDED else None
        )
        occurred_at = occurred_at or parse_time(payload.get("updated"))
        return PaymentEvent(
            provider=NAME,
            event_id=f"{invoice_id}:{status}",
            kind=kind,
            reference=reference,
            amount=amount,
            occurred_at=occurred_at,
            raw_status=status,
            provider_reference=invoice_id,
        )

    # API ------------------------------------------------------------------------------------

    async def create_payment(self, request: PaymentRequest) -> PaymentLink:
        existing = [
            invoice
            for invoice in await self._invoices(request.reference)
            if invoice.status in _USABLE and invoice.extra.get("invoice_url")
        ]
        if existing:
            return _link(min(existing, key=lambda invoice: _PREFERENCE[invoice.status]))
        body: dict[str, Any] = {
            "external_id": request.reference,
            "amount": request.amount,
            "currency": "IDR",
            "description": request.description,
            "payer_email": request.customer_email,
        }
        if request.customer_name:
            body["customer"] = {
                "given_names": request.customer_name,
                "email": request.customer_email,
            }
        if request.success_url:
            body["success_redirect_url"] = request.success_url
        if request.expires_at is not None:
            seconds = int((request.expires_at - utc_now()).total_seconds())
            if seconds < 1:
                raise ProviderError("xendit: the payment's expiry is already past")
            body["invoice_duration"] = seconds
        _, data = await self._api.call("POST", "/v2/invoices", body=body)
        invoice = self._remote(data)
        if not invoice.extra.get("invoice_url"):
            raise ProviderError("xendit: POST /v2/invoices answered an invoice without a URL")
        return _link(invoice)

    async def fetch_payment(self, reference: str) -> RemotePayment | None:
        invoices = await self._invoices(reference)
        if not invoices:
            return None
        # Newest first (Xendit's order); the most telling status wins, ties go to the newest.
        return min(invoices, key=lambda invoice: _PREFERENCE.get(invoice.status, 3))

    async def list_payments(self, since: datetime) -> list[RemotePayment]:
        params: dict[str, str | int] = {
            "created_after": _iso(since),
            "created_before": _iso(utc_now()),
            "limit": PAGE_SIZE,
        }
        found: list[RemotePayment] = []
        for _ in range(MAX_PAGES):
            _, data = await self._api.call("GET", "/v2/invoices", params=params)
            page = self._page(data, "GET /v2/invoices")
            found.extend(page)
            if len(page) < PAGE_SIZE:
                return found
            params["last_invoice_id"] = page[-1].provider_reference
        raise ProviderError(
            f"xendit: more than {MAX_PAGES * PAGE_SIZE} invoices since {since:%Y-%m-%d}"
        )

    async def retry_charge(self, reference: str) -> bool:
        return False  # an invoice is paid by the customer; there is nothing to charge again

    async def _invoices(self, reference: str) -> list[RemotePayment]:
        status, data = await self._api.call(
            "GET", "/v2/invoices", params={"external_id": reference}, accept=(200, 404)
        )
        if status == 404:
            return []
        return self._page(data, "GET /v2/invoices")

    def _page(self, data: Any, where: str) -> list[RemotePayment]:
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            raise ProviderError(f"xendit: {where} answered something that is not a list")
        return [self._remote(item) for item in data]

    def _remote(self, data: Any) -> RemotePayment:
        if not isinstance(data, dict):
            raise ProviderError("xendit: an invoice in the answer is not an object")
        invoice_id = text_field(data, "id")
        reference = text_field(data, "external_id")
        status = text_field(data, "status")
        if invoice_id is None or reference is None or status is None:
            raise ProviderError("xendit: an invoice in the answer lacks id, external_id or status")
        kind = STATUSES.get(status)
        if kind is None:
            raise ProviderError(f"xendit: an invoice has the unknown status {status[:40]!r}")
        raw_amount = data.get("paid_amount", data.get("amount"))
        try:
            amount = None if raw_amount is None else integer_amount(raw_amount)
        except ValueError:
            raise ProviderError("xendit: an invoice amount is not whole rupiah") from None
        extra = {
            key: value
            for key in ("invoice_url", "expiry_date", "payment_method", "payment_channel")
            if (value := text_field(data, key)) is not None
        }
        extra["status"] = status
        return RemotePayment(
            provider=NAME,
            reference=reference,
            provider_reference=invoice_id,
            status=kind,
            amount=amount,
            paid_at=parse_time(data.get("paid_at")),
            extra=extra,
        )


def _link(invoice: RemotePayment) -> PaymentLink:
    return PaymentLink(
        provider=NAME,
        provider_reference=invoice.provider_reference,
        url=invoice.extra["invoice_url"],
        expires_at=parse_time(invoice.extra.get("expiry_date")),
    )


def _required(payload: Mapping[str, Any], name: str) -> str:
    value = text_field(payload, name)
    if value is None:
        raise MalformedWebhook(f"the Xendit callback has no `{name}`")
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
