"""Periodic platform housekeeping jobs."""

from __future__ import annotations

from typing import Any

from garment.platform.events import purge_delivered
from garment.platform.jobs import JobContext, tasks


@tasks.task("platform.purge_outbox", retries=3)
async def purge_outbox(payload: dict[str, Any], job: JobContext) -> None:
    runtime = job.services
    async with runtime.central.transaction() as session:
        await purge_delivered(session, runtime.settings.jobs.outbox_retention_days)


tasks.every("17 3 * * *", "platform.purge_outbox")
