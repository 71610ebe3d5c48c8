"""Periodic housekeeping of auth data (the spec's daily token clean-up, run more often so the
refresh grace cache never outlives its window by much)."""

from __future__ import annotations

from typing import Any

from garment.central.auth.repository import HousekeepingRepository
from garment.platform.jobs import JobContext, tasks


@tasks.task("auth.cleanup", retries=3)
async def cleanup(payload: dict[str, Any], job: JobContext) -> None:
    async with job.services.central.transaction() as session:
        await HousekeepingRepository(session).clean_up()


tasks.every("*/5 * * * *", "auth.cleanup")
