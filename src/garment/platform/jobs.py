"""Background jobs on PostgreSQL, through pgqueuer (chosen by measurement: docs/adr/0003).

Contexts declare tasks on the module-level `tasks` registry:

    @tasks.task("tenancy.provision", retries=5)
    async def provision(payload: dict[str, Any], job: JobContext) -> None: ...

and enqueue them with `runtime.jobs.enqueue(...)`, or `enqueue_in(session, ...)` to make the job
exist exactly when the caller's transaction commits. A failing job is retried with exponential
backoff; after its last retry it is held as `failed` (never deleted) for `garment jobs failed`
and `garment jobs retry`. A job whose worker died is picked up again after the heartbeat
timeout. Periodic tasks are cron schedules that enqueue an ordinary job, so they get retries too.
Jobs run at least once: handlers are idempotent.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import structlog
from pgqueuer import PgQueuer, Queries
from pgqueuer.adapters.persistence.qb import DBSettings
from pgqueuer.db import AsyncpgDriver
from pgqueuer.errors import RetryRequested
from pgqueuer.executors import DatabaseRetryEntrypointExecutor, EntrypointExecutorParameters
from pgqueuer.models import Job, Schedule
from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.context import RequestContext, reset_context, set_context
from garment.platform.db import plain_url
from garment.platform.metrics import JOB_RUNS

logger = structlog.get_logger(__name__)

JobHandler = Callable[[dict[str, Any], "JobContext"], Awaitable[None]]


class RetryLater(RetryRequested):
    """Raise in a handler to run this job again after `delay`: the handler chooses its own
    backoff (the outbound webhooks keep theirs per message) and it does not count against the
    task's `retries`. The job keeps its id and dedupe key while it waits."""

    def __init__(self, delay: timedelta, reason: str | None = None) -> None:
        super().__init__(delay=max(delay, timedelta(0)), reason=reason)


@dataclass(frozen=True, slots=True)
class JobContext:
    job_id: int
    attempt: int
    services: Any


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    handler: JobHandler
    retries: int
    initial_delay: timedelta
    max_delay: timedelta
    concurrency_limit: int


@dataclass(frozen=True, slots=True)
class PeriodicSpec:
    task: str
    cron: str
    payload: dict[str, Any]


@dataclass
class TaskRegistry:
    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    periodic: list[PeriodicSpec] = field(default_factory=list)

    def task(
        self,
        name: str,
        *,
        retries: int = 5,
        initial_delay: timedelta = timedelta(seconds=2),
        max_delay: timedelta = timedelta(minutes=10),
        concurrency_limit: int = 0,
    ) -> Callable[[JobHandler], JobHandler]:
        """Register a task. `retries` is how many times a failure is retried (so a task runs at
        most `retries + 1` times); `concurrency_limit` caps it across every worker (0: none)."""

        def register(handler: JobHandler) -> JobHandler:
            if name in self.tasks:
                raise ValueError(f"task {name} registered twice")
            self.tasks[name] = TaskSpec(
                name, handler, retries, initial_delay, max_delay, concurrency_limit
            )
            return handler

        return register

    def every(self, cron: str, task: str, payload: dict[str, Any] | None = None) -> None:
        """Enqueue `task` on a cron schedule (5 fields; a 6th field is seconds)."""
        self.periodic.append(PeriodicSpec(task, cron, payload or {}))


# Contexts register their tasks here at import time.
tasks = TaskRegistry()


def encode_payload(payload: dict[str, Any] | None) -> bytes:
    return json.dumps(payload or {}, separators=(",", ":"), default=str).encode()


def enqueue_from(source: str, task: str, *, id_column: str, dedupe_prefix: str) -> str:
    """Two CTEs (`job`, `job_logged`) to put in a larger statement: one job of `task` per row
    of the CTE `source`, with the payload `encode_payload({id_column: id})` (an integer id) and
    the dedupe key `dedupe_prefix + id`, logged `queued` as pgqueuer's own enqueue logs it. For
    a hot path that writes its row and enqueues its job in one statement (one round trip)
    instead of `enqueue_in`'s separate statements. pgqueuer is pinned to 1.6.x (migration
    0002); its table names come from its own settings."""
    names = DBSettings()
    return (
        f"job AS (INSERT INTO {names.queue_table} "
        "(priority, entrypoint, payload, execute_after, dedupe_key, status) "
        f"SELECT 0, '{task}', convert_to('{{\"{id_column}\":' || {id_column} || '}}', 'UTF8'), "
        f"now(), '{dedupe_prefix}' || {id_column}, 'queued' FROM {source} "
        "RETURNING id, entrypoint, priority), "
        f"job_logged AS (INSERT INTO {names.queue_table_log} "
        "(job_id, status, entrypoint, priority) SELECT id, 'queued', entrypoint, priority FROM job)"
    )


