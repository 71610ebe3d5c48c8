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

The tables come from the composition root (every tenant context's metadata, parents before
children), so this module never imports another context's models.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from garment.central.clusters.service import ClusterConnectionManager, ClusterService
from garment.central.clusters.states import ClusterStatus
from garment.central.tenancy.models import Tenant
from garment.central.tenancy.repository import TenantRepository, TenantRows, TenantTable
from garment.central.tenancy.service import TenancyService, TenantRef
from garment.central.tenancy.states import MOVABLE, TenantStatus
from garment.platform.db import Database
from garment.platform.errors import INVALID_STATE_TRANSITION, AppError, CommandError
from garment.platform.migrations import Tree, current_revision, head_revision

Progress = Callable[[str], None]

# How long a move waits after marking the tenant read-only (and again after the switch) for
# requests already in flight in other processes to finish: their caches drop the tenant at once
# (the change is announced at commit), but a request that read it just before keeps going.
IN_FLIGHT_SECONDS = 5.0


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


def _parents_first(table: TenantTable, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
    def __init__(
        self,
        *,
        central: Database,
        cluster_manager: ClusterConnectionManager,
        tenancy: TenancyService,
        clusters: ClusterService,
        tables: Sequence[TenantTable],
        cache_wait_seconds: float | None = None,
    ) -> None:
        self.central = central
        self.manager = cluster_manager
        self.tenancy = tenancy
        self.clusters = clusters
        self.tables = list(tables)
        self.cache_wait_seconds = (
            IN_FLIGHT_SECONDS + 1 if cache_wait_seconds is None else cache_wait_seconds
        )

    def with_cache_wait(self, seconds: float) -> TenantMover:
        """The same mover waiting `seconds` for tenant caches (tests and quick local moves)."""
        return TenantMover(
            central=self.central,
            cluster_manager=self.manager,
            tenancy=self.tenancy,
            clusters=self.clusters,
            tables=self.tables,
            cache_wait_seconds=seconds,
        )

    async def export(self, tenant: TenantRef) -> AsyncIterator[dict[str, Any]]:
        """Every row of the tenant on its cluster: {"table": ..., "row": {...}}."""
        if tenant.cluster_key is None:
            return
        async with self.manager.tenant_transaction(tenant.cluster_key, tenant.id) as session:
            rows = TenantRows(session)
            for table in self.tables:
                for row in await rows.rows(table):
                    yield {"table": table.name, "row": {k: _jsonable(v) for k, v in row.items()}}

    async def fingerprints(self, cluster: str, tenant_id: uuid.UUID) -> dict[str, TableFingerprint]:
        async with self.manager.tenant_transaction(cluster, tenant_id) as session:
            rows = TenantRows(session)
            return {
                table.name: TableFingerprint(*await rows.fingerprint(table))
                for table in self.tables
            }

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
                say(f"read-only; waiting {self.cache_wait_seconds:.0f}s for requests in flight")
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
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id)
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
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id, for_update=True)
            if tenant is None:
                raise MoveAborted("tenant not found")
            if TenantStatus(tenant.status) not in MOVABLE or tenant.cluster_key is None:
                raise AppError(
                    INVALID_STATE_TRANSITION, params={"current": tenant.status, "target": "moved"}
                )
            if tenant.cluster_key == target:
                raise MoveAborted(f"tenant already lives on {target}")
            if tenant.read_only:
                raise MoveAborted("tenant is read-only: another move may be running")
            tenant.read_only = True
            await self.tenancy.tenant_changed(session, tenant.id)
            return tenant

    async def _check_target(self, target: str) -> None:
        async with self.central.transaction() as session:
            status = await self.clusters.status_of(session, target)
        if status is not ClusterStatus.ACTIVE:
            raise MoveAborted(f"cluster {target} is {status or 'not registered'}, not active")
        owner_url = self.manager.targets[target].owner_url
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
            source_rows, target_rows = TenantRows(reading), TenantRows(writing)
            for table in self.tables:
                rows = _parents_first(table, await source_rows.rows(table))
                await target_rows.insert(table, rows)
                say(f"  {table.name}: {len(rows)} rows")

    async def _delete_rows(self, cluster: str, tenant_id: uuid.UUID) -> None:
        async with self.manager.tenant_transaction(cluster, tenant_id) as session:
            rows = TenantRows(session)
            for table in reversed(self.tables):
                await rows.delete(table, tenant_id)

    async def _switch(self, tenant_id: uuid.UUID, source: str, target: str) -> None:
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id, for_update=True)
            if tenant is None or tenant.cluster_key != source:
                raise MoveAborted("the tenant changed during the move")
            tenant.cluster_key = target
            await self.tenancy.tenant_changed(session, tenant.id)

    async def _abort(self, tenant_id: uuid.UUID, target: str) -> None:
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id)
            moved = tenant is not None and tenant.cluster_key == target
        if not moved:
            # The target may be the very reason we abort; the copy is harmless while unswitched.
            with contextlib.suppress(Exception):
                await self._delete_rows(target, tenant_id)
        await self._set_read_only(tenant_id, False)

    async def _set_read_only(self, tenant_id: uuid.UUID, read_only: bool) -> None:
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id, for_update=True)
            if tenant is not None:
                tenant.read_only = read_only
                await self.tenancy.tenant_changed(session, tenant.id)


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
