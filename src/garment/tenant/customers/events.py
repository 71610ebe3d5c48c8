"""Domain events of customers (through the central outbox, ADR 0014)."""

from __future__ import annotations

import uuid

from garment.platform.events import DomainEvent, events


@events.event
class CustomerCreated(DomainEvent):
    event_name = "customers.CustomerCreated"
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    version: int


@events.event
class CustomerUpdated(DomainEvent):
    event_name = "customers.CustomerUpdated"
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    version: int
    action: str  # update, archive, restore
