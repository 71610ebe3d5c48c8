"""Domain events of invoicing (through the central outbox, ADR 0014)."""

from __future__ import annotations

import uuid

from garment.platform.events import DomainEvent, events


@events.event
class InvoiceIssued(DomainEvent):
    """A customer invoice got its number (webhooks map it to the public `invoice.issued`)."""

    event_name = "invoicing.InvoiceIssued"
    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    number: str
    order_id: uuid.UUID
    kind: str
    total: int
    ppn: int
