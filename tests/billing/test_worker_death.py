"""A `garment worker` process killed (SIGKILL) while it processes a webhook receipt: the job is
picked up again once its heartbeat is stale, and the payment is applied exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from garment.central.billing.repository import (
    InvoiceRepository,
    PaymentAttemptRepository,
    ReceiptRepository,
)
from garment.config import Settings
from garment.platform import jobs as jobs_module
from garment.platform.jobs import JobQueue, WorkerOptions
from garment.runtime import Runtime
from tests.billing.conftest import onboard, open_invoice, post_webhook, sandbox_delivery
from tests.conftest import garment_env

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
HEARTBEAT = 2.0


async def receipt_status(runtime: Runtime, receipt_id: int) -> tuple[str, int]:
    async with runtime.central.transaction() as session:
        row = await ReceiptRepository(session).get(receipt_id)
    assert row is not None
    return row.status, row.attempts


async def test_a_killed_worker_leaves_the_receipt_processed_later_once(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    receipt_id = (await post_webhook(client, "sandbox", body, headers)).json()["receipt_id"]

    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    env.update(
        garment_env(
            settings,
            GARMENT_DATA_DIR=str(tmp_path / "data"),
            GARMENT_JOBS__HEARTBEAT_TIMEOUT_SECONDS=str(HEARTBEAT),
            GARMENT_CONFIG_FILE="/nonexistent/garment.toml",
        )
    )
    # Hold the invoice's row lock: the worker takes the job, marks the receipt `processing`
    # and then waits on the lock inside its transaction, where it is killed.
    async with runtime.central.transaction() as session:
        await InvoiceRepository(session).get(invoice.id, for_update=True)
        worker = subprocess.Popen(
            [str(VENV_BIN / "garment"), "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while (await receipt_status(runtime, receipt_id))[0] != "processing":
                assert time.monotonic() < deadline, "the worker never took the job"
                assert worker.poll() is None, "the worker exited"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # now blocked on the invoice lock
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
    assert await receipt_status(runtime, receipt_id) == ("processing", 1)
    async with runtime.central.transaction() as session:
        paid = await InvoiceRepository(session).get(invoice.id)
    assert paid is not None and paid.status == "open"  # its transaction died with it

    # Another worker picks the job up again once the dead one's heartbeat is stale.
    queue = JobQueue(
        runtime.targets.central.app_url,
        jobs_module.tasks,
        services=runtime,
        options=WorkerOptions(heartbeat_timeout=timedelta(seconds=HEARTBEAT)),
    )
    await queue.open()
    survivor = asyncio.create_task(queue.run_worker(concurrency=2))
    try:
        deadline = time.monotonic() + 60
        while (await receipt_status(runtime, receipt_id))[0] != "processed":
            assert time.monotonic() < deadline, await receipt_status(runtime, receipt_id)
            await asyncio.sleep(0.2)
    finally:
        survivor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await survivor
        await queue.close()
    assert await receipt_status(runtime, receipt_id) == ("processed", 2)
    async with runtime.central.transaction() as session:
        paid = await InvoiceRepository(session).get(invoice.id)
        attempts = await PaymentAttemptRepository(session).of_invoice(invoice.id)
    assert paid is not None and paid.status == "paid"
    assert [a.status for a in attempts] == ["succeeded"]
