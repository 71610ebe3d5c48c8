"""The invoice state machine: `draft → open → paid | void | uncollectible`.

`transition()` is the only function that moves an invoice's status; every edge not in
`INVOICE_TRANSITIONS` is refused with `INVALID_STATE_TRANSITION`. `paid` and `void` are final:
an invoice is paid at most once, whatever arrives afterwards.
"""

from __future__ import annotations

from enum import StrEnum

from garment.platform.errors import INVALID_STATE_TRANSITION, AppError


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


I = InvoiceStatus  # noqa: E741

INVOICE_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    I.DRAFT: frozenset({I.OPEN, I.VOID}),
    I.OPEN: frozenset({I.PAID, I.VOID, I.UNCOLLECTIBLE}),
    # written off when the subscription is cancelled; a late payment still settles it
    I.UNCOLLECTIBLE: frozenset({I.PAID, I.VOID}),
    I.PAID: frozenset(),
    I.VOID: frozenset(),
}

PAYABLE = frozenset({I.OPEN, I.UNCOLLECTIBLE})


def can_transition(current: InvoiceStatus, target: InvoiceStatus) -> bool:
    return target in INVOICE_TRANSITIONS[current]


def transition(current: str, target: InvoiceStatus) -> InvoiceStatus:
    """The new status, or `INVALID_STATE_TRANSITION` for an edge the table does not allow."""
    state = InvoiceStatus(current)
    if not can_transition(state, target):
        raise AppError(
            INVALID_STATE_TRANSITION,
            params={"current": state.value, "target": target.value},
            extra={"entity": "invoice", "current": state.value, "target": target.value},
        )
    return target


class PaymentAttemptStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class ReceiptStatus(StrEnum):
    RECEIVED = "received"
    REJECTED = "rejected"  # verification failed, unknown provider, body too large
    VERIFIED = "verified"  # processing enqueued
    DUPLICATE = "duplicate"
    PROCESSING = "processing"
    PROCESSED = "processed"
    IGNORED = "ignored"  # valid, but nothing to change (a late `pending`, an unknown invoice)
    FAILED = "failed"


class ReceiptSource(StrEnum):
    WEBHOOK = "webhook"
    RECONCILIATION = "reconciliation"


class DunningAction(StrEnum):
    PAST_DUE = "past_due"
    REMINDER = "reminder"
    RETRY_CHARGE = "retry_charge"
    SUSPEND = "suspend"
    CANCEL = "cancel"
