"""The composition root: everything a process (server, worker, CLI command) holds for its life.

`Runtime.create()` resolves where the databases are (starting the embedded PostgreSQL when
nothing is configured), migrates when asked, and builds the engines, the mailer, the outbox relay
and the job queue. Background loops (relay, worker) start only when the process wants them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from garment.central.auth.component import AuthComponents
from garment.central.auth.service import AuthService
from garment.central.clusters.manager import ClusterConnectionManager
from garment.central.tenancy.service import TenancyService
from garment.config import Settings
from garment.contexts import register_contexts
from garment.platform import jobs as jobs_module
from garment.platform.db import Database, PoolOptions, create_engine, pool_stats
from garment.platform.dbsetup import (
    EMBEDDED_LAYOUT,
    DatabaseTarget,
    Targets,
    ensure_layout,
    targets_from_settings,
)
from garment.platform.embedded import EmbeddedPostgres
from garment.platform.events import OutboxRelay, RelayOptions, events, outbox_backlog
from garment.platform.jobs import JobQueue, WorkerOptions
from garment.platform.mail.mailer import Mailer, create_mailer
from garment.platform.metrics import (
    CLUSTER_BREAKER_OPEN,
    DB_POOL,
    JOBS,
    OUTBOX_EVENTS,
    MetricsExporter,
)
from garment.platform.migrations import MigrationResult, Tree, upgrade
from garment.platform.ratelimit import RateLimiter

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ClusterMigration:
    key: str
    result: MigrationResult | None
    error: str | None


@dataclass(frozen=True, slots=True)
class MigrationReport:
    central: MigrationResult
    clusters: list[ClusterMigration] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(cluster.error is None for cluster in self.clusters)


def migrate_central(target: DatabaseTarget) -> MigrationResult:
    return upgrade(Tree.CENTRAL, target.owner_url, target.app_role)


def migrate_cluster(target: DatabaseTarget) -> ClusterMigration:
    """One cluster's tenant tree; a failure is reported, not raised, so others still run."""
    try:
        return ClusterMigration(
            target.key, upgrade(Tree.TENANT, target.owner_url, target.app_role), None
        )
    except Exception as exc:
        logger.exception("migrate.cluster_failed", cluster=target.key)
        return ClusterMigration(target.key, None, f"{type(exc).__name__}: {exc}")


def migrate_all(
    targets: Targets, on_cluster_done: Callable[[ClusterMigration], None] | None = None
) -> MigrationReport:
    central = migrate_central(targets.central)
    clusters = []
    for target in targets.clusters.values():
        outcome = migrate_cluster(target)
        clusters.append(outcome)
        if on_cluster_done is not None:
            on_cluster_done(outcome)
    return MigrationReport(central=central, clusters=clusters)


async def resolve_targets(settings: Settings) -> tuple[Targets, EmbeddedPostgres | None]:
    """Where the databases are; starts (or attaches to) the embedded server when unconfigured."""
    if not settings.uses_embedded_database:
        return targets_from_settings(settings), None
    embedded = EmbeddedPostgres(settings.data_dir / "pgdata")
    superuser_url = await asyncio.to_thread(embedded.start)
    try:
        targets = await asyncio.to_thread(ensure_layout, superuser_url, EMBEDDED_LAYOUT)
    except BaseException:
        await asyncio.to_thread(embedded.stop)
        raise
    return targets, embedded


class UnsafeConfiguration(RuntimeError):
    pass


