"""Domain events of production (through the central outbox, ADR 0014) for webhooks and the
board."""

from __future__ import annotations

import uuid

from garment.platform.events import DomainEvent, events


@events.event
class PiecesRecorded(DomainEvent):
    event_name = "production.PiecesRecorded"
    tenant_id: uuid.UUID
    event_id: uuid.UUID
    job_id: uuid.UUID
    order_id: uuid.UUID
    size: str
    stage: str
    kind: str
    quantity: int
    to_stage: str | None = None


@events.event
class ProductionCompleted(DomainEvent):
    event_name = "production.ProductionCompleted"
    tenant_id: uuid.UUID
    order_id: uuid.UUID
