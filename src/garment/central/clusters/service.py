"""The cluster registry: register, update, drain, list (joined with configuration), probe.

Connection strings are configuration; `ClusterConnectionManager` (which this context also owns)
knows which keys have one, so every row here says whether its cluster is `configured`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.clusters.errors import CLUSTER_NOT_FOUND
from garment.central.clusters.manager import ClusterConnectionManager
from garment.central.clusters.models import Cluster
from garment.central.clusters.probe import ProbeResult, probe_cluster
from garment.central.clusters.repository import ClusterRepository
from garment.central.clusters.states import CLUSTER_TRANSITIONS, BreakerState, ClusterStatus
from garment.platform.errors import CONFLICT, INVALID_STATE_TRANSITION, AppError

__all__ = ["ClusterConnectionManager", "ClusterRow", "ClusterService", "ProbeResult"]

DEFAULT_CAPACITY = 1000
UNREGISTERED = "unregistered"


@dataclass(frozen=True, slots=True)
class ClusterRow:
    """A registry row as other contexts and commands see it (`status` is `unregistered` for a
    key that has a URL in config but no registry row)."""

    key: str
    status: str
    capacity: int
    region: str | None
    configured: bool


class ClusterService:
    def __init__(self, manager: ClusterConnectionManager) -> None:
        self.manager = manager

    def _row(self, cluster: Cluster) -> ClusterRow:
        return ClusterRow(
            cluster.key,
            cluster.status,
            cluster.capacity,
            cluster.region,
            self.manager.is_configured(cluster.key),
        )

    async def register(
        self, session: AsyncSession, key: str, capacity: int, region: str | None = None
    ) -> ClusterRow:
        clusters = ClusterRepository(session)
        if await clusters.get(key) is not None:
            raise AppError(CONFLICT)
        cluster = await clusters.create(
            Cluster(key=key, status=ClusterStatus.ACTIVE, capacity=capacity, region=region)
        )
        return self._row(cluster)

    async def update(
        self,
        session: AsyncSession,
        key: str,
        *,
        capacity: int | None = None,
        region: str | None = None,
        status: ClusterStatus | None = None,
    ) -> ClusterRow:
        cluster = await self._get(session, key, for_update=True)
        if capacity is not None:
            cluster.capacity = capacity
        if region is not None:
            cluster.region = region
        if status is not None and status != cluster.status:
            current = ClusterStatus(cluster.status)
            if status not in CLUSTER_TRANSITIONS[current]:
                raise AppError(
                    INVALID_STATE_TRANSITION, params={"current": current, "target": status}
                )
            cluster.status = status
            cluster.drained_at = datetime.now(UTC) if status is ClusterStatus.DRAINING else None
        await session.flush()
        return self._row(cluster)

    async def drain(self, session: AsyncSession, key: str) -> ClusterRow:
        """A draining cluster keeps serving its tenants but takes no new ones."""
        return await self.update(session, key, status=ClusterStatus.DRAINING)

    async def get(self, session: AsyncSession, key: str) -> ClusterRow:
        return self._row(await self._get(session, key))

    async def _get(self, session: AsyncSession, key: str, *, for_update: bool = False) -> Cluster:
        cluster = await ClusterRepository(session).get(key, for_update=for_update)
        if cluster is None:
            raise AppError(CLUSTER_NOT_FOUND)
        return cluster

    async def status_of(self, session: AsyncSession, key: str) -> ClusterStatus | None:
        cluster = await ClusterRepository(session).get(key)
        return ClusterStatus(cluster.status) if cluster else None

    async def placeable(self, session: AsyncSession) -> list[ClusterRow]:
        """Clusters that take new tenants: active, with a URL in config, and not known to be
        down right now (this process's breaker is closed), so a new tenant is not provisioned
        onto an outage."""
        active = await ClusterRepository(session).with_status(ClusterStatus.ACTIVE)
        return [
            self._row(cluster)
            for cluster in active
            if self.manager.is_configured(cluster.key)
            and self.manager.breaker(cluster.key).state is BreakerState.CLOSED
        ]

    async def ensure_registered(
        self, session: AsyncSession, keys: list[str], capacity: int = DEFAULT_CAPACITY
    ) -> None:
        await ClusterRepository(session).insert_missing(keys, capacity)

    async def rows(self, session: AsyncSession) -> list[ClusterRow]:
        """Registry rows plus configured keys that are not registered yet."""
        registered = await ClusterRepository(session).ordered()
        rows = [self._row(cluster) for cluster in registered]
        known = {cluster.key for cluster in registered}
        configured = set(self.manager.configured_keys())
        rows += [ClusterRow(key, UNREGISTERED, 0, None, True) for key in sorted(configured - known)]
        return rows

    def breaker_states(self) -> dict[str, str]:
        return {key: self.manager.breaker(key).state for key in self.manager.configured_keys()}

    async def probe(self, key: str, tenants: int | None = None) -> ProbeResult:
        """Reachability, migrations, RLS and role safety of one cluster (playbook 4)."""
        return await probe_cluster(self.manager, key, tenants)
