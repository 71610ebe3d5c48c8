"""The delivery job (one queued-or-running per endpoint, ADR 0017) and the sweep that
re-enqueues endpoints whose due messages have no job (a message committed while the endpoint's
job was finishing) and measures each cluster's backlog."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.errors import CLUSTER_UNAVAILABLE, AppError
from garment.platform.jobs import JobContext, RetryLater, tasks
from garment.platform.measurements import (
    WEBHOOK_OLDEST_PENDING_AT,
    WEBHOOK_PENDING,
    record_measurement,
)
from garment.tenant.webhooks.service import (
    DELIVER_TASK,
    Backlog,
    WebhookService,
    deliver_dedupe_key,
    deliver_payload,
)

SWEEP_TASK = "webhooks.sweep"
logger = structlog.get_logger(__name__)


@tasks.task(DELIVER_TASK, retries=5)
async def deliver(payload: dict[str, Any], job: JobContext) -> None:
    """Send the endpoint's due messages in order; re-queue itself (RetryLater) for the head
    message's next attempt. The backoff is per message, kept in its row."""
    runtime = job.services
    tenant_id = uuid.UUID(payload["tenant_id"])
    endpoint_id = uuid.UUID(payload["endpoint_id"])
    tenant = await runtime.tenancy.tenant_ref(tenant_id)
    if tenant is None or tenant.cluster_key is None:
        return
    service: WebhookService = runtime.webhooks
    wait = await service.deliver_endpoint(
        runtime.cluster_manager.tenant_transaction, tenant.cluster_key, tenant_id, endpoint_id
    )
    if wait is not None:
        raise RetryLater(wait, reason="next attempt of the endpoint's head message")


@tasks.task(SWEEP_TASK, retries=2)
async def sweep(payload: dict[str, Any], job: JobContext) -> None:
    """Enqueue the endpoints whose due messages have no job, and measure the backlog of every
    cluster on the way (exported by every process: `garment_webhook_messages_pending`). A
    cluster that cannot be reached is skipped, its tenants' endpoints and its last measurement
    left as they were; every other cluster is still swept."""
    runtime = job.services
    service: WebhookService = runtime.webhooks
    async with runtime.central.transaction() as session:
        tenants = await runtime.tenancy.list_tenants(session, limit=100_000)
    backlogs = {key: Backlog() for key in runtime.cluster_manager.configured_keys()}
    unreachable: set[str] = set()
    enqueued = 0
    for tenant in tenants:
        key = tenant.cluster_key
        if key is None or key in unreachable:
            continue
        try:
            async with runtime.cluster_manager.tenant_transaction(key, tenant.id) as db:
                due = await service.endpoints_due(db, tenant.id)
                backlog = await service.backlog(db, tenant.id)
        except AppError as error:  # the breaker turns a failed connection into this code
            if error.code != CLUSTER_UNAVAILABLE.code:
                raise
            unreachable.add(key)
            logger.warning("webhooks.sweep_cluster_unavailable", cluster=key)
            continue
        backlogs[key] = backlogs.get(key, Backlog()).plus(backlog)
        for endpoint_id in due:
            if await runtime.jobs.enqueue(
                DELIVER_TASK,
                deliver_payload(tenant.id, endpoint_id),
                dedupe_key=deliver_dedupe_key(endpoint_id),
            ):
                enqueued += 1
    measured = {key: backlog for key, backlog in backlogs.items() if key not in unreachable}
    async with runtime.central.transaction() as session:
        await record_backlogs(session, measured, unmeasured=unreachable)
    if enqueued:
        logger.info("webhooks.swept", enqueued=enqueued)


async def record_backlogs(
    session: AsyncSession, backlogs: dict[str, Backlog], *, unmeasured: set[str]
) -> None:
    await record_measurement(
        session,
        WEBHOOK_PENDING,
        {key: backlog.pending for key, backlog in backlogs.items()},
        keep=unmeasured,
    )
    await record_measurement(
        session,
        WEBHOOK_OLDEST_PENDING_AT,
        {
            key: backlog.oldest_pending_at.timestamp() if backlog.oldest_pending_at else 0.0
            for key, backlog in backlogs.items()
        },
        keep=unmeasured,
    )


tasks.every("*/5 * * * *", SWEEP_TASK)
