"""Tenant data on clusters: export and move (`garment tenants export|move`).

Both read through RLS-bound transactions, so they see exactly one tenant's rows whatever the
table. A move:

1. marks the tenant read-only (the Tenant API refuses writes with TENANT_MAINTENANCE) and waits
   for other processes' tenant caches to notice;
2. clears any rows a previous, interrupted move left on the target;
3. copies every tenant table, parents before children;
4. verifies row counts and checksums of every table on both sides, and aborts (removing the copy)
   on any difference;
5. switches the registry to the target in one central transaction;
6. deletes the source rows, verifies they are gone, and lifts read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.tenancy.models import Tenant
from garment.central.tenancy.service import RESOLVE_CACHE_SECONDS
from garment.models import tenant_metadata
from garment.platform.errors import INVALID_STATE_TRANSITION, AppError, CommandError
from garment.platform.migrations import Tree, current_revision, head_revision

if TYPE_CHECKING:
    from garment.runtime import Runtime

Progress = Callable[[str], None]


def tenant_tables() -> list[Table]:
    """Every tenant table, parents before children (foreign-key order)."""
    return list(tenant_metadata().sorted_tables)


@dataclass(frozen=True, slots=True)
class TableFingerprint:
    rows: int
    checksum: str


@dataclass
class MoveReport:
    tenant_id: uuid.UUID
    source: str
    target: str
    tables: dict[str, TableFingerprint] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(fingerprint.rows for fingerprint in self.tables.values())


class MoveAborted(CommandError):
    pass


async def fingerprint(session: AsyncSession, table: Table) -> TableFingerprint:
    """Row count and an order-independent checksum of the bound tenant's rows."""
    row = (
        await session.execute(
            text(
                f"SELECT count(*) AS n, coalesce(md5(string_agg(h, '' ORDER BY h)), '') AS sum "
                f"FROM (SELECT md5(t::text) AS h FROM {table.name} t) hashed"
            )
        )
    ).one()
    return TableFingerprint(rows=int(row.n), checksum=str(row.sum))


