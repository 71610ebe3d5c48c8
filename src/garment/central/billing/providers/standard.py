"""Standard Webhooks (https://www.standardwebhooks.com): a generic signed provider.

Verification uses the maintained `standardwebhooks` package. Headers: `webhook-id`,
`webhook-timestamp` (Unix seconds), `webhook-signature` (space-separated `v1,<base64 HMAC-SHA256
of "id.timestamp.body">`, several during a secret rotation). Configured secrets are `whsec_` +
base64, several separated by spaces: a delivery is valid when any secret verifies any of its
`v1` signatures. Tolerance is 5 minutes either way, checked against the delivery's `received_at`
(and by the package against the clock: verify at receipt, not later).

Before the package sees a delivery the headers are checked for shape, so each refusal has a
precise reason and nothing raises: absent or empty → `missing_header`; a timestamp that is not
decimal seconds, an id longer than 255 characters or with control characters, a signature
entry that is not `version,base64` (garbage, a missing part, bad base64, stray spaces), a `v1`
signature that is not 32 bytes, or no `v1` signature at all (a wrong version prefix) →
`malformed_header`; a body that is not UTF-8 → `malformed_body`; too old or too new →
`timestamp_out_of_tolerance`; no match → `signature_mismatch`. The package (1.3) raises only
`WebhookVerificationError`, mapped to a reason in `library_verdict` as a second line: it compares
whole `v1,<base64>` entries and verifies the body's bytes, so malformed input the shape check
names is, to the package, a signature that does not match.

Body: `{"type": "payment.succeeded" | "payment.failed" | "payment.expired" | "payment.refunded"
| "payment.pending", "data": {"reference": str, "amount": int, "provider_reference": str,
"occurred_at": ISO 8601 with offset}}`; `amount`, `provider_reference` and `occurred_at` may be
absent. The event id is the `webhook-id` header.

API: a generic provider has none. `create_payment` returns `{api_url}/{reference}` when
`billing.standard_webhooks.api_url` is set and raises `ProviderError` otherwise; `fetch_payment`
is None and `list_payments` [] (the provider's webhooks are the only source of truth);
`retry_charge` is False.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from garment.central.billing.providers._support import (
    ALWAYS_SECRET_HEADERS,
    header,
    load_json,
    plain_secret,
    text_field,
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

NAME = "standard"
SECRET_PREFIX = "whsec_"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
TOLERANCE = timedelta(minutes=5)  # what the package enforces; not configurable there
MAX_ID_LENGTH = 255

_TIMESTAMP = re.compile(r"[0-9]{1,10}")
_SIGNATURE_ENTRY = re.compile(r"([a-z0-9]{1,8}),([A-Za-z0-9+/]+={0,2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KINDS = {kind.value: kind for kind in PaymentEventKind}


class SecretFormatError(ValueError):
    """A configured secret is not `whsec_` + base64 (the message says which, never what)."""


def decode_secret(secret: str) -> bytes:
    """The key of one `whsec_` secret (the prefix is optional); `SecretFormatError` otherwise."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        key = b""
    if not key:
        raise SecretFormatError("not a `whsec_` + base64 secret")
    return key


def parse_secrets(text: str) -> tuple[str, ...]:
    """Space-separated `whsec_` secrets, each checked; `SecretFormatError` names the position."""
    secrets = tuple(text.split())
    for position, secret in enumerate(secrets, start=1):
        try:
            decode_secret(secret)
        except SecretFormatError:
            raise SecretFormatError(
                f"secret #{position} is not a `whsec_` + base64 secret"
            ) from None
    return secrets


def sign_delivery(
    secrets: str | Sequence[str], body: bytes, msg_id: str, timestamp: datetime
) -> dict[str, str]:
    """Standard Webhooks headers for `body`: one `v1` signature per secret, space-separated.
    `timestamp` is aware (naive is read as UTC); `body` must be UTF-8."""
    moment = timestamp.replace(tzinfo=UTC) if timestamp.tzinfo is None else timestamp
    moment = moment.astimezone(UTC)  # the package replaces the zone without converting
    text = body.decode("utf-8")
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    signatures = [_webhook(secret).sign(msg_id, moment, text) for secret in keys]
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(int(moment.timestamp())),
        SIGNATURE_HEADER: " ".join(signatures),
    }


