"""Statuses of tenants, memberships, invitations and provisioning steps, and the moves a
tenant's status may make (one table, checked by `TenancyService` on every change)."""

from __future__ import annotations

from enum import StrEnum


class TenantStatus(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    PROVISIONING_FAILED = "provisioning_failed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


TENANT_TRANSITIONS: dict[TenantStatus, frozenset[TenantStatus]] = {
    TenantStatus.PENDING: frozenset({TenantStatus.PROVISIONING, TenantStatus.CANCELLED}),
    TenantStatus.PROVISIONING: frozenset(
        {TenantStatus.ACTIVE, TenantStatus.PROVISIONING_FAILED, TenantStatus.CANCELLED}
    ),
    TenantStatus.PROVISIONING_FAILED: frozenset(
        {TenantStatus.PROVISIONING, TenantStatus.CANCELLED}
    ),
    TenantStatus.ACTIVE: frozenset({TenantStatus.SUSPENDED, TenantStatus.CANCELLED}),
    TenantStatus.SUSPENDED: frozenset({TenantStatus.ACTIVE, TenantStatus.CANCELLED}),
    TenantStatus.CANCELLED: frozenset(),
}

# Not yet (or no longer) usable because provisioning has not finished.
NOT_PROVISIONED = frozenset(
    {TenantStatus.PENDING, TenantStatus.PROVISIONING, TenantStatus.PROVISIONING_FAILED}
)
# Statuses in which a tenant's billing routes stay reachable, so its owner can pay: waiting for
# the first payment of a paid plan (`pending`), or suspended for an unpaid invoice.
BILLING_REACHABLE = frozenset({TenantStatus.PENDING, TenantStatus.SUSPENDED})
# Tenants whose rows live on a cluster and may be moved between clusters.
MOVABLE = frozenset({TenantStatus.ACTIVE, TenantStatus.SUSPENDED})


class SuspensionSource(StrEnum):
    """Who suspended a tenant. A payment resumes only what billing suspended (dunning); a
    suspension by an operator (abuse, a legal hold) is lifted by an operator only, and an
    operator suspending a tenant billing already suspended takes it over."""

    BILLING = "billing"
    OPERATOR = "operator"


def can_transition(current: TenantStatus, target: TenantStatus) -> bool:
    return target in TENANT_TRANSITIONS[current]


class MembershipStatus(StrEnum):
    ACTIVE = "active"
    INVITED = "invited"
    REMOVED = "removed"


class InvitationState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ProvisioningStepName(StrEnum):
    """The pipeline's steps, in the order they run (chapter 20)."""

    CHOOSE_CLUSTER = "choose_cluster"
    ENSURE_SCHEMA = "ensure_schema"
    CREATE_SETTINGS = "create_settings"
    SEED_ROLES = "seed_roles"
    SEED_TAXONOMIES = "seed_taxonomies"
    SEED_ROUTING = "seed_routing"
    GRANT_OWNER = "grant_owner"
    ACTIVATE = "activate"


PROVISIONING_STEPS: tuple[ProvisioningStepName, ...] = tuple(ProvisioningStepName)


class BillingInterval(StrEnum):
    MONTHLY = "monthly"
    YEARLY = "yearly"
