"""Billing's jobs: webhook processing (retried with backoff), the hourly dunning run, the sweep
of receipts whose processing never finished, and the purge of old receipts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from garment.central.billing.ingress import PROCESS_TASK
from garment.platform.jobs import JobContext, tasks

DUNNING_TASK = "billing.dunning"
SWEEP_TASK = "billing.sweep_webhooks"
PURGE_TASK = "billing.purge_receipts"
PROCESS_RETRIES = 6


@tasks.task(
    PROCESS_TASK,
    retries=PROCESS_RETRIES,
    initial_delay=timedelta(seconds=5),
    max_delay=timedelta(minutes=15),
)
async def process_webhook(payload: dict[str, Any], job: JobContext) -> None:
    await job.services.billing_webhooks.process(int(payload["receipt_id"]))


@tasks.task(DUNNING_TASK, retries=2, concurrency_limit=1)
async def dunning(payload: dict[str, Any], job: JobContext) -> None:
    await job.services.dunning.run()


@tasks.task(SWEEP_TASK, retries=2, concurrency_limit=1)
async def sweep_webhooks(payload: dict[str, Any], job: JobContext) -> None:
    await job.services.billing_webhooks.sweep_stuck()


@tasks.task(PURGE_TASK, retries=3)
async def purge_receipts(payload: dict[str, Any], job: JobContext) -> None:
    await job.services.billing_webhooks.purge()


tasks.every("7 * * * *", DUNNING_TASK)
tasks.every("*/5 * * * *", SWEEP_TASK)
tasks.every("29 3 * * *", PURGE_TASK)
