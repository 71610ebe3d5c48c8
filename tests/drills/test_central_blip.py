"""Drill: the central database goes away for a few seconds under a running `garment serve`
(with its in-process job worker). During the outage `/readyz` and `garment doctor` say so and
name the cause; afterwards jobs run again without anyone restarting anything (incident
playbook 5; the worker used to crash for good on the first failed query)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from garment.contexts import register_contexts
from garment.platform.db import plain_url
from garment.platform.dbsetup import ensure_layout
from garment.platform.jobs import JobQueue
from garment.platform.migrations import migrate_all
from tests.conftest import StoppableServer, free_port, unique_layout
from tests.drills.support import VENV_BIN, environment, stop, wait_ready

pytestmark = pytest.mark.slow


async def enqueue(central_url: str, task: str) -> int:
    """A job into the queue, the way any process enqueues one."""
    register_contexts()
    queue = JobQueue(central_url)
    await queue.open()
    try:
        job_id = await queue.enqueue(task)
    finally:
        await queue.close()
    assert job_id is not None
    return job_id


async def job_done(central_url: str, job_id: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            connection = await asyncpg.connect(plain_url(central_url))
            try:
                pending = await connection.fetchval(
                    "SELECT count(*) FROM pgqueuer WHERE id = $1", job_id
                )
            finally:
                await connection.close()
            if pending == 0:
                return True
        except (OSError, asyncpg.PostgresError):
            pass
        await asyncio.sleep(0.5)
    return False


def doctor(env: dict[str, str]) -> tuple[int, dict[str, dict[str, str]]]:
    result = subprocess.run(
        [str(VENV_BIN / "garment"), "doctor", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(result.stdout)
    return result.returncode, {f["check"]: f for f in report["findings"]}


async def test_jobs_run_again_after_a_central_outage_and_both_probes_report_it(
    stoppable_server_factory: Callable[[], StoppableServer], tmp_path: Path
) -> None:
    server = stoppable_server_factory()
    targets = await asyncio.to_thread(ensure_layout, server.superuser_url, unique_layout("blip"))
    await asyncio.to_thread(migrate_all, targets)
    env = environment(targets, tmp_path / "data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [str(VENV_BIN / "garment"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            await wait_ready(http)
            first = await enqueue(targets.central.app_url, "auth.cleanup")
            assert await job_done(targets.central.app_url, first, within=30)

            await asyncio.to_thread(server.stop)
            try:
                during = await http.get("/readyz")
                assert during.status_code == 503
                body = during.json()
                assert body["status"] == "not_ready"
                assert body["central"]["status"] == "down"
                code, findings = await asyncio.to_thread(doctor, env)
                assert code == 1
                central = findings["central reachable"]
                assert central["level"] == "fail"
                assert "down:" in central["detail"] and "(at " in central["detail"]
                await asyncio.sleep(3)  # long enough for every loop to hit the outage
            finally:
                await asyncio.to_thread(server.start)

            second = await enqueue(targets.central.app_url, "auth.cleanup")
            assert await job_done(targets.central.app_url, second, within=60), (
                "no worker picked up a job after central came back"
            )
            ready = (await http.get("/readyz")).json()
            assert ready["background"]["job-worker"]["alive"] is True
            assert ready["background"]["job-worker"]["restarts"] >= 1
            code, findings = await asyncio.to_thread(doctor, env)
            assert findings["job workers"]["level"] == "ok", findings["job workers"]
    finally:
        stop(serve)
