"""Sales document states and the one order state machine.

`draft → confirmed → in_production → ready → delivered → closed`, and `cancelled` from any
state before `delivered`. `ALLOWED` is the whole graph: the service asks `can_transition`, the
gates (permission, artwork, down payment, full payment) are checked by the service on top.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    DRAFT = "draft"
    CONFIRMED = "confirmed"
    IN_PRODUCTION = "in_production"
    READY = "ready"
    DELIVERED = "delivered"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ArtworkStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PaymentMethod(StrEnum):
    CASH = "cash"
    TRANSFER = "transfer"
    QRIS = "qris"
    EWALLET = "ewallet"
    OTHER = "other"


class DownPaymentKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


class QuotationStatus(StrEnum):
    OPEN = "open"
    CONVERTED = "converted"
    CANCELLED = "cancelled"


_S = OrderStatus

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.DRAFT: frozenset({_S.CONFIRMED, _S.CANCELLED}),
    _S.CONFIRMED: frozenset({_S.IN_PRODUCTION, _S.CANCELLED}),
    _S.IN_PRODUCTION: frozenset({_S.READY, _S.CANCELLED}),
    _S.READY: frozenset({_S.DELIVERED, _S.CANCELLED}),
    _S.DELIVERED: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
    _S.CANCELLED: frozenset(),
}

# Statuses whose grid (sizes, quantities, prices) may still be edited.
EDITABLE: frozenset[OrderStatus] = frozenset({_S.DRAFT, _S.CONFIRMED})
# Statuses in which delivery notes may be issued.
DELIVERABLE: frozenset[OrderStatus] = frozenset({_S.READY})


def can_transition(current: OrderStatus | str, target: OrderStatus | str) -> bool:
    return OrderStatus(target) in ALLOWED[OrderStatus(current)]


def all_edges() -> list[tuple[OrderStatus, OrderStatus]]:
    """Every ordered pair of distinct statuses (the test walks them all)."""
    return [(a, b) for a in OrderStatus for b in OrderStatus if a != b]
