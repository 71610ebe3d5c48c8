"""Domain events become webhook messages. Registered by event *name* (`name_listener`), so
this context imports no other context and `invoicing.InvoiceIssued` is mapped before that
event exists. One listener per domain event, each in its own delivery transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from garment.platform.events import ListenerContext, RawEvent, events
from garment.tenant.webhooks.events import MAPPINGS, public_events
from garment.tenant.webhooks.service import (
    DELIVER_TASK,
    WebhookService,
    deliver_dedupe_key,
    deliver_payload,
)

LISTENER = "webhooks.fan_out"


def fan_out_listener(domain_event: str) -> Callable[[RawEvent, ListenerContext], Awaitable[None]]:
    async def fan_out(event: RawEvent, context: ListenerContext) -> None:
        runtime = context.services
        payload = event.data
        tenant_id = uuid.UUID(str(payload["tenant_id"]))
        found = public_events(domain_event, context.event_id, datetime.now(UTC), payload)
        if not found:
            return
        tenant = await runtime.tenancy.tenant_ref(tenant_id)
        service: WebhookService = runtime.webhooks
        if (
            tenant is None
            or tenant.cluster_key is None
            or not service.has_feature(tenant.plan_code)
        ):
            return
        # The messages commit on the cluster first; the jobs commit with this delivery's
        # central transaction. A failure between the two re-runs the listener, which finds the
        # messages (same webhook-id) and enqueues again: nothing is lost or doubled.
        async with runtime.cluster_manager.tenant_transaction(tenant.cluster_key, tenant_id) as db:
            endpoints = await service.fan_out(db, tenant_id, found)
        for endpoint_id in sorted(endpoints):
            await runtime.jobs.enqueue_in(
                context.session,
                DELIVER_TASK,
                deliver_payload(tenant_id, endpoint_id),
                dedupe_key=deliver_dedupe_key(endpoint_id),
            )

    return fan_out


for _name in MAPPINGS:
    events.name_listener(_name, LISTENER)(fan_out_listener(_name))
