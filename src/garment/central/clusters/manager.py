"""ClusterConnectionManager: one lazily created pool per cluster, tenant-bound transactions, and a
circuit breaker per cluster (incident playbook 4).

Connection strings are configuration (`GARMENT_CLUSTERS`), the registry refers to them by key.
A cluster that cannot be reached turns into `503 CLUSTER_UNAVAILABLE` with `Retry-After` for the
tenants on that cluster only; after a few consecutive failures the breaker opens and requests fail
fast instead of waiting on a dead server, then one trial request is let through after the
cool-down, so a recovered cluster is used again without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.clusters.states import BreakerState
from garment.platform.db import (
    Database,
    PoolOptions,
    ReadTransaction,
    create_engine,
    describe_failure,
    is_connection_failure,
)
from garment.platform.dbsetup import DatabaseTarget
from garment.platform.errors import CLUSTER_UNAVAILABLE, AppError
from garment.platform.rls import (
    TenantBindingConnection,
    TenantBoundSession,
    bind_session_to_tenant,
)

logger = structlog.get_logger(__name__)


@dataclass
class BreakerOptions:
    failure_threshold: int = 3
    base_cooldown_seconds: float = 2.0
    max_cooldown_seconds: float = 30.0


@dataclass
class CircuitBreaker:
    options: BreakerOptions = field(default_factory=BreakerOptions)
    failures: int = 0
    open_until: float = 0.0
    cooldown: float = 0.0
    trial_in_flight: bool = False

    def retry_after(self) -> int | None:
        """Seconds to wait when requests must fail fast now; None when one may try."""
        now = time.monotonic()
        if self.failures < self.options.failure_threshold:
            return None
        if now < self.open_until:
            return max(1, math.ceil(self.open_until - now))
        if self.trial_in_flight:
            return 1
        self.trial_in_flight = True  # half-open: this caller is the trial
        return None

    def record_success(self) -> None:
        self.failures, self.open_until, self.cooldown, self.trial_in_flight = 0, 0.0, 0.0, False

    def record_failure(self) -> int:
        self.failures += 1
        self.trial_in_flight = False
        if self.failures >= self.options.failure_threshold:
            self.cooldown = min(
                max(self.cooldown * 2, self.options.base_cooldown_seconds),
                self.options.max_cooldown_seconds,
            )
            self.open_until = time.monotonic() + self.cooldown
        return max(1, math.ceil(self.cooldown or self.options.base_cooldown_seconds))

    @property
    def state(self) -> BreakerState:
        if self.failures < self.options.failure_threshold:
            return BreakerState.CLOSED
        return BreakerState.OPEN if time.monotonic() < self.open_until else BreakerState.HALF_OPEN


def unavailable(key: str, retry_after: int) -> AppError:
    return AppError(
        CLUSTER_UNAVAILABLE,
        params={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
        extra={"retry_after": retry_after},
    )


class ClusterConnectionManager:
    def __init__(
        self,
        targets: dict[str, DatabaseTarget],
        pool: PoolOptions | None = None,
        breaker: BreakerOptions | None = None,
    ) -> None:
        self.targets = dict(targets)
        self.pool = pool or PoolOptions()
        self.breaker_options = breaker or BreakerOptions()
        self._databases: dict[str, Database] = {}
        # Run after every commit on any cluster (cache invalidations of cluster data).
        self.after_commit_hooks: list[Callable[[AsyncSession], None]] = []
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = asyncio.Lock()

    def configured_keys(self) -> list[str]:
        return sorted(self.targets)

    def is_configured(self, key: str) -> bool:
        return key in self.targets

    def database(self, key: str) -> Database:
        """The cluster's pool, created on first use."""
        database = self._databases.get(key)
        if database is None:
            target = self.targets.get(key)
            if target is None:
                raise unavailable(key, 60)
            database = Database(
                key,
                create_engine(target.app_url, self.pool, connection_class=TenantBindingConnection),
                after_commit_hooks=list(self.after_commit_hooks),
                session_class=TenantBoundSession,
            )
            self._databases[key] = database
        return database

    def breaker(self, key: str) -> CircuitBreaker:
        return self._breakers.setdefault(key, CircuitBreaker(self.breaker_options))

    @asynccontextmanager
    async def tenant_transaction(
        self, key: str, tenant_id: uuid.UUID
    ) -> AsyncIterator[AsyncSession]:
        """A transaction on the cluster bound to one tenant: `app.tenant_id` is set with
        `set_config(..., true)` in the round trip that begins the transaction (when its first
        statement runs; no connection is taken before), so it dies with the transaction and a
        pooled connection never carries it into another request."""
        async with self.transaction(key) as session:
            bind_session_to_tenant(session, tenant_id)
            yield session

    @asynccontextmanager
    async def transaction(self, key: str) -> AsyncIterator[AsyncSession]:
        """A cluster transaction with no tenant bound (RLS shows it nothing of tenant tables)."""
        async with self.guarded(key) as database, database.transaction() as session:
            yield session

    @asynccontextmanager
    async def tenant_reader(self, key: str, tenant_id: uuid.UUID) -> AsyncIterator[ReadTransaction]:
        """A read-only transaction bound to one tenant, without an ORM session: for hot GET
        lists (`ReadTransaction`). The same breaker guards it as every cluster transaction."""
        async with (
            self.guarded(key) as database,
            database.read_transaction(tenant_id) as reader,
        ):
            yield reader

    @asynccontextmanager
    async def guarded(self, key: str) -> AsyncIterator[Database]:
        """The cluster's database for one unit of work, behind its circuit breaker: fail fast
        while it is open, and count how the work went against the cluster."""
        breaker = self.breaker(key)
        retry_after = breaker.retry_after()
        if retry_after is not None:
            raise unavailable(key, retry_after)
        database = self.database(key)
        try:
            yield database
        except asyncio.CancelledError:
            # A cancelled half-open trial proves nothing either way; let the next caller try.
            breaker.trial_in_flight = False
            raise
        except Exception as error:
            if isinstance(error, AppError) or not is_connection_failure(error):
                breaker.record_success()  # the cluster answered; the failure is elsewhere
                raise
            wait = breaker.record_failure()
            # Every pooled connection to a server that failed is suspect (a restart or an
            # administrator ends them all): drop them, or each later trial would meet one of
            # them, fail, and keep the breaker open long after the cluster is back.
            with contextlib.suppress(Exception):
                await database.engine.dispose()
            logger.warning(
                "cluster.unavailable",
                cluster=key,
                error=describe_failure(error),
                failures=breaker.failures,
                state=breaker.state,
            )
            raise unavailable(key, wait) from error
        breaker.record_success()

    async def ping(self, key: str) -> None:
        async with asyncio.timeout(2.0):
            await self.database(key).ping()

    async def close(self) -> None:
        for database in self._databases.values():
            await database.dispose()
        self._databases.clear()
