"""`garment worker`: jobs and the outbox relay, without HTTP."""

from __future__ import annotations

import asyncio
import signal

import structlog

from garment.cli.base import app, load_cli_settings, run
from garment.config import Settings
from garment.platform.diagnostics import install_task_dump
from garment.runtime import Runtime

logger = structlog.get_logger("garment.worker")


async def run_worker(settings: Settings) -> None:
    runtime = await Runtime.create(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    install_task_dump(loop)
    runtime.start_background(worker=True, role="worker")
    logger.info("worker.started", concurrency=settings.jobs.worker_concurrency)
    try:
        await stop.wait()
    finally:
        logger.info("worker.stopping")
        await runtime.close()


@app.command()
def worker() -> None:
    """Run background jobs (provisioning, dunning, mail) and deliver outbox events until
    interrupted. Safe to run several: jobs and events are claimed with SKIP LOCKED."""
    run(run_worker(load_cli_settings(service=True)))
