"""The hourly purge of expired idempotency keys, tenant by tenant on its cluster (RLS: a
transaction sees only the tenant it is bound to)."""

from __future__ import annotations

from typing import Any

import structlog

from garment.platform.jobs import JobContext, tasks

PURGE_IDEMPOTENCY_TASK = "tenant.purge_idempotency_keys"
logger = structlog.get_logger(__name__)


@tasks.task(PURGE_IDEMPOTENCY_TASK, retries=3)
async def purge_idempotency_keys(payload: dict[str, Any], job: JobContext) -> None:
    runtime = job.services
    async with runtime.central.transaction() as session:
        tenants = await runtime.tenancy.list_tenants(session, limit=100_000)
    purged = 0
    for tenant in tenants:
        if tenant.cluster_key is None:
            continue
        async with runtime.cluster_manager.tenant_transaction(tenant.cluster_key, tenant.id) as db:
            purged += await runtime.idempotency.purge_expired(db, tenant.id)
    logger.info("idempotency.purged", keys=purged, tenants=len(tenants))


tasks.every("41 * * * *", PURGE_IDEMPOTENCY_TASK)
