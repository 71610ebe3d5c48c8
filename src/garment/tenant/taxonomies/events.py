"""Domain events of taxonomies (through the central outbox, ADR 0014)."""

from __future__ import annotations

import uuid

from garment.platform.events import DomainEvent, events


@events.event
class TermCreated(DomainEvent):
    event_name = "taxonomies.TermCreated"
    tenant_id: uuid.UUID
    term_id: uuid.UUID
    version: int


@events.event
class TermUpdated(DomainEvent):
    event_name = "taxonomies.TermUpdated"
    tenant_id: uuid.UUID
    term_id: uuid.UUID
    version: int
    action: str  # update, archive, restore
