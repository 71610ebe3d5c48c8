"""Domain events of tracking links (through the central outbox, ADR 0014). They carry ids and
the expiry only, never a token."""

from __future__ import annotations

import uuid
from datetime import datetime

from garment.platform.events import DomainEvent, events


@events.event
class TrackingLinkCreated(DomainEvent):
    event_name = "tracking.TrackingLinkCreated"
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    link_id: uuid.UUID
    expires_at: datetime


@events.event
class TrackingLinkRevoked(DomainEvent):
    event_name = "tracking.TrackingLinkRevoked"
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    link_id: uuid.UUID
