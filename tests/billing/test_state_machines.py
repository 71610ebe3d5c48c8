"""Every allowed and every forbidden edge of the subscription and invoice state machines."""

from __future__ import annotations

import itertools

import pytest

from garment.central.billing import invoice_states, subscription_states
from garment.central.billing.invoice_states import INVOICE_TRANSITIONS, InvoiceStatus
from garment.central.billing.subscription_states import (
    SUBSCRIPTION_TRANSITIONS,
    SubscriptionStatus,
)
from garment.platform.errors import AppError

S = SubscriptionStatus
I = InvoiceStatus  # noqa: E741

# Written out by hand (not derived from the table), so changing the table fails here.
SUBSCRIPTION_ALLOWED = {
    (S.INCOMPLETE, S.ACTIVE),
    (S.INCOMPLETE, S.EXPIRED),
    (S.TRIALING, S.ACTIVE),
    (S.TRIALING, S.PAST_DUE),
    (S.TRIALING, S.CANCELLED),
    (S.ACTIVE, S.PAST_DUE),
    (S.ACTIVE, S.CANCELLED),
    (S.PAST_DUE, S.ACTIVE),
    (S.PAST_DUE, S.SUSPENDED),
    (S.PAST_DUE, S.CANCELLED),
    (S.SUSPENDED, S.ACTIVE),
    (S.SUSPENDED, S.CANCELLED),
}
INVOICE_ALLOWED = {
    (I.DRAFT, I.OPEN),
    (I.DRAFT, I.VOID),
    (I.OPEN, I.PAID),
    (I.OPEN, I.VOID),
    (I.OPEN, I.UNCOLLECTIBLE),
    (I.UNCOLLECTIBLE, I.PAID),
    (I.UNCOLLECTIBLE, I.VOID),
}


def test_the_tables_are_exactly_the_documented_edges() -> None:
    assert {(a, b) for a, targets in SUBSCRIPTION_TRANSITIONS.items() for b in targets} == (
        SUBSCRIPTION_ALLOWED
    )
    assert {(a, b) for a, targets in INVOICE_TRANSITIONS.items() for b in targets} == (
        INVOICE_ALLOWED
    )
    assert set(SUBSCRIPTION_TRANSITIONS) == set(S)
    assert set(INVOICE_TRANSITIONS) == set(I)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_subscription_edge(current: S, target: S) -> None:
    if (current, target) in SUBSCRIPTION_ALLOWED:
        assert subscription_states.transition(current.value, target) is target
        return
    with pytest.raises(AppError) as refused:
        subscription_states.transition(current.value, target)
    assert refused.value.code == "INVALID_STATE_TRANSITION"
    assert refused.value.extra == {
        "entity": "subscription",
        "current": current.value,
        "target": target.value,
    }


@pytest.mark.parametrize(("current", "target"), list(itertools.product(I, I)))
def test_every_invoice_edge(current: I, target: I) -> None:
    if (current, target) in INVOICE_ALLOWED:
        assert invoice_states.transition(current.value, target) is target
        return
    with pytest.raises(AppError) as refused:
        invoice_states.transition(current.value, target)
    assert refused.value.code == "INVALID_STATE_TRANSITION"
    assert refused.value.status == 409


def test_paid_and_void_are_final() -> None:
    assert INVOICE_TRANSITIONS[I.PAID] == frozenset()
    assert INVOICE_TRANSITIONS[I.VOID] == frozenset()
    assert SUBSCRIPTION_TRANSITIONS[S.CANCELLED] == frozenset()
    assert SUBSCRIPTION_TRANSITIONS[S.EXPIRED] == frozenset()
