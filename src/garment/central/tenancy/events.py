"""Domain events of tenancy."""

from __future__ import annotations

import uuid

from garment.platform.events import DomainEvent, events


@events.event
class TenantCreated(DomainEvent):
    event_name = "tenancy.TenantCreated"
    tenant_id: uuid.UUID
    owner_user_id: uuid.UUID
    plan_code: str
    billing_interval: str = "monthly"
    # False: a paid plan without a trial; provisioning waits for the first payment (billing).
    provisioning: bool = True


@events.event
class TenantProvisioned(DomainEvent):
    event_name = "tenancy.TenantProvisioned"
    tenant_id: uuid.UUID


@events.event
class TenantProvisioningFailed(DomainEvent):
    event_name = "tenancy.TenantProvisioningFailed"
    tenant_id: uuid.UUID
    step: str
    error: str


@events.event
class TenantSuspended(DomainEvent):
    event_name = "tenancy.TenantSuspended"
    tenant_id: uuid.UUID
    reason: str


@events.event
class TenantResumed(DomainEvent):
    event_name = "tenancy.TenantResumed"
    tenant_id: uuid.UUID


@events.event
class TenantCancelled(DomainEvent):
    """Closed for good (its subscription was cancelled): no member can use it any more."""

    event_name = "tenancy.TenantCancelled"
    tenant_id: uuid.UUID
    reason: str


@events.event
class MemberInvited(DomainEvent):
    event_name = "tenancy.MemberInvited"
    invitation_id: uuid.UUID
    tenant_id: uuid.UUID