class Runtime:
    def __init__(
        self, settings: Settings, targets: Targets, *, embedded: EmbeddedPostgres | None = None
    ) -> None:
        self.settings = settings
        self.targets = targets
        self.embedded = embedded
        pool = PoolOptions(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        self.central = Database("central", create_engine(targets.central.app_url, pool))
        self.cluster_manager = ClusterConnectionManager(targets.clusters, pool)
        register_contexts()
        self.mailer: Mailer = create_mailer(settings.mail, settings.mail_directory)
        self.limiter = RateLimiter(settings.rate_limit)
        self.auth = AuthService(AuthComponents.build(settings, self.central, self.limiter))
        self.tenancy = TenancyService()
        self.auth.components.tenant_directory = self.tenancy
        self.relay = OutboxRelay(
            self.central,
            events,
            services=self,
            options=RelayOptions(
                lease_seconds=settings.jobs.outbox_lease_seconds,
                max_attempts=settings.jobs.outbox_max_attempts,
                poll_seconds=settings.jobs.outbox_poll_seconds,
            ),
        )
        self.central.after_commit_hooks.append(self.relay.after_commit)
        self.jobs = JobQueue(
            targets.central.app_url,
            jobs_module.tasks,
            services=self,
            options=WorkerOptions(
                heartbeat_timeout=timedelta(seconds=settings.jobs.heartbeat_timeout_seconds),
                dequeue_timeout=timedelta(seconds=settings.jobs.dequeue_timeout_seconds),
            ),
        )
        self.metrics = MetricsExporter()
        self.metrics.add_refresher(self._refresh_metrics)
        self.announcements: list[str] = []
        self._background: list[asyncio.Task[None]] = []

    @classmethod
    async def create(cls, settings: Settings, *, migrate: bool | None = None) -> Runtime:
        problems = settings.production_problems()
        if problems:
            raise UnsafeConfiguration("refusing to start in production: " + "; ".join(problems))
        targets, embedded = await resolve_targets(settings)
        try:
            if settings.should_auto_migrate if migrate is None else migrate:
                report = await asyncio.to_thread(migrate_all, targets)
                logger.info(
                    "migrate.done",
                    central=report.central.after,
                    clusters={
                        c.key: c.result.after if c.result else c.error for c in report.clusters
                    },
                )
            runtime = cls(settings, targets, embedded=embedded)
        except BaseException:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise
        try:
            await runtime.jobs.open()
            await runtime.auth.components.keys.ensure_loaded()
            if embedded is not None:
                await runtime.register_embedded_clusters()
            if settings.should_seed_demo_data:
                await runtime.seed_demo_data()
        except BaseException:
            await runtime.close()  # pools first, then the embedded server they point at
            raise
        return runtime

    def start_background(self, *, worker: bool = True) -> None:
        """The outbox relay and (optionally) a job worker, as tasks of this process."""
        self._spawn("outbox-relay", self.relay.run_forever())
        if worker:
            self._spawn("job-worker", self.jobs.run_worker(self.settings.jobs.worker_concurrency))

    def _spawn(self, name: str, coroutine: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await coroutine
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("background.crashed", task=name)

        self._background.append(asyncio.create_task(guarded(), name=name))

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._background.clear()
        await self.jobs.close()
        await self.cluster_manager.close()
        await self.central.dispose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
            self.embedded = None

    async def register_embedded_clusters(self) -> None:
        """The embedded default's `default` cluster is in the registry without any command."""
        from garment.central.clusters.service import ClusterService

        async with self.central.transaction() as session:
            await ClusterService().ensure_registered(
                session, self.cluster_manager.configured_keys()
            )

    async def seed_demo_data(self) -> None:
        """The newcomer path (embedded database only): a demo admin to log in with."""
        from garment.central.auth.demo import ensure_demo_admin, ensure_demo_tenant

        email, password = await ensure_demo_admin(self)
        tenant_id, status = await ensure_demo_tenant(self)
        self.announcements.append(f"  Demo tenant   demo ({tenant_id}, {status})")
        self.announcements.append(f"  Demo admin    {email}")
        if password:
            where = self.settings.data_dir / "demo-admin-password"
            self.announcements.append(f"  Password      {password}   (also in {where})")

    async def _refresh_metrics(self) -> None:
        async with self.central.transaction() as session:
            backlog = await outbox_backlog(session)
        for state, count in backlog.items():
            OUTBOX_EVENTS.labels(state).set(count)
        for status, count in (await self.jobs.counts()).items():
            JOBS.labels(status).set(count)
        for database in [self.central, *self.clusters.values()]:
            for state, value in pool_stats(database.engine).items():
                DB_POOL.labels(database.name, state).set(value)
        for key in self.cluster_manager.configured_keys():
            is_open = self.cluster_manager.breaker(key).state != "closed"
            CLUSTER_BREAKER_OPEN.labels(key).set(1 if is_open else 0)

    @property
    def clusters(self) -> dict[str, Database]:
        """Every configured cluster's pool (created on first use)."""
        manager = self.cluster_manager
        return {key: manager.database(key) for key in manager.configured_keys()}