def library_verdict(
    hooks: Sequence[Webhook], body: bytes, headers: Mapping[str, str]
) -> Verification:
    """`standardwebhooks`' verification with each secret; valid when any verifies. The
    package's refusal (its one exception) becomes a refusal with its reason."""
    reasons: list[str] = []
    for hook in hooks:
        try:
            hook.verify(body, dict(headers), json_parse=False)
        except WebhookVerificationError as exc:
            reasons.append(_reason_of(exc))
        else:
            return Verification.ok()
    if not reasons:
        return Verification.refused("not_configured")
    # Every secret gives the same verdict on the headers; a mismatch is the usual one.
    for reason in ("missing_header", "malformed_header", "timestamp_out_of_tolerance"):
        if reason in reasons:
            return Verification.refused(reason)
    return Verification.refused("signature_mismatch")


def _reason_of(error: WebhookVerificationError) -> str:
    message = str(error).lower()
    if "missing" in message:
        return "missing_header"
    if "too old" in message or "too new" in message:
        return "timestamp_out_of_tolerance"
    if "invalid" in message:
        return "malformed_header"
    return "signature_mismatch"


def _webhook(secret: str) -> Webhook:
    decode_secret(secret)  # refuse what the package would silently half-decode
    return Webhook(secret if secret.startswith(SECRET_PREFIX) else SECRET_PREFIX + secret)


def shape_verdict(delivery: WebhookDelivery) -> Verification | None:
    """The refusal of a delivery whose headers or body are malformed (see the module
    docstring), or None when its shape is fine."""
    msg_id = header(delivery.headers, ID_HEADER)
    timestamp = header(delivery.headers, TIMESTAMP_HEADER)
    signature = header(delivery.headers, SIGNATURE_HEADER)
    if not msg_id or not timestamp or not signature:
        return Verification.refused("missing_header")
    if len(msg_id) > MAX_ID_LENGTH or _CONTROL.search(msg_id):
        return Verification.refused("malformed_header")
    if not _TIMESTAMP.fullmatch(timestamp):
        return Verification.refused("malformed_header")
    if not _signatures_well_formed(signature):
        return Verification.refused("malformed_header")
    try:
        delivery.body.decode("utf-8")
    except UnicodeDecodeError:
        return Verification.refused("malformed_body")
    sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    if abs(delivery.received_at - sent_at) > TOLERANCE:
        return Verification.refused("timestamp_out_of_tolerance")
    return None


def _signatures_well_formed(value: str) -> bool:
    has_v1 = False
    for entry in value.split(" "):
        match = _SIGNATURE_ENTRY.fullmatch(entry)
        if match is None or len(match.group(2)) % 4:
            return False
        try:
            decoded = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            return False
        if match.group(1) == "v1":
            if len(decoded) != 32:  # an HMAC-SHA256 is 32 bytes: this one is cut or padded
                return False
            has_v1 = True
    return has_v1