def _parents_first(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Self-referencing rows (taxonomy parents) ordered so every parent precedes its children."""
    if "parent_id" not in table.c or "id" not in table.c:
        return rows
    placed: set[Any] = set()
    ordered: list[dict[str, Any]] = []
    pending = rows
    while pending:
        ready = [r for r in pending if r["parent_id"] is None or r["parent_id"] in placed]
        if not ready:  # a cycle cannot exist, but never loop forever on bad data
            ordered.extend(pending)
            break
        ordered.extend(ready)
        placed.update(r["id"] for r in ready)
        ready_ids = {id(r) for r in ready}
        pending = [r for r in pending if id(r) not in ready_ids]
    return ordered


class TenantMover:
    def __init__(self, runtime: Runtime, *, cache_wait_seconds: float | None = None) -> None:
        self.runtime = runtime
        self.manager = runtime.cluster_manager
        self.cache_wait_seconds = (
            RESOLVE_CACHE_SECONDS + 1 if cache_wait_seconds is None else cache_wait_seconds
        )

    async def export(self, tenant: Tenant) -> AsyncIterator[dict[str, Any]]:
        """Every row of the tenant on its cluster: {"table": ..., "row": {...}}."""
        if tenant.cluster_key is None:
            return
        async with self.manager.tenant_transaction(tenant.cluster_key, tenant.id) as session:
            for table in tenant_tables():
                result = await session.execute(select(table))
                for row in result.mappings():
                    yield {"table": table.name, "row": {k: _jsonable(v) for k, v in row.items()}}

    async def fingerprints(self, cluster: str, tenant_id: uuid.UUID) -> dict[str, TableFingerprint]:
        async with self.manager.tenant_transaction(cluster, tenant_id) as session:
            return {table.name: await fingerprint(session, table) for table in tenant_tables()}

    async def move(
        self, tenant_id: uuid.UUID, target: str, progress: Progress | None = None
    ) -> MoveReport:
        say = progress or (lambda _: None)
        tenant = await self._begin(tenant_id, target)
        source = tenant.cluster_key
        assert source is not None
        report = MoveReport(tenant_id=tenant_id, source=source, target=target)
        try:
            if self.cache_wait_seconds:
                say(f"read-only; waiting {self.cache_wait_seconds:.0f}s for tenant caches")
                await asyncio.sleep(self.cache_wait_seconds)
            say("clearing leftovers on the target")
            await self._delete_rows(target, tenant_id)
            say("copying rows")
            await self._copy(source, target, tenant_id, say)
            say("verifying counts and checksums")
            expected = await self.fingerprints(source, tenant_id)
            copied = await self.fingerprints(target, tenant_id)
            if expected != copied:
                different = sorted(t for t in expected if expected[t] != copied.get(t))
                raise MoveAborted("copy differs from source in: " + ", ".join(different))
            report.tables = expected
            say("switching the registry")
            await self._switch(tenant_id, source, target)
        except BaseException:
            await self._abort(tenant_id, target)
            raise
        if self.cache_wait_seconds:
            # Other processes may still read the source for the life of their tenant cache.
            say(f"switched; waiting {self.cache_wait_seconds:.0f}s before removing the source")
            await asyncio.sleep(self.cache_wait_seconds)
        say("deleting source rows")
        try:
            # A write that reached the source after the verification would die with it: keep
            # the source (and say so) rather than lose anything.
            if await self.fingerprints(source, tenant_id) != report.tables:
                raise MoveAborted(
                    f"the source changed after verification; the tenant now lives on {target} "
                    f"and its old rows stay on {source} for reconciliation "
                    "(`garment tenants export`, then `garment tenants purge`)"
                )
            await self.purge(tenant_id, source)
        finally:
            # The tenant lives, verified, on the target: it must not stay read-only because
            # the old copy could not be removed (`garment tenants purge` finishes that job).
            await self._set_read_only(tenant_id, False)
        say("done")
        return report

    async def unlock(self, tenant_id: uuid.UUID) -> None:
        """Lift read-only after a move process died before it could (the registry tells where
        the tenant lives; leftovers elsewhere go with `purge`)."""
        await self._set_read_only(tenant_id, False)

    async def purge(self, tenant_id: uuid.UUID, cluster: str) -> int:
        """Delete a tenant's rows from a cluster it does not live on (a move's leftovers)."""
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id)
        if tenant is not None and tenant.cluster_key == cluster:
            raise MoveAborted(f"the tenant lives on {cluster}; refusing to delete its rows")
        before = await self.fingerprints(cluster, tenant_id)
        await self._delete_rows(cluster, tenant_id)
        leftover = await self.fingerprints(cluster, tenant_id)
        if any(fp.rows for fp in leftover.values()):
            raise MoveAborted(f"rows remain on {cluster} after delete")
        return sum(fp.rows for fp in before.values())

    async def _begin(self, tenant_id: uuid.UUID, target: str) -> Tenant:
        if not self.manager.is_configured(target):
            raise MoveAborted(f"cluster {target} has no configured URL")
        await self._check_target(target)
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id, with_for_update=True)
            if tenant is None:
                raise MoveAborted("tenant not found")
            if tenant.status not in ("active", "suspended") or tenant.cluster_key is None:
                raise AppError(
                    INVALID_STATE_TRANSITION, params={"current": tenant.status, "target": "moved"}
                )
            if tenant.cluster_key == target:
                raise MoveAborted(f"tenant already lives on {target}")
            if tenant.read_only:
                raise MoveAborted("tenant is read-only: another move may be running")
            tenant.read_only = True
            self.runtime.tenancy.forget(tenant)
            return tenant

    async def _check_target(self, target: str) -> None:
        from garment.central.clusters.service import ClusterService

        async with self.runtime.central.transaction() as session:
            status = await ClusterService().status_of(session, target)
        if status != "active":
            raise MoveAborted(f"cluster {target} is {status or 'not registered'}, not active")
        owner_url = self.runtime.targets.clusters[target].owner_url
        revision = await asyncio.to_thread(current_revision, Tree.TENANT, owner_url)
        if revision != head_revision(Tree.TENANT):
            raise MoveAborted(
                f"cluster {target} is at {revision}, not {head_revision(Tree.TENANT)}: "
                "run `garment clusters migrate` first"
            )

    async def _copy(self, source: str, target: str, tenant_id: uuid.UUID, say: Progress) -> None:
        async with (
            self.manager.tenant_transaction(source, tenant_id) as reading,
            self.manager.tenant_transaction(target, tenant_id) as writing,
        ):
            for table in tenant_tables():
                result = await reading.execute(select(table))
                rows = _parents_first(table, [dict(row) for row in result.mappings()])
                for start in range(0, len(rows), 500):
                    await writing.execute(insert(table), rows[start : start + 500])
                say(f"  {table.name}: {len(rows)} rows")

    async def _delete_rows(self, cluster: str, tenant_id: uuid.UUID) -> None:
        async with self.manager.tenant_transaction(cluster, tenant_id) as session:
            for table in reversed(tenant_tables()):
                if "parent_id" in table.c:
                    await session.execute(
                        table.update().where(table.c.tenant_id == tenant_id).values(parent_id=None)
                    )
                await session.execute(delete(table).where(table.c.tenant_id == tenant_id))

    async def _switch(self, tenant_id: uuid.UUID, source: str, target: str) -> None:
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id, with_for_update=True)
            if tenant is None or tenant.cluster_key != source:
                raise MoveAborted("the tenant changed during the move")
            tenant.cluster_key = target
            self.runtime.tenancy.forget(tenant)

    async def _abort(self, tenant_id: uuid.UUID, target: str) -> None:
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id)
            moved = tenant is not None and tenant.cluster_key == target
        if not moved:
            # The target may be the very reason we abort; the copy is harmless while unswitched.
            with contextlib.suppress(Exception):
                await self._delete_rows(target, tenant_id)
        await self._set_read_only(tenant_id, False)

    async def _set_read_only(self, tenant_id: uuid.UUID, read_only: bool) -> None:
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id, with_for_update=True)
            if tenant is not None:
                tenant.read_only = read_only
                self.runtime.tenancy.forget(tenant)


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
