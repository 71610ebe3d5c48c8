"""The subscription state machine: the one place a subscription's status may change.

The allowed edges are data (`SUBSCRIPTION_TRANSITIONS`); `transition()` is the only function
that moves a status and refuses every other edge with `INVALID_STATE_TRANSITION`. A test walks
the full product of states, so an edge added here without thought fails there.

`incomplete` is the one state the spec does not name: a tenant that chose a paid plan without a
trial has a subscription before its first invoice is paid (its tenant waits, `pending`).
"""

from __future__ import annotations

from enum import StrEnum

from garment.platform.errors import INVALID_STATE_TRANSITION, AppError


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"  # paid plan, first invoice open: provisioning waits for payment
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


S = SubscriptionStatus

SUBSCRIPTION_TRANSITIONS: dict[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    # first invoice paid → active; never paid (or the owner gives up) → expired
    S.INCOMPLETE: frozenset({S.ACTIVE, S.EXPIRED}),
    # renewal invoice paid → active; unpaid at its due date → past_due; owner cancels
    S.TRIALING: frozenset({S.ACTIVE, S.PAST_DUE, S.CANCELLED}),
    # unpaid renewal at its due date → past_due; cancel at period end → cancelled
    S.ACTIVE: frozenset({S.PAST_DUE, S.CANCELLED}),
    # paid → active; grace over → suspended; owner cancels
    S.PAST_DUE: frozenset({S.ACTIVE, S.SUSPENDED, S.CANCELLED}),
    # paid → active (tenant resumes); cancel_after_days suspended → cancelled
    S.SUSPENDED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}

# Why a subscription that was never paid for ended (`SubscriptionCancelled.reason`): its
# tenant, `pending` and never provisioned, closes instead of waiting for ever.
NEVER_PAID_CANCELLED = "cancelled_before_first_payment"
NEVER_PAID_EXPIRED = "first_invoice_unpaid"

# Subscriptions that still bill: renewals are drafted and dunning acts on them.
BILLABLE = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE, S.SUSPENDED})
ENDED = frozenset({S.CANCELLED, S.EXPIRED})


def can_transition(current: SubscriptionStatus, target: SubscriptionStatus) -> bool:
    return target in SUBSCRIPTION_TRANSITIONS[current]


def transition(current: str, target: SubscriptionStatus) -> SubscriptionStatus:
    """The new status, or `INVALID_STATE_TRANSITION` for an edge the table does not allow."""
    state = SubscriptionStatus(current)
    if not can_transition(state, target):
        raise AppError(
            INVALID_STATE_TRANSITION,
            params={"current": state.value, "target": target.value},
            extra={"entity": "subscription", "current": state.value, "target": target.value},
        )
    return target
