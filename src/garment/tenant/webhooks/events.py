"""The public event catalogue of outbound webhooks and how our domain events map onto it.

Domain events are internal (`orders.OrderStatusChanged`); integrators subscribe to stable public
names (`order.confirmed`). The mapping is keyed by the domain event's *name*, so this context
imports no other context's classes and a mapping can exist before its event does
(`invoicing.InvoiceIssued`). A public payload carries ids and the facts of the change, never
prices of other orders or internal notes: integrators read more through the API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Public event types -> (Indonesian, English) description, in catalogue order.
EVENT_TYPES: dict[str, tuple[str, str]] = {
    "order.created": ("Pesanan dibuat", "An order was created"),
    "order.confirmed": ("Pesanan dikonfirmasi", "An order was confirmed"),
    "order.status_changed": (
        "Status pesanan berubah (setiap perubahan)",
        "An order's status changed (every change)",
    ),
    "payment.received": ("Pembayaran pesanan diterima", "A payment on an order was received"),
    "delivery.created": ("Surat jalan dibuat", "A delivery note was created"),
    "production.stage_completed": (
        "Potongan selesai di satu tahap produksi",
        "Pieces were finished at a production stage",
    ),
    "production.completed": ("Produksi pesanan selesai", "Production of an order was completed"),
    "invoice.issued": ("Faktur pelanggan diterbitkan", "A customer invoice was issued"),
}

DataBuilder = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Mapping:
    """One public event a domain event may become; `build` returns its `data`, or None when
    this occurrence is not that public event (a status change to something else)."""

    event_type: str
    build: DataBuilder


def _pick(*fields: str) -> DataBuilder:
    def build(payload: dict[str, Any]) -> dict[str, Any]:
        return {field: payload.get(field) for field in fields}

    return build


def _status_is(status: str, *fields: str) -> DataBuilder:
    pick = _pick(*fields)

    def build(payload: dict[str, Any]) -> dict[str, Any] | None:
        return pick(payload) if payload.get("to_status") == status else None

    return build


def _stage_completed(payload: dict[str, Any]) -> dict[str, Any] | None:
    # `out` pieces are done at their stage (and enter the next one); other kinds are rejects,
    # rework and makloon movements, not completions.
    if payload.get("kind") != "out":
        return None
    return {
        field: payload.get(field)
        for field in ("tenant_id", "order_id", "job_id", "stage", "size", "quantity", "to_stage")
    }


ORDER_STATUS_FIELDS = ("tenant_id", "order_id", "number", "from_status", "to_status", "version")

MAPPINGS: dict[str, tuple[Mapping, ...]] = {
    "orders.OrderCreated": (
        Mapping("order.created", _pick("tenant_id", "order_id", "number", "version")),
    ),
    "orders.OrderStatusChanged": (
        Mapping("order.confirmed", _status_is("confirmed", *ORDER_STATUS_FIELDS)),
        Mapping("order.status_changed", _pick(*ORDER_STATUS_FIELDS)),
    ),
    "orders.PaymentReceived": (
        Mapping(
            "payment.received",
            _pick("tenant_id", "order_id", "payment_id", "amount", "paid_amount"),
        ),
    ),
    "orders.DeliveryCreated": (
        Mapping(
            "delivery.created",
            _pick("tenant_id", "order_id", "delivery_id", "number", "quantity"),
        ),
    ),
    "production.PiecesRecorded": (Mapping("production.stage_completed", _stage_completed),),
    "production.ProductionCompleted": (
        Mapping("production.completed", _pick("tenant_id", "order_id")),
    ),
    "invoicing.InvoiceIssued": (
        Mapping(
            "invoice.issued",
            _pick("tenant_id", "invoice_id", "number", "order_id", "kind", "total", "ppn"),
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class PublicEvent:
    event_type: str
    webhook_id: str
    body: bytes


def webhook_id_for(event_id: uuid.UUID, event_type: str) -> str:
    """`msg_...`: fixed per (domain event, public type), so every endpoint and every attempt
    of one message carries the same id (the receiver's idempotency key)."""
    return "msg_" + uuid.uuid5(event_id, event_type).hex


def encode_body(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The Standard Webhooks envelope `{type, timestamp, data}` as the bytes sent (frozen)."""
    envelope = {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def public_events(
    domain_event: str, event_id: uuid.UUID, occurred_at: datetime, payload: dict[str, Any]
) -> list[PublicEvent]:
    """The public events one domain event becomes (none, one or two)."""
    found = []
    for mapping in MAPPINGS.get(domain_event, ()):
        data = mapping.build(payload)
        if data is not None:
            found.append(
                PublicEvent(
                    mapping.event_type,
                    webhook_id_for(event_id, mapping.event_type),
                    encode_body(mapping.event_type, occurred_at, data),
                )
            )
    return found
