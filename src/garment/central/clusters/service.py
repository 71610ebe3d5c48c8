"""The cluster registry: register, drain, list (joined with configuration)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.clusters.errors import CLUSTER_NOT_FOUND
from garment.central.clusters.models import Cluster
from garment.platform.errors import CONFLICT, AppError

DEFAULT_CAPACITY = 1000


@dataclass(frozen=True, slots=True)
class ClusterRow:
    key: str
    status: str
    capacity: int
    region: str | None
    configured: bool


class ClusterService:
    async def register(
        self, session: AsyncSession, key: str, capacity: int, region: str | None = None
    ) -> Cluster:
        if await session.get(Cluster, key) is not None:
            raise AppError(CONFLICT)
        cluster = Cluster(key=key, status="active", capacity=capacity, region=region)
        session.add(cluster)
        await session.flush()
        return cluster

    async def update(
        self,
        session: AsyncSession,
        key: str,
        *,
        capacity: int | None = None,
        region: str | None = None,
        status: str | None = None,
    ) -> Cluster:
        cluster = await self.get(session, key)
        if capacity is not None:
            cluster.capacity = capacity
        if region is not None:
            cluster.region = region
        if status is not None:
            cluster.status = status
            cluster.drained_at = datetime.now(UTC) if status == "draining" else None
        await session.flush()
        return cluster

    async def drain(self, session: AsyncSession, key: str) -> Cluster:
        """A draining cluster keeps serving its tenants but takes no new ones."""
        return await self.update(session, key, status="draining")

    async def get(self, session: AsyncSession, key: str) -> Cluster:
        cluster = await session.get(Cluster, key)
        if cluster is None:
            raise AppError(CLUSTER_NOT_FOUND)
        return cluster

    async def status_of(self, session: AsyncSession, key: str) -> str | None:
        cluster = await session.get(Cluster, key)
        return cluster.status if cluster else None

    async def placeable(self, session: AsyncSession, configured: set[str]) -> list[Cluster]:
        """Clusters that take new tenants: active and with a URL in config."""
        rows = await session.execute(select(Cluster).where(Cluster.status == "active"))
        return [cluster for cluster in rows.scalars() if cluster.key in configured]

    async def ensure_registered(
        self, session: AsyncSession, keys: list[str], capacity: int = DEFAULT_CAPACITY
    ) -> None:
        for key in keys:
            await session.execute(
                insert(Cluster)
                .values(key=key, status="active", capacity=capacity)
                .on_conflict_do_nothing(index_elements=[Cluster.key])
            )

    async def rows(self, session: AsyncSession, configured: set[str]) -> list[ClusterRow]:
        """Registry rows plus configured keys that are not registered yet."""
        registered = (await session.execute(select(Cluster).order_by(Cluster.key))).scalars().all()
        rows = [
            ClusterRow(c.key, c.status, c.capacity, c.region, c.key in configured)
            for c in registered
        ]
        known = {c.key for c in registered}
        rows += [
            ClusterRow(key, "unregistered", 0, None, True) for key in sorted(configured - known)
        ]
        return rows
