"""`garment doctor`: one verdict an operator can act on, and it only ever observes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from garment.platform.supervisor import JOB_WORKER, Supervisor
from garment.runtime import Runtime
from tests.conftest import garment

pytestmark = pytest.mark.usefixtures("cli_env")


def findings(output: str) -> dict[str, dict[str, Any]]:
    report = json.loads(output)
    return {finding["check"]: finding for finding in report["findings"]}


@pytest.fixture
async def live_worker(runtime: Runtime) -> AsyncIterator[Supervisor]:
    """A process record with a running job-worker loop (what `garment worker` writes)."""
    supervisor = Supervisor(runtime.central, "worker")
    stop = asyncio.Event()

    async def works_until_stopped() -> None:
        await stop.wait()

    supervisor.start(JOB_WORKER, works_until_stopped)
    await asyncio.sleep(0)
    await supervisor.beat()
    try:
        yield supervisor
    finally:
        stop.set()
        await supervisor.stop()


async def test_doctor_reports_every_area_as_json(live_worker: Supervisor) -> None:
    result = await garment("doctor", "--json")
    report = findings(result.output)
    for check in ("central reachable", "central migrations", "central app role", "outbox"):
        assert report[check]["level"] == "ok", report[check]
    assert report["job workers"]["level"] == "ok"
    assert live_worker.process_id in report["job workers"]["detail"]
    assert report["job queue wait"]["level"] == "ok"


async def test_no_job_worker_anywhere_fails_with_the_remedy(runtime: Runtime) -> None:
    # Records of worker processes other suites killed stay fresh for half a minute.
    async with runtime.central.transaction() as session:
        await session.execute(text("DELETE FROM process_heartbeats"))
    result = await garment("doctor", "--json")
    assert result.exit_code == 1
    worker = findings(result.output)["job workers"]
    assert worker["level"] == "fail"
    assert "garment worker" in worker["detail"]


async def test_a_job_waiting_too_long_fails(
    runtime: Runtime, live_worker: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GARMENT_JOBS__MAX_QUEUE_WAIT_SECONDS", "60")
    from garment.config import get_settings

    get_settings.cache_clear()
    job_id = await runtime.jobs.enqueue("platform.purge_outbox", {})
    assert job_id is not None
    async with runtime.central.transaction() as session:
        await session.execute(
            text("UPDATE pgqueuer SET execute_after = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - timedelta(minutes=5), "id": job_id},
        )
    try:
        result = await garment("doctor", "--json")
        wait = findings(result.output)["job queue wait"]
        assert result.exit_code == 1
        assert wait["level"] == "fail" and "limit 60 s" in wait["detail"]
    finally:
        async with runtime.central.transaction() as session:
            await session.execute(text("DELETE FROM pgqueuer WHERE id = :id"), {"id": job_id})


async def test_a_crashed_loop_in_a_process_is_named(runtime: Runtime) -> None:
    supervisor = Supervisor(runtime.central, "serve")

    async def crashes() -> None:
        raise RuntimeError("central went away")

    supervisor.start("outbox-relay", crashes)
    await asyncio.sleep(0.05)
    await supervisor.beat()
    try:
        result = await garment("doctor", "--json")
        loop = findings(result.output)[f"outbox-relay in {supervisor.process_id}"]
        assert loop["level"] == "fail" and "central went away" in loop["detail"]
    finally:
        await supervisor.stop()


async def test_doctor_never_starts_a_stopped_embedded_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from garment.config import get_settings

    for key in ("GARMENT_DATABASE_URL", "GARMENT_DATABASE_MIGRATION_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GARMENT_CLUSTERS", "{}")
    monkeypatch.setenv("GARMENT_CLUSTER_MIGRATION_URLS", "{}")
    monkeypatch.setenv("GARMENT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    result = await garment("doctor")
    assert result.exit_code == 1
    assert "EMBEDDED_DATABASE_STOPPED" in result.output
    assert "make run" in result.output
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()


@pytest.fixture
def no_garment_env(cli_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the module's `cli_env`: these tests build their own settings from nothing."""
    import os

    for key in [key for key in os.environ if key.startswith("GARMENT_")]:
        monkeypatch.delenv(key)


@pytest.mark.usefixtures("no_garment_env")
def test_clusters_configured_on_the_embedded_default_are_named_as_ignored(
    tmp_path: Path,
) -> None:
    from garment.cli.doctor import config_findings
    from garment.config import Settings

    settings = Settings(
        data_dir=tmp_path,
        clusters={"jkt-2": "postgresql://app@127.0.0.1:5432/jkt2"},
        _env_file=None,
    )
    assert settings.uses_embedded_database
    [warning] = settings.configuration_warnings()
    assert "ignored" in warning
    by_check = {finding.check: finding for finding in config_findings(settings)}
    assert by_check["clusters"].level == "warn"
    assert "GARMENT_DATABASE_URL" in by_check["clusters"].detail


@pytest.mark.usefixtures("no_garment_env")
def test_an_empty_trusted_proxies_in_production_is_a_warning(tmp_path: Path) -> None:
    from garment.config import Environment, Settings

    settings = Settings(
        environment=Environment.PRODUCTION,
        data_dir=tmp_path,
        database_url="postgresql://app@127.0.0.1:5432/central",
        _env_file=None,
    )
    assert any("trusted_proxies" in warning for warning in settings.configuration_warnings())
