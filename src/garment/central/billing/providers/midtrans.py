"""Midtrans Snap: notifications verified by their SHA-512 `signature_key`, Snap and Core API.

Verification. A notification's body carries `signature_key` = lower-case hex SHA-512 of
`order_id + status_code + gross_amount + server_key`, each the exact string received: Midtrans
sends `gross_amount` as `"145000.00"`, and a signature over `"145000"` does not verify it. The
comparison is constant-time. A body that is not a JSON object with those fields as strings is
`malformed_body`; no `signature_key` is `missing_signature`; one that is not 128 hex digits is
`malformed_signature`. Midtrans signs no delivery time: replays are stopped by the ingress's
dedupe and by reconciliation.

Mapping (`transaction_status`, and `fraud_status` for card captures): `settlement` → succeeded;
`capture` with `accept` → succeeded, with `deny` → failed, with `challenge` (or none) → pending
(a merchant decides in the dashboard; the decision arrives as another notification); `deny`,
`cancel`, `failure` → failed; `expire` → expired; `pending` and `authorize` → pending; `refund`
and `partial_refund` → refunded. Other statuses are malformed. Midtrans notifies every status of
one transaction with the same `transaction_id`, so the event id is
`"{transaction_id}:{transaction_status}"`, plus `:{fraud_status}` for a capture (challenge, then
accept, are two events) and `:{refund_amount}` for refunds (each partial refund is an event).
Reference = `order_id`; amount = `gross_amount` in whole rupiah (`"145000.00"` → 145000, a
fraction such as `"145000.50"` is malformed). Times (`settlement_time`, `transaction_time`) are
Jakarta time (UTC+7) without an offset.

API (basic auth, the server key as user name): Snap `POST {snap_url}/snap/v1/transactions`
creates the payment page; Core API `GET {api_url}/v2/{order_id}/status` reads a transaction
(Midtrans answers an unknown order with status code 404, in the body or the HTTP status: None).
Midtrans refuses a second Snap transaction for an order id it has seen, and it cannot give back
an earlier Snap URL: billing keeps the link it was given. Midtrans has no "list transactions
since" API, so `list_payments` returns [] (reconciliation checks Midtrans invoice by invoice
with `fetch_payment`). Snap payments cannot be charged again: `retry_charge` is False.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from garment.central.billing.providers._support import (
    ALWAYS_SECRET_HEADERS,
    ApiClient,
    as_bytes,
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

NAME = "midtrans"
DEFAULT_API_URL = "https://api.sandbox.midtrans.com"
DEFAULT_SNAP_URL = "https://app.sandbox.midtrans.com"
JAKARTA = timezone(timedelta(hours=7), "WIB")
MAX_ITEM_NAME = 50  # Midtrans truncates item names longer than this

STATUSES: Mapping[str, PaymentEventKind] = {
    "settlement": PaymentEventKind.SUCCEEDED,
    "deny": PaymentEventKind.FAILED,
    "cancel": PaymentEventKind.FAILED,
    "failure": PaymentEventKind.FAILED,
    "expire": PaymentEventKind.EXPIRED,
    "pending": PaymentEventKind.PENDING,
    "authorize": PaymentEventKind.PENDING,
    "refund": PaymentEventKind.REFUNDED,
    "partial_refund": PaymentEventKind.REFUNDED,
}
CAPTURE_FRAUD_STATUSES: Mapping[str, PaymentEventKind] = {
    "accept": PaymentEventKind.SUCCEEDED,
    "deny": PaymentEventKind.FAILED,
    "challenge": PaymentEventKind.PENDING,
}

_HEX_SHA512 = re.compile(r"[0-9a-fA-F]{128}")
_SIGNED_FIELDS = ("order_id", "status_code", "gross_amount")


def midtrans_signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """`signature_key` of a notification: hex SHA-512 of the four strings concatenated."""
    message = order_id + status_code + gross_amount + server_key
    return hashlib.sha512(as_bytes(message)).hexdigest()


def midtrans_kind(transaction_status: str, fraud_status: str | None) -> PaymentEventKind:
    """The event a Midtrans status means; `ValueError` for a status we do not know."""
    if transaction_status == "capture":
        if fraud_status is None:
            return PaymentEventKind.PENDING
        kind = CAPTURE_FRAUD_STATUSES.get(fraud_status)
        if kind is None:
            raise ValueError(f"unknown Midtrans fraud status {fraud_status[:40]!r}")
        return kind
    kind = STATUSES.get(transaction_status)
    if kind is None:
        raise ValueError(f"unknown Midtrans transaction status {transaction_status[:40]!r}")
    return kind


class MidtransProvider:
    """Midtrans Snap behind `PaymentProvider` (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        *,
        server_key: str | None,
        api_url: str = DEFAULT_API_URL,
        snap_url: str = DEFAULT_SNAP_URL,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._server_key = server_key or None
        setting = "billing.midtrans.server_key"
        self._core = ApiClient(
            NAME,
            api_url,
            username=self._server_key,
            timeout_seconds=timeout_seconds,
            setting=setting,
        )
        self._snap = ApiClient(
            NAME,
            snap_url,
            username=self._server_key,
            timeout_seconds=timeout_seconds,
            setting=setting,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> MidtransProvider:
        section = settings.billing.midtrans
        return cls(
            server_key=plain_secret(section.server_key),
            api_url=section.api_url,
            snap_url=section.snap_url,
            timeout_seconds=settings.billing.provider_timeout_seconds,
        )

    @property
    def configured(self) -> bool:
        return self._server_key is not None

    def secret_headers(self) -> frozenset[str]:
        return ALWAYS_SECRET_HEADERS  # the signature is in the body and is not a secret

    # Webhooks -------------------------------------------------------------------------------

    def verify(self, delivery: WebhookDelivery) -> Verification:
        if self._server_key is None:
            return Verification.refused("not_configured")
        try:
            payload = load_json(delivery.body)
        except ValueError:
            return Verification.refused("malformed_body")
        if not isinstance(payload, dict):
            return Verification.refused("malformed_body")
        signature = payload.get("signature_key")
        if signature is None or signature == "":
            return Verification.refused("missing_signature")
        if not isinstance(signature, str) or not _HEX_SHA512.fullmatch(signature):
            return Verification.refused("malformed_signature")
        fields = [payload.get(name) for name in _SIGNED_FIELDS]
        signed = [value for value in fields if isinstance(value, str) and value]
        if len(signed) != len(_SIGNED_FIELDS):
            return Verification.refused("malformed_body")  # e.g. gross_amount sent as a number
        order_id, status_code, gross_amount = signed
        expected = midtrans_signature(order_id, status_code, gross_amount, self._server_key)
        if not hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("ascii")):
            return Verification.refused("signature_mismatch")
        return Verification.ok()

    def parse(self, delivery: WebhookDelivery) -> PaymentEvent:
        try:
            payload = load_json(delivery.body)
        except ValueError:
            raise MalformedWebhook("the Midtrans notification body is not JSON") from None
        if not isinstance(payload, dict):
            raise MalformedWebhook("the Midtrans notification body is not a JSON object")
        order_id = _required(payload, "order_id")
        transaction_id = _required(payload, "transaction_id")
        status = _required(payload, "transaction_status")
        fraud_status = text_field(payload, "fraud_status")
        try:
            kind = midtrans_kind(status, fraud_status)
        except ValueError as exc:
            raise MalformedWebhook(str(exc)) from None
        try:
            amount = integer_amount(_required(payload, "gross_amount"))
        except ValueError:
            raise MalformedWebhook("the Midtrans gross_amount is not whole rupiah") from None
        event_id = f"{transaction_id}:{status}"
        if status == "capture" and fraud_status:
            event_id += f":{fraud_status}"
        refund_amount = text_field(payload, "refund_amount")
        if kind is PaymentEventKind.REFUNDED and refund_amount:
            event_id += f":{refund_amount}"
        return PaymentEvent(
            provider=NAME,
            event_id=event_id,
            kind=kind,
            reference=order_id,
            amount=amount,
            occurred_at=_occurred_at(payload, kind),
            raw_status=status if fraud_status is None else f"{status}/{fraud_status}",
            provider_reference=transaction_id,
        )

    # API ------------------------------------------------------------------------------------

    async def create_payment(self, request: PaymentRequest) -> PaymentLink:
        customer: dict[str, Any] = {"email": request.customer_email}
        if request.customer_name:
            customer["first_name"] = request.customer_name
        body: dict[str, Any] = {
            "transaction_details": {"order_id": request.reference, "gross_amount": request.amount},
            "item_details": [
                {
                    "id": request.reference,
                    "price": request.amount,
                    "quantity": 1,
                    "name": request.description[:MAX_ITEM_NAME],
                }
            ],
            "customer_details": customer,
        }
        if request.success_url:
            body["callbacks"] = {"finish": request.success_url}
        if request.expires_at is not None:
            now = utc_now()
            minutes = int((request.expires_at - now).total_seconds()) // 60
            if minutes < 1:
                raise ProviderError("midtrans: the payment's expiry is less than a minute away")
            body["expiry"] = {
                "start_time": now.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M:%S +0700"),
                "unit": "minute",
                "duration": minutes,
            }
        _, data = await self._snap.call("POST", "/snap/v1/transactions", body=body)
        token = text_field(data, "token") if isinstance(data, dict) else None
        url = text_field(data, "redirect_url") if isinstance(data, dict) else None
        if token is None or url is None:
            raise ProviderError(
                "midtrans: POST /snap/v1/transactions answered without token and redirect_url"
            )
        return PaymentLink(
            provider=NAME, provider_reference=token, url=url, expires_at=request.expires_at
        )

    async def fetch_payment(self, reference: str) -> RemotePayment | None:
        path = f"/v2/{quote(reference, safe='')}/status"
        status, data = await self._core.call("GET", path, accept=(200, 404))
        if status == 404 or not isinstance(data, dict) or data.get("status_code") == "404":
            return None
        transaction_status = text_field(data, "transaction_status")
        if transaction_status is None:
            raise ProviderError(f"midtrans: GET {path} answered without transaction_status")
        fraud_status = text_field(data, "fraud_status")
        try:
            kind = midtrans_kind(transaction_status, fraud_status)
        except ValueError as exc:
            raise ProviderError(f"midtrans: GET {path}: {exc}") from None
        raw_amount = data.get("gross_amount")
        try:
            amount = None if raw_amount is None else integer_amount(raw_amount)
        except ValueError:
            raise ProviderError(f"midtrans: GET {path}: gross_amount is not whole rupiah") from None
        extra = {
            key: value
            for key in ("transaction_status", "fraud_status", "payment_type", "status_code")
            if (value := text_field(data, key)) is not None
        }
        paid_at = _occurred_at(data, kind) if kind is PaymentEventKind.SUCCEEDED else None
        return RemotePayment(
            provider=NAME,
            reference=text_field(data, "order_id") or reference,
            provider_reference=text_field(data, "transaction_id") or "",
            status=kind,
            amount=amount,
            paid_at=paid_at,
            extra=extra,
        )

    async def list_payments(self, since: datetime) -> list[RemotePayment]:
        return []  # Midtrans has no "transactions since" API; see the module docstring

    async def retry_charge(self, reference: str) -> bool:
        return False


def _required(payload: Mapping[str, Any], name: str) -> str:
    value = text_field(payload, name)
    if value is None:
        raise MalformedWebhook(f"the Midtrans notification has no `{name}`")
    return value


def _occurred_at(payload: Mapping[str, Any], kind: PaymentEventKind) -> datetime | None:
    """`settlement_time` of a success, else `transaction_time` (Jakarta time, no offset)."""
    names: tuple[str, ...] = ("transaction_time",)
    if kind is PaymentEventKind.SUCCEEDED:
        names = ("settlement_time", "transaction_time")
    for name in names:
        moment = parse_time(payload.get(name), naive_offset=JAKARTA)
        if moment is not None:
            return moment
    return None
