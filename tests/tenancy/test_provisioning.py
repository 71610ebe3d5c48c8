"""Provisioning under faults (chapter 20): re-runs never duplicate rows, a failing step is retried
through the real job queue, exhausted retries leave `provisioning_failed` for
`garment tenants provision --retry`, and a worker killed mid-run leaves tenants another worker
finishes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from garment.central.tenancy import jobs as provisioning
from garment.central.tenancy.jobs import PROVISION_TASK, provision, provisioning_dedupe_key
from garment.central.tenancy.models import Membership, ProvisioningStep, Tenant
from garment.central.tenancy.provisioning import ProvisioningPipeline
from garment.central.tenancy.states import PROVISIONING_STEPS, BillingInterval
from garment.config import Settings
from garment.platform.dbsetup import Targets
from garment.platform.jobs import JobQueue, TaskRegistry, WorkerOptions
from garment.runtime import Runtime
from garment.tenant.authz.permissions import DEFAULT_ROLES
from garment.tenant.taxonomies.defaults import DEFAULT_TERMS
from tests.auth.conftest import make_user
from tests.conftest import garment, garment_env
from tests.tenancy.conftest import create_tenant

GARMENT_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "garment"
TENANT_TABLES = ("roles", "role_permissions", "taxonomy_terms", "tenant_settings")
EXPECTED_COUNTS = {
    "roles": len(DEFAULT_ROLES),
    "role_permissions": sum(len(role.permissions) for role in DEFAULT_ROLES),
    "taxonomy_terms": len(DEFAULT_TERMS),
    "tenant_settings": 1,
    "owner_roles": 1,  # the owner's `owner` role, on the central membership (ADR 0008)
}
StepFunction = Callable[[ProvisioningPipeline, uuid.UUID], Awaitable[dict[str, Any]]]


# --- helpers ---------------------------------------------------------------------------------


async def row_counts(runtime: Runtime, cluster: str, tenant_id: uuid.UUID) -> dict[str, int]:
    """The tenant's rows per table, read through an RLS-bound session (no tenant filter)."""
    async with runtime.cluster_manager.tenant_transaction(cluster, tenant_id) as session:
        counts = {
            table: int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
            for table in TENANT_TABLES
        }
    async with runtime.central.transaction() as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        owner = await session.get(Membership, (tenant_id, tenant.owner_user_id))
        counts["owner_roles"] = len(owner.role_keys) if owner else 0
    return counts


async def step_states(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, tuple[str, int]]:
    async with runtime.central.transaction() as session:
        steps = await runtime.tenancy.provisioning_steps(session, tenant_id)
    return {step.step: (step.status, step.attempts) for step in steps}


async def step_row(runtime: Runtime, tenant_id: uuid.UUID, step: str) -> ProvisioningStep:
    async with runtime.central.transaction() as session:
        row = await session.get(ProvisioningStep, (tenant_id, step))
    assert row is not None
    return row


async def load_tenant(runtime: Runtime, tenant_id: uuid.UUID) -> Tenant:
    async with runtime.central.transaction() as session:
        tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant


async def registered_tenant(runtime: Runtime, *, cluster: str | None = None) -> Tenant:
    """A tenant as `POST /tenants` leaves it: registered, `provisioning`, no step run yet."""
    owner = await make_user(runtime)
    slug = f"konveksi-{uuid.uuid4().hex[:10]}"
    async with runtime.central.transaction() as session:
        account = await runtime.auth.accounts.get(session, owner.id)
        assert account is not None
        created = await runtime.tenancy.create_tenant(
            session,
            owner=account,
            name=f"Konveksi {slug[-4:]}",
            slug=slug,
            plan_code="growth",
            billing_interval=BillingInterval.MONTHLY,
        )
        tenant = await session.get(Tenant, created.id)
        assert tenant is not None
        if cluster is not None:
            tenant.cluster_key = cluster
    return tenant


def failing_for(
    tenant_id: uuid.UUID, original: StepFunction, failures: int | None, calls: list[int]
) -> StepFunction:
    """Wrap a step so it fails its first `failures` calls for one tenant (None: always)."""

    async def step(self: ProvisioningPipeline, called_for: uuid.UUID) -> dict[str, Any]:
        if called_for == tenant_id:
            calls.append(len(calls) + 1)
            if failures is None or len(calls) <= failures:
                raise RuntimeError(f"simulated seed failure #{len(calls)}")
        return await original(self, called_for)

    return step


