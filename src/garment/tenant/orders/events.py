"""Domain events of sales (through the central outbox, ADR 0014)."""

from __future__ import annotations

import uuid

from garment.platform.events import DomainEvent, events


@events.event
class OrderCreated(DomainEvent):
    event_name = "orders.OrderCreated"
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    number: str
    version: int


@events.event
class OrderStatusChanged(DomainEvent):
    """`order.confirmed` and friends for webhooks; production listens for `confirmed`."""

    event_name = "orders.OrderStatusChanged"
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    number: str
    from_status: str
    to_status: str
    version: int


@events.event
class PaymentReceived(DomainEvent):
    event_name = "orders.PaymentReceived"
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    payment_id: uuid.UUID
    amount: int
    paid_amount: int


@events.event
class DeliveryCreated(DomainEvent):
    event_name = "orders.DeliveryCreated"
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    delivery_id: uuid.UUID
    number: str
    quantity: int


@events.event
class QuotationConverted(DomainEvent):
    event_name = "orders.QuotationConverted"
    tenant_id: uuid.UUID
    quotation_id: uuid.UUID
    order_id: uuid.UUID
    revision: int