class StandardWireFormat:
    """Verification and mapping of the Standard Webhooks wire format, shared by the generic
    provider and the sandbox."""

    name = NAME
    _setting = "billing.standard_webhooks.secret"

    def __init__(self, secrets: str | None) -> None:
        self._secrets: tuple[str, ...] = ()
        self._hooks: tuple[Webhook, ...] = ()
        self.config_problem: str | None = None
        if secrets and secrets.strip():
            try:
                self._secrets = parse_secrets(secrets)
            except SecretFormatError as exc:
                self.config_problem = f"{self._setting}: {exc}"
            else:
                self._hooks = tuple(_webhook(secret) for secret in self._secrets)

    @property
    def configured(self) -> bool:
        return bool(self._hooks)

    def secret_headers(self) -> frozenset[str]:
        return ALWAYS_SECRET_HEADERS  # signatures are not secrets

    def sign(self, body: bytes, msg_id: str, timestamp: datetime) -> dict[str, str]:
        """Headers signing `body` with every configured secret (a sender during rotation)."""
        if not self._secrets:
            raise ProviderError(f"{self.name}: {self._setting} is not configured")
        return sign_delivery(self._secrets, body, msg_id, timestamp)

    def verify(self, delivery: WebhookDelivery) -> Verification:
        if not self._hooks:
            return Verification.refused("not_configured")
        refusal = shape_verdict(delivery)
        if refusal is not None:
            return refusal
        return library_verdict(self._hooks, delivery.body, delivery.headers)

    def parse(self, delivery: WebhookDelivery) -> PaymentEvent:
        event_id = header(delivery.headers, ID_HEADER)
        if not event_id:
            raise MalformedWebhook(f"the delivery has no `{ID_HEADER}`")
        try:
            payload = load_json(delivery.body)
        except ValueError:
            raise MalformedWebhook("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise MalformedWebhook("the body is not a JSON object")
        kind_name = payload.get("type")
        kind = _KINDS.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None or not isinstance(kind_name, str):
            raise MalformedWebhook("`type` is not one of " + ", ".join(sorted(_KINDS)))
        data = payload.get("data")
        if not isinstance(data, dict):
            raise MalformedWebhook("`data` is not an object")
        reference = text_field(data, "reference")
        if reference is None:
            raise MalformedWebhook("`data.reference` is missing")
        return PaymentEvent(
            provider=self.name,
            event_id=event_id,
            kind=kind,
            reference=reference,
            amount=_amount(data.get("amount")),
            occurred_at=_occurred_at(data.get("occurred_at")),
            raw_status=kind_name,
            provider_reference=text_field(data, "provider_reference") or "",
        )

    async def fetch_payment(self, reference: str) -> RemotePayment | None:
        return None  # no API to ask: webhooks are the only source

    async def list_payments(self, since: datetime) -> list[RemotePayment]:
        return []

    async def retry_charge(self, reference: str) -> bool:
        return False


class StandardWebhooksProvider(StandardWireFormat):
    """A generic provider signing with Standard Webhooks (see the module docstring)."""

    name = NAME

    def __init__(self, *, secrets: str | None, api_url: str | None = None) -> None:
        super().__init__(secrets)
        self._api_url = api_url.rstrip("/") if api_url else None

    @classmethod
    def from_settings(cls, settings: Settings) -> StandardWebhooksProvider:
        section = settings.billing.standard_webhooks
        return cls(secrets=plain_secret(section.secret), api_url=section.api_url)

    async def create_payment(self, request: PaymentRequest) -> PaymentLink:
        if self._api_url is None:
            raise ProviderError(
                "standard: a generic provider has no payment API and "
                "billing.standard_webhooks.api_url is not set"
            )
        return PaymentLink(
            provider=self.name,
            provider_reference=request.reference,
            url=f"{self._api_url}/{quote(request.reference, safe='')}",
            expires_at=request.expires_at,
        )


def _amount(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedWebhook("`data.amount` is not a whole, non-negative number of rupiah")
    return value


def _occurred_at(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise MalformedWebhook("`data.occurred_at` is not an ISO 8601 time with an offset")
    return moment.astimezone(UTC)


def event_body(
    kind: PaymentEventKind,
    reference: str,
    amount: int | None,
    *,
    provider_reference: str = "",
    occurred_at: datetime | None = None,
) -> bytes:
    """A body in this wire format (the sandbox and tests build deliveries with it)."""
    data: dict[str, Any] = {"reference": reference}
    if amount is not None:
        data["amount"] = amount
    if provider_reference:
        data["provider_reference"] = provider_reference
    if occurred_at is not None:
        data["occurred_at"] = occurred_at.astimezone(UTC).isoformat()
    return json.dumps({"type": kind.value, "data": data}, separators=(",", ":")).encode()