@asynccontextmanager
async def provisioning_queue(
    runtime: Runtime, targets: Targets, *, retries: int
) -> AsyncIterator[JobQueue]:
    """The real `provision` handler on the test central DB, registered with a tiny backoff so
    retries take milliseconds instead of 2 s, 4 s, ..."""
    registry = TaskRegistry()
    registry.task(PROVISION_TASK, retries=retries, initial_delay=timedelta(milliseconds=50))(
        provision
    )
    queue = JobQueue(
        targets.central.app_url,
        registry,
        services=runtime,
        options=WorkerOptions(dequeue_timeout=timedelta(milliseconds=200)),
    )
    await queue.open()
    try:
        yield queue
    finally:
        await queue.close()


async def work_until(
    queue: JobQueue, done: Callable[[], Awaitable[bool]], timeout: float = 15
) -> None:
    worker = asyncio.create_task(queue.run_worker(concurrency=2))
    try:
        async with asyncio.timeout(timeout):
            while not await done():
                if worker.done():
                    worker.result()  # surface a crashed worker instead of timing out
                await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


def status_is(runtime: Runtime, tenant_id: uuid.UUID, status: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await load_tenant(runtime, tenant_id)).status == status

    return check


# --- 1a. running the pipeline again never duplicates rows -----------------------------------


