"""Statuses of a registered cluster and the moves between them."""

from __future__ import annotations

from enum import StrEnum


class ClusterStatus(StrEnum):
    ACTIVE = "active"  # serves its tenants and takes new ones
    DRAINING = "draining"  # serves its tenants, takes no new ones
    DISABLED = "disabled"  # registered, not used


CLUSTER_TRANSITIONS: dict[ClusterStatus, frozenset[ClusterStatus]] = {
    ClusterStatus.ACTIVE: frozenset({ClusterStatus.DRAINING, ClusterStatus.DISABLED}),
    ClusterStatus.DRAINING: frozenset({ClusterStatus.ACTIVE, ClusterStatus.DISABLED}),
    ClusterStatus.DISABLED: frozenset({ClusterStatus.ACTIVE, ClusterStatus.DRAINING}),
}


class BreakerState(StrEnum):
    CLOSED = "closed"  # requests flow
    OPEN = "open"  # requests fail fast until the cool-down ends
    HALF_OPEN = "half_open"  # one trial request decides
