"""The provisioning job: runs the pipeline for one tenant, retried with backoff; after the last
retry the tenant is `provisioning_failed` and waits for `garment tenants provision --retry`."""

from __future__ import annotations

import uuid
from typing import Any

from garment.platform.jobs import JobContext, tasks

PROVISION_TASK = "tenancy.provision"
PROVISION_RETRIES = 4


def provisioning_dedupe_key(tenant_id: uuid.UUID) -> str:
    return f"provision:{tenant_id}"


@tasks.task(PROVISION_TASK, retries=PROVISION_RETRIES)
async def provision(payload: dict[str, Any], job: JobContext) -> None:
    tenant_id = uuid.UUID(payload["tenant_id"])
    await job.services.provisioning.run(tenant_id, final=job.attempt > PROVISION_RETRIES)