async def test_running_the_pipeline_again_never_duplicates_rows(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    tenant = await create_tenant(runtime, owner)
    assert tenant.cluster_key is not None
    first = await row_counts(runtime, tenant.cluster_key, tenant.id)
    assert first == EXPECTED_COUNTS

    # A second run of an active tenant changes nothing.
    assert await runtime.provisioning.run(tenant.id) == "active"
    assert await row_counts(runtime, tenant.cluster_key, tenant.id) == first

    # Every step recorded as pending again: an active tenant is still not re-provisioned.
    async with runtime.central.transaction() as session:
        await session.execute(
            update(ProvisioningStep)
            .where(ProvisioningStep.tenant_id == tenant.id)
            .values(status="pending")
        )
    assert await runtime.provisioning.run(tenant.id) == "active"
    assert await row_counts(runtime, tenant.cluster_key, tenant.id) == first

    # As after a crash that lost every record: status `provisioning`, every step pending. Each
    # step really runs a second time (attempts == 2) and still inserts nothing new.
    async with runtime.central.transaction() as session:
        await session.execute(
            update(ProvisioningStep)
            .where(ProvisioningStep.tenant_id == tenant.id)
            .values(status="pending")
        )
        stored = await session.get(Tenant, tenant.id)
        assert stored is not None
        stored.status = "provisioning"
        await runtime.tenancy.tenant_changed(session, stored.id)
    assert await runtime.provisioning.run(tenant.id) == "active"
    assert await step_states(runtime, tenant.id) == dict.fromkeys(PROVISIONING_STEPS, ("done", 2))
    assert await row_counts(runtime, tenant.cluster_key, tenant.id) == first
    again = await load_tenant(runtime, tenant.id)
    assert (again.status, again.cluster_key) == ("active", tenant.cluster_key)


# --- 1b. a step failing twice, then succeeding, through the job queue -----------------------


async def test_a_step_failing_twice_is_retried_by_the_queue_until_active(
    runtime: Runtime, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await registered_tenant(runtime)
    calls: list[int] = []
    monkeypatch.setattr(
        ProvisioningPipeline,
        "seed_taxonomies",
        failing_for(tenant.id, ProvisioningPipeline.seed_taxonomies, 2, calls),
    )
    async with provisioning_queue(runtime, targets, retries=provisioning.PROVISION_RETRIES) as jobs:
        # The job creating the tenant enqueued, in the same transaction.
        job_id = await jobs.pending_id(provisioning_dedupe_key(tenant.id))
        assert job_id is not None
        await work_until(jobs, status_is(runtime, tenant.id, "active"))
        assert not [job for job in await jobs.failed_jobs() if job["id"] == job_id]

    assert calls == [1, 2, 3]
    seeded = await step_row(runtime, tenant.id, "seed_taxonomies")
    assert (seeded.status, seeded.attempts, seeded.error) == ("done", 3, None)
    assert seeded.details == {"terms_created": len(DEFAULT_TERMS)}
    states = await step_states(runtime, tenant.id)
    # Steps before the failing one ran once: a retry resumes, it does not start over.
    assert states == {
        step: ("done", 3 if step == "seed_taxonomies" else 1) for step in PROVISIONING_STEPS
    }
    stored = await load_tenant(runtime, tenant.id)
    assert stored.cluster_key is not None and stored.provisioned_at is not None
    assert await row_counts(runtime, stored.cluster_key, tenant.id) == EXPECTED_COUNTS


# --- 1c. retries exhausted -> provisioning_failed -> `provision --retry` ---------------------


@pytest.mark.usefixtures("cli_env")
async def test_exhausted_retries_fail_the_tenant_and_the_cli_retry_resumes_it(
    runtime: Runtime, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await registered_tenant(runtime)
    original = ProvisioningPipeline.seed_taxonomies
    calls: list[int] = []
    monkeypatch.setattr(
        ProvisioningPipeline, "seed_taxonomies", failing_for(tenant.id, original, None, calls)
    )
    # The handler decides "last retry" from PROVISION_RETRIES; keep it equal to the registration.
    monkeypatch.setattr(provisioning, "PROVISION_RETRIES", 1)
    async with provisioning_queue(runtime, targets, retries=1) as jobs:
        # The job creating the tenant enqueued, in the same transaction.
        job_id = await jobs.pending_id(provisioning_dedupe_key(tenant.id))
        assert job_id is not None
        await work_until(jobs, status_is(runtime, tenant.id, "provisioning_failed"))
        assert await held_jobs(jobs, job_id, wait=True) == [PROVISION_TASK]

    assert calls == [1, 2]  # one run and one retry
    failed = await step_row(runtime, tenant.id, "seed_taxonomies")
    assert failed.status == "failed" and failed.attempts == 2
    assert failed.error is not None and "simulated seed failure #2" in failed.error
    before = await step_states(runtime, tenant.id)
    assert before == {
        "choose_cluster": ("done", 1),
        "ensure_schema": ("done", 1),
        "create_settings": ("done", 1),
        "seed_roles": ("done", 1),
        "seed_taxonomies": ("failed", 2),
        "seed_routing": ("pending", 0),
        "grant_owner": ("pending", 0),
        "activate": ("pending", 0),
    }

    # Without --retry the operator is told to add it, and nothing runs.
    refused = await garment("tenants", "provision", tenant.slug)
    assert refused.exit_code == 1, refused.output
    assert "--retry" in refused.output
    assert (await load_tenant(runtime, tenant.id)).status == "provisioning_failed"
    assert await step_states(runtime, tenant.id) == before

    # --retry while the cause is still there: the same step fails again, the tenant stays
    # provisioning_failed (never back in `provisioning`), the held job is kept.
    still = await garment("tenants", "provision", tenant.slug, "--retry")
    assert still.exit_code == 1, still.output
    assert "step seed_taxonomies failed" in still.output
    assert (await load_tenant(runtime, tenant.id)).status == "provisioning_failed"
    assert (await step_row(runtime, tenant.id, "seed_taxonomies")).attempts == 3

    # The cause is fixed; --retry resumes at the failed step.
    monkeypatch.setattr(ProvisioningPipeline, "seed_taxonomies", original)
    resumed = await garment("tenants", "provision", tenant.slug, "--retry")
    assert resumed.exit_code == 0, resumed.output
    assert f"tenant {tenant.slug}: active" in resumed.stdout
    assert await step_states(runtime, tenant.id) == {
        "choose_cluster": ("done", 1),
        "ensure_schema": ("done", 1),
        "create_settings": ("done", 1),
        "seed_roles": ("done", 1),
        "seed_taxonomies": ("done", 4),
        "seed_routing": ("done", 1),
        "grant_owner": ("done", 1),
        "activate": ("done", 1),
    }
    assert calls == [1, 2, 3]  # the restored step is no longer the wrapper
    stored = await load_tenant(runtime, tenant.id)
    assert stored.status == "active" and stored.cluster_key is not None
    assert await row_counts(runtime, stored.cluster_key, tenant.id) == EXPECTED_COUNTS
    async with provisioning_queue(runtime, targets, retries=1) as jobs:
        assert await held_jobs(jobs, job_id) == []  # the held job was discarded

    # Once active, --retry is a harmless no-op.
    again = await garment("tenants", "provision", tenant.slug, "--retry")
    assert again.exit_code == 0, again.output
    assert (await step_row(runtime, tenant.id, "seed_taxonomies")).attempts == 4


async def held_jobs(jobs: JobQueue, job_id: int, *, wait: bool = False) -> list[str]:
    """Entrypoints of the job if it is held as failed (the worker records that a moment after
    the last run, so `wait` polls for it)."""
    for _ in range(60 if wait else 1):
        held = [str(job["entrypoint"]) for job in await jobs.failed_jobs() if job["id"] == job_id]
        if held:
            return held
        await asyncio.sleep(0.05)
    return []


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no step is marked failed."""


async def test_a_crash_right_after_activation_leaves_no_step_running(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: activate commits the status before its step is marked done; the next run of an
    active tenant must not leave that step `running` forever."""
    tenant = await registered_tenant(runtime)
    real_activate = ProvisioningPipeline.activate

    async def activate_then_die(self: ProvisioningPipeline, tenant_id: uuid.UUID) -> dict[str, Any]:
        await real_activate(self, tenant_id)
        raise Crash

    monkeypatch.setattr(ProvisioningPipeline, "activate", activate_then_die)
    with pytest.raises(Crash):
        await runtime.provisioning.run(tenant.id)
    monkeypatch.setattr(ProvisioningPipeline, "activate", real_activate)
    assert (await load_tenant(runtime, tenant.id)).status == "active"

    # The job is picked up again after the crash and runs the pipeline once more.
    assert await runtime.provisioning.run(tenant.id) == "active"
    states = await step_states(runtime, tenant.id)
    assert {status for status, _ in states.values()} == {"done"}, states


# --- 1d. a worker killed mid-run; another worker finishes every tenant ----------------------


def worker_environment(settings: Settings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    env.update(garment_env(settings))
    env.update(
        {
            "GARMENT_CONFIG_FILE": "/nonexistent/garment.toml",
            "GARMENT_DATA_DIR": str(tmp_path / "worker-data"),
            "GARMENT_MAIL__DIRECTORY": str(tmp_path / "worker-mail"),
            "GARMENT_AUTO_MIGRATE": "false",
            "GARMENT_DEMO_DATA": "false",
            "GARMENT_JOBS__HEARTBEAT_TIMEOUT_SECONDS": "2",
            "GARMENT_JOBS__DEQUEUE_TIMEOUT_SECONDS": "0.5",
            "GARMENT_JOBS__WORKER_CONCURRENCY": "2",
            "GARMENT_LOG__LEVEL": "WARNING",
        }
    )
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(GARMENT_BIN), "worker"], env=env, stdout=output, stderr=subprocess.STDOUT
        )


async def statuses(runtime: Runtime, ids: list[uuid.UUID]) -> tuple[dict[uuid.UUID, str], int]:
    """Each tenant's status, and how many of their steps are `running` right now."""
    async with runtime.central.transaction() as session:
        rows = await session.execute(
            text("SELECT id, status FROM tenants WHERE id = ANY(:ids)"), {"ids": ids}
        )
        found = {row[0]: row[1] for row in rows}
        running = (
            await session.execute(
                text(
                    "SELECT count(*) FROM provisioning_runs "
                    "WHERE tenant_id = ANY(:ids) AND status = 'running'"
                ),
                {"ids": ids},
            )
        ).scalar_one()
    return found, int(running)


async def jobs_left(runtime: Runtime, ids: list[uuid.UUID]) -> int:
    """Provisioning jobs of these tenants still queued, picked or held (done ones are gone)."""
    keys = [provisioning_dedupe_key(tenant_id) for tenant_id in ids]
    async with runtime.central.transaction() as session:
        count = await session.execute(
            text("SELECT count(*) FROM pgqueuer WHERE dedupe_key = ANY(:keys)"), {"keys": keys}
        )
        return int(count.scalar_one())


@pytest.mark.slow
async def test_a_worker_killed_mid_run_leaves_tenants_another_worker_finishes(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    tenants = [await registered_tenant(runtime) for _ in range(15)]
    ids = [tenant.id for tenant in tenants]
    for tenant_id in ids:  # each creation enqueued its job in the same transaction
        assert await runtime.jobs.pending_id(provisioning_dedupe_key(tenant_id)) is not None
    env = worker_environment(settings, tmp_path)
    log = tmp_path / "workers.log"
    workers: list[subprocess.Popen[bytes]] = []
    try:
        first = start_worker(env, log)
        workers.append(first)
        deadline = time.monotonic() + 30
        while True:
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no worker start:\n" + log.read_text()
            found, running = await statuses(runtime, ids)
            active = sum(status == "active" for status in found.values())
            assert active < len(ids), "every tenant was done before the kill"
            # Some tenants finished, others mid-step: the kill lands in the middle of the run.
            if active and running:
                first.send_signal(signal.SIGKILL)
                break
            await asyncio.sleep(0.01)
        assert await asyncio.to_thread(first.wait, 10) == -signal.SIGKILL
        found, _ = await statuses(runtime, ids)
        assert 0 < sum(status == "active" for status in found.values()) < len(ids), found

        second = start_worker(env, log)
        workers.append(second)
        # Done means every tenant active, no step left `running`, and every job finished --
        # including those the killed worker held, re-picked after the heartbeat timeout.
        deadline = time.monotonic() + 40
        while True:
            assert second.poll() is None, log.read_text()
            found, running = await statuses(runtime, ids)
            left = await jobs_left(runtime, ids)
            if all(status == "active" for status in found.values()) and not running and not left:
                break
            assert time.monotonic() < deadline, (
                f"unfinished: {found}, {running} steps running, {left} jobs left\n"
                + log.read_text()
            )
            await asyncio.sleep(0.1)

        for tenant_id in ids:
            stored = await load_tenant(runtime, tenant_id)
            assert stored.cluster_key is not None
            assert await row_counts(runtime, stored.cluster_key, tenant_id) == EXPECTED_COUNTS
            states = await step_states(runtime, tenant_id)
            assert {status for status, _ in states.values()} == {"done"}, states

        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0, log.read_text()
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
