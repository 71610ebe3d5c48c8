"""Invoicing reacts to the orders context's events by name (`name_listener`), so it imports no
other context: a cancelled order's invoices that can still be taken back are void."""

from __future__ import annotations

import uuid

from garment.platform.events import ListenerContext, RawEvent, events

ORDER_STATUS_CHANGED = "orders.OrderStatusChanged"
CANCELLED = "cancelled"
LISTENER = "invoicing.void_for_cancelled_order"


@events.name_listener(ORDER_STATUS_CHANGED, LISTENER)
async def void_invoices_of_cancelled_order(event: RawEvent, context: ListenerContext) -> None:
    """In a transaction of its own on the tenant's cluster, after the cancel committed; a
    failure (the tenant being moved, a lost connection) re-runs the delivery, and a re-run
    finds nothing left to void."""
    payload = event.data
    if payload.get("to_status") != CANCELLED:
        return
    runtime = context.services
    tenant_id = uuid.UUID(str(payload["tenant_id"]))
    tenant = await runtime.tenancy.tenant_ref(tenant_id)
    if tenant is None or tenant.cluster_key is None:
        return
    async with runtime.cluster_manager.tenant_transaction(tenant.cluster_key, tenant_id) as db:
        await runtime.invoices.void_for_cancelled_order(
            db, tenant_id, uuid.UUID(str(payload["order_id"]))
        )
