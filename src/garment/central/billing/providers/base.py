"""The one interface every payment provider adapter implements.

Billing's service and the webhook ingress talk only to `PaymentProvider`; an adapter turns a
provider's HTTP API and webhook format into these types. Adapters hold no database access and
no state machine: they verify, parse and call the provider's API, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class PaymentEventKind(StrEnum):
    SUCCEEDED = "payment.succeeded"
    FAILED = "payment.failed"
    EXPIRED = "payment.expired"
    REFUNDED = "payment.refunded"
    PENDING = "payment.pending"  # a provider's "still waiting": never moves state


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One delivery as received: the exact bytes and the headers (lower-cased names)."""

    body: bytes
    headers: Mapping[str, str]
    received_at: datetime  # timezone-aware UTC; Standard Webhooks' tolerance is checked against it


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of checking a delivery's signature. `reason` is a short stable code
    (`missing_header`, `token_mismatch`, `signature_mismatch`, `timestamp_out_of_tolerance`,
    `malformed_header`, `malformed_body`, `not_configured`; Midtrans, whose signature is in the
    body: `missing_signature`, `malformed_signature`) recorded on the receipt."""

    valid: bool
    reason: str | None = None

    @classmethod
    def ok(cls) -> Verification:
        return cls(True, None)

    @classmethod
    def refused(cls, reason: str) -> Verification:
        return cls(False, reason)


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified delivery mapped to what billing understands."""

    provider: str
    event_id: str  # the provider's id of this notification; dedupe key with `provider`
    kind: PaymentEventKind
    reference: str  # our invoice reference as sent to the provider (the invoice's external id)
    amount: int | None  # integer rupiah as the provider states it; None when the event has none
    occurred_at: datetime | None = None
    raw_status: str = ""  # the provider's own status string, for the forensic record
    provider_reference: str = ""  # the provider's id of the charge/invoice/transaction


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    reference: str  # our external id for the invoice (stable: creating twice returns the same)
    amount: int  # integer rupiah, PPN included
    description: str
    customer_email: str
    customer_name: str = ""
    success_url: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PaymentLink:
    provider: str
    provider_reference: str  # the provider's id of the charge/invoice/transaction
    url: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RemotePayment:
    """The provider's view of one payment, for reconciliation."""

    provider: str
    reference: str
    provider_reference: str
    status: PaymentEventKind  # SUCCEEDED, FAILED, EXPIRED, REFUNDED or PENDING
    amount: int | None
    paid_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


class ProviderError(Exception):
    """The provider's API failed or answered something we cannot use (never a secret inside)."""


class MalformedWebhook(Exception):
    """A verified delivery whose body cannot be mapped (missing id, unknown status, bad JSON)."""


@runtime_checkable
class PaymentProvider(Protocol):
    name: str  # "xendit", "midtrans", "standard", "sandbox"

    @property
    def configured(self) -> bool:
        """Whether the secrets this adapter needs are set (unconfigured adapters refuse all)."""

    def verify(self, delivery: WebhookDelivery) -> Verification:
        """Check the signature. Never raises: malformed input is `Verification.refused(...)`."""

    def parse(self, delivery: WebhookDelivery) -> PaymentEvent:
        """Map a verified delivery; raises `MalformedWebhook`."""

    def secret_headers(self) -> frozenset[str]:
        """Lower-cased header names whose values are secrets, redacted in stored receipts."""

    async def create_payment(self, request: PaymentRequest) -> PaymentLink:
        """Create (or return the existing) payment link; raises `ProviderError`."""

    async def fetch_payment(self, reference: str) -> RemotePayment | None:
        """The provider's state of the payment for `reference`; None when it knows none."""

    async def list_payments(self, since: datetime) -> list[RemotePayment]:
        """Payments the provider knows since `since` (reconciliation finds unknown ones)."""

    async def retry_charge(self, reference: str) -> bool:
        """Retry a failed charge where the provider supports it; False when it does not."""
