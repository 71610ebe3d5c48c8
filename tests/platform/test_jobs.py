"""The PostgreSQL job queue: retries with backoff, held failures, transactional enqueue, cron."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from pgqueuer import Queries
from sqlalchemy import text

from garment.platform.db import Database, create_engine
from garment.platform.dbsetup import Targets
from garment.platform.jobs import JobContext, JobHandler, JobQueue, TaskRegistry, WorkerOptions
from garment.platform.migrations import migrate_central
from tests.conftest import LayoutFactory


@pytest.fixture(scope="module")
def central_target(layout_factory: LayoutFactory) -> Targets:
    _, targets = layout_factory("gj")
    migrate_central(targets.central)
    return targets


class Calls:
    def __init__(self) -> None:
        self.runs: list[tuple[str, dict[str, Any], int]] = []
        self.failures: dict[str, int] = {}


def registry_for(calls: Calls) -> TaskRegistry:
    registry = TaskRegistry()

    async def handle(name: str, payload: dict[str, Any], job: JobContext) -> None:
        calls.runs.append((name, payload, job.attempt))
        if calls.failures.get(name, 0) > 0:
            calls.failures[name] -= 1
            raise RuntimeError(f"{name} failed")

    def handler_for(name: str) -> JobHandler:
        async def handler(payload: dict[str, Any], job: JobContext) -> None:
            await handle(name, payload, job)

        return handler

    for name, retries in (("test.flaky", 3), ("test.doomed", 1), ("test.tick", 0)):
        registry.task(name, retries=retries, initial_delay=timedelta(milliseconds=50))(
            handler_for(name)
        )
    return registry


@pytest.fixture
async def queue(central_target: Targets) -> AsyncIterator[tuple[JobQueue, Calls]]:
    calls = Calls()
    queue = JobQueue(
        central_target.central.app_url,
        registry_for(calls),
        options=WorkerOptions(dequeue_timeout=timedelta(milliseconds=200)),
    )
    await queue.open()
    await queue.pool.execute("DELETE FROM pgqueuer; DELETE FROM pgqueuer_schedules")
    try:
        yield queue, calls
    finally:
        await queue.close()


async def run_until(queue: JobQueue, done: Callable[[], bool], timeout: float = 10) -> None:
    worker = asyncio.create_task(queue.run_worker(concurrency=2))
    try:
        async with asyncio.timeout(timeout):
            while not done():
                await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


async def test_job_runs_with_its_payload(queue: tuple[JobQueue, Calls]) -> None:
    jobs, calls = queue
    await jobs.enqueue("test.flaky", {"tenant": "acme"})
    await run_until(jobs, lambda: len(calls.runs) == 1)
    assert calls.runs == [("test.flaky", {"tenant": "acme"}, 1)]


async def test_failing_job_is_retried_until_it_succeeds(queue: tuple[JobQueue, Calls]) -> None:
    jobs, calls = queue
    calls.failures["test.flaky"] = 2
    await jobs.enqueue("test.flaky", {"n": 1})
    await run_until(jobs, lambda: calls.failures["test.flaky"] == 0 and len(calls.runs) == 3)
    assert [attempt for _, _, attempt in calls.runs] == [1, 2, 3]
    await asyncio.sleep(0.3)
    counts = await jobs.counts()
    assert counts["queued"] == 0 and counts["failed"] == 0


async def test_exhausted_job_is_held_and_can_be_retried(queue: tuple[JobQueue, Calls]) -> None:
    jobs, calls = queue
    calls.failures["test.doomed"] = 2  # retries=1: two runs, both fail
    await jobs.enqueue("test.doomed")

    async def failed() -> list[dict[str, Any]]:
        return await jobs.failed_jobs()

    await run_until(jobs, lambda: len(calls.runs) == 2)
    for _ in range(40):
        held = await failed()
        if held:
            break
        await asyncio.sleep(0.05)
    assert [job["entrypoint"] for job in held] == ["test.doomed"]
    assert await jobs.retry_failed([held[0]["id"], 10**12]) == [held[0]["id"]]
    await run_until(jobs, lambda: len(calls.runs) == 3)
    assert calls.runs[-1][2] == 1  # a fresh attempt count


async def test_enqueue_in_transaction_follows_commit_or_rollback(
    central_target: Targets, queue: tuple[JobQueue, Calls]
) -> None:
    jobs, _ = queue
    database = Database("central", create_engine(central_target.central.app_url))
    try:
        with pytest.raises(RuntimeError):
            async with database.transaction() as session:
                await jobs.enqueue_in(session, "test.flaky", {"kept": False})
                raise RuntimeError("rollback")
        assert (await jobs.counts())["queued"] == 0
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
            await jobs.enqueue_in(session, "test.flaky", {"kept": True})
        assert (await jobs.counts())["queued"] == 1
    finally:
        await database.dispose()


async def test_dedupe_key_keeps_one_pending_job(queue: tuple[JobQueue, Calls]) -> None:
    jobs, _ = queue
    first = await jobs.enqueue("test.flaky", dedupe_key="tenant:1")
    second = await jobs.enqueue("test.flaky", dedupe_key="tenant:1")
    assert first is not None and second is None
    assert (await jobs.counts())["queued"] == 1


async def test_unknown_task_is_refused(queue: tuple[JobQueue, Calls]) -> None:
    jobs, _ = queue
    with pytest.raises(ValueError, match="unknown task"):
        await jobs.enqueue("test.nope")


async def test_periodic_task_enqueues_a_job(central_target: Targets) -> None:
    calls = Calls()
    registry = registry_for(calls)
    registry.every("* * * * * */1", "test.tick", {"source": "cron"})
    jobs = JobQueue(
        central_target.central.app_url,
        registry,
        options=WorkerOptions(dequeue_timeout=timedelta(milliseconds=200)),
    )
    await jobs.open()
    try:
        await run_until(jobs, lambda: any(name == "test.tick" for name, _, _ in calls.runs))
    finally:
        await jobs.close()
    assert ("test.tick", {"source": "cron"}, 1) in calls.runs


async def test_installed_schema_matches_the_pinned_pgqueuer(
    queue: tuple[JobQueue, Calls],
) -> None:
    jobs, _ = queue
    plan = await Queries.from_asyncpg_pool(jobs.pool).plan_upgrade()
    assert plan.statements == ()