def decode_payload(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        return {}
    decoded = json.loads(raw)
    return decoded if isinstance(decoded, dict) else {"value": decoded}


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    heartbeat_timeout: timedelta = timedelta(seconds=30)
    dequeue_timeout: timedelta = timedelta(seconds=5)
    shutdown_grace_seconds: float = 20.0


class JobQueue:
    def __init__(
        self,
        url: str,
        registry: TaskRegistry = tasks,
        services: Any = None,
        options: WorkerOptions | None = None,
    ) -> None:
        self.url = plain_url(url)
        self.registry = registry
        self.services = services
        self.options = options or WorkerOptions()
        self.on_progress: Callable[[], None] = _nothing
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=4,
                server_settings={"application_name": "garment-jobs"},
            )

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("JobQueue.open() was not awaited")
        return self._pool

    def _known(self, task: str) -> None:
        if task not in self.registry.tasks:
            raise ValueError(f"unknown task {task!r}")

    async def enqueue(
        self,
        task: str,
        payload: dict[str, Any] | None = None,
        *,
        delay: timedelta | None = None,
        dedupe_key: str | None = None,
        priority: int = 0,
    ) -> int | None:
        """Enqueue now (autocommit). With `dedupe_key`, a job still queued or running with the
        same key makes this a no-op returning None."""
        self._known(task)
        return await _enqueue(
            Queries.from_asyncpg_pool(self.pool), task, payload, delay, dedupe_key, priority
        )

    async def enqueue_in(
        self,
        session: AsyncSession,
        task: str,
        payload: dict[str, Any] | None = None,
        *,
        delay: timedelta | None = None,
        dedupe_key: str | None = None,
        priority: int = 0,
    ) -> int | None:
        """Enqueue inside the session's transaction: the job exists iff the caller commits."""
        self._known(task)
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        if not getattr(raw.dbapi_connection, "_started", False):
            # SQLAlchemy's asyncpg adapter opens the real transaction lazily, at the first
            # statement; enqueueing before it would run in autocommit and survive a rollback.
            await connection.exec_driver_sql("SELECT 1")
        queries = Queries(AsyncpgDriver(raw.driver_connection))
        return await _enqueue(queries, task, payload, delay, dedupe_key, priority)

    async def pending_id(self, dedupe_key: str) -> int | None:
        """The id of the queued or running job with this dedupe key, if there is one."""
        found = await self.pool.fetchval(
            "SELECT id FROM pgqueuer WHERE dedupe_key = $1 AND status IN ('queued', 'picked') "
            "ORDER BY id DESC LIMIT 1",
            dedupe_key,
        )
        return int(found) if found is not None else None

    async def counts(self) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT status::text, count(*) FROM pgqueuer GROUP BY 1")
        counts = {"queued": 0, "picked": 0, "failed": 0}
        counts.update({row[0]: int(row[1]) for row in rows})
        return counts

    async def failed_jobs(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT id, entrypoint, attempts, updated, payload FROM pgqueuer "
            "WHERE status = 'failed' ORDER BY updated DESC LIMIT $1",
            limit,
        )
        return [dict(row) for row in rows]

    async def discard_failed(self, dedupe_key: str) -> int:
        """Drop held failures of a job whose work was completed another way."""
        result = await self.pool.execute(
            "DELETE FROM pgqueuer WHERE status = 'failed' AND dedupe_key = $1", dedupe_key
        )
        return int(result.split()[-1])

    async def retry_failed(self, job_ids: list[int]) -> list[int]:
        """Put held (failed) jobs back in the queue with a fresh attempt count; the ids that
        were requeued (an id that is not a held job is left out)."""
        rows = await self.pool.fetch(
            "UPDATE pgqueuer SET status = 'queued', attempts = 0, execute_after = now(), "
            "updated = now() WHERE status = 'failed' AND id = ANY($1::bigint[]) RETURNING id",
            job_ids,
        )
        return sorted(int(row["id"]) for row in rows)

    async def run_worker(self, concurrency: int, *, drain: bool = False) -> None:
        """Process jobs until cancelled (or, with `drain`, until the queue is empty). On
        cancellation it stops fetching and lets running jobs finish within the grace period."""
        from pgqueuer.types import QueueExecutionMode

        batch_size = max(1, concurrency // 2)
        worker = self._build_worker()
        run = asyncio.create_task(
            worker.run(
                batch_size=batch_size,
                max_concurrent_tasks=max(concurrency, 2 * batch_size),
                heartbeat_timeout=self.options.heartbeat_timeout,
                dequeue_timeout=self.options.dequeue_timeout,
                mode=QueueExecutionMode.drain if drain else QueueExecutionMode.continuous,
            ),
            name="pgqueuer",
        )
        try:
            await asyncio.shield(run)
        except asyncio.CancelledError:
            worker.shutdown.set()
            try:
                await asyncio.wait_for(run, timeout=self.options.shutdown_grace_seconds)
            except (TimeoutError, asyncio.CancelledError, Exception):
                run.cancel()
            raise

    def _build_worker(self) -> PgQueuer:
        worker = PgQueuer.from_asyncpg_pool(self.pool)
        for spec in self.registry.tasks.values():
            worker.entrypoint(
                spec.name,
                concurrency_limit=spec.concurrency_limit,
                accepts_context=False,
                on_failure="hold",
                executor_factory=_retrying(spec),
            )(self._job_runner(spec))
        for periodic in self.registry.periodic:
            worker.schedule(f"every:{periodic.cron}:{periodic.task}", periodic.cron)(
                self._periodic_enqueuer(periodic)
            )
        return worker

    def _job_runner(self, spec: TaskSpec) -> Callable[[Job], Awaitable[None]]:
        async def run_job(job: Job) -> None:
            token = set_context(RequestContext(request_id=f"job-{job.id}-{uuid.uuid4().hex[:8]}"))
            log = logger.bind(task=spec.name, job_id=job.id, attempt=job.attempts + 1)
            try:
                await spec.handler(
                    decode_payload(job.payload), JobContext(job.id, job.attempts + 1, self.services)
                )
            except RetryLater as later:
                JOB_RUNS.labels(spec.name, "retry").inc()
                log.info("job.retry_later", delay_seconds=later.delay.total_seconds())
                raise
            except Exception as exc:
                outcome = "retry" if job.attempts < spec.retries else "failed"
                JOB_RUNS.labels(spec.name, outcome).inc()
                log.warning("job.failed", outcome=outcome, error=f"{type(exc).__name__}: {exc}")
                raise
            else:
                JOB_RUNS.labels(spec.name, "succeeded").inc()
                log.info("job.succeeded")
            finally:
                self.on_progress()
                reset_context(token)

        return run_job

    def _periodic_enqueuer(self, periodic: PeriodicSpec) -> Callable[[Schedule], Awaitable[None]]:
        async def enqueue_periodic(_: Schedule) -> None:
            # The dedupe key keeps one pending run: a slow run is not stacked up on itself.
            await self.enqueue(
                periodic.task, periodic.payload, dedupe_key=f"every:{periodic.cron}:{periodic.task}"
            )

        return enqueue_periodic


def _retrying(spec: TaskSpec) -> Callable[[EntrypointExecutorParameters], Any]:
    def factory(parameters: EntrypointExecutorParameters) -> DatabaseRetryEntrypointExecutor:
        return DatabaseRetryEntrypointExecutor(
            parameters=parameters,
            max_attempts=spec.retries,
            initial_delay=spec.initial_delay,
            max_delay=spec.max_delay,
            backoff_multiplier=2.0,
        )

    return factory


async def _enqueue(
    queries: Queries,
    task: str,
    payload: dict[str, Any] | None,
    delay: timedelta | None,
    dedupe_key: str | None,
    priority: int,
) -> int | None:
    ids = await queries.enqueue(
        task,
        encode_payload(payload),
        priority=priority,
        execute_after=delay,
        dedupe_key=dedupe_key,
        on_conflict="skip",
    )
    return int(ids[0]) if ids and ids[0] is not None else None


def _nothing() -> None:
    return None
