"""Invoice kinds and states.

`draft → issued → partially_paid → paid`; `draft`/`issued` (nothing paid, not exported) →
`void`; any issued state → `replaced` when a replacement invoice takes its place."""

from __future__ import annotations

from enum import StrEnum


class InvoiceKind(StrEnum):
    DOWN_PAYMENT = "down_payment"
    FINAL = "final"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    REPLACED = "replaced"


class GoodsOrService(StrEnum):
    """Coretax `Opt`: A goods, B services."""

    GOODS = "A"
    SERVICE = "B"


_S = InvoiceStatus

TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    # A replacement draft carries its original's payments: issuing it may land on paid.
    _S.DRAFT: frozenset({_S.ISSUED, _S.PARTIALLY_PAID, _S.PAID, _S.VOID}),
    _S.ISSUED: frozenset({_S.PARTIALLY_PAID, _S.PAID, _S.VOID, _S.REPLACED}),
    _S.PARTIALLY_PAID: frozenset({_S.PAID, _S.REPLACED}),
    _S.PAID: frozenset({_S.REPLACED}),
    _S.VOID: frozenset(),
    _S.REPLACED: frozenset(),
}
# Invoices that count: issued to the customer and not taken back.
LIVE: frozenset[InvoiceStatus] = frozenset({_S.ISSUED, _S.PARTIALLY_PAID, _S.PAID})
# Invoices that hold their order's slot for their kind (one DP and one final per order).
ACTIVE: frozenset[InvoiceStatus] = frozenset({_S.DRAFT, *LIVE})


def status_for_payment(total: int, paid: int) -> InvoiceStatus:
    if paid <= 0:
        return InvoiceStatus.ISSUED
    return InvoiceStatus.PAID if paid >= total else InvoiceStatus.PARTIALLY_PAID
