"""Queries of the cluster registry (central) and of a cluster's own catalogue (for the probe)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from garment.central.clusters.models import Cluster
from garment.central.clusters.states import ClusterStatus
from garment.platform.migrations import Tree
from garment.platform.repository import Repository


class ClusterRepository(Repository[Cluster]):
    model = Cluster

    async def ordered(self) -> list[Cluster]:
        return await self.all(self.select().order_by(Cluster.key))

    async def with_status(self, status: ClusterStatus) -> list[Cluster]:
        return await self.all(self.select().where(Cluster.status == status).order_by(Cluster.key))

    async def insert_missing(self, keys: list[str], capacity: int) -> None:
        for key in keys:
            await self.session.execute(
                insert(Cluster)
                .values(key=key, status=ClusterStatus.ACTIVE, capacity=capacity)
                .on_conflict_do_nothing(index_elements=[Cluster.key])
            )


# --- a cluster's catalogue ---------------------------------------------------------------------

TABLES_SQL = text(
    """
    SELECT c.relname AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
           pg_get_userbyid(c.relowner) AS owner,
           pg_has_role(current_user, c.relowner, 'MEMBER') AS app_holds_owner,
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                   AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS has_tenant_id,
           EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a
                     ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = c.oid AND a.attname = 'tenant_id') AS tenant_index,
           (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
           (SELECT pg_get_expr(p.polqual, p.polrelid) FROM pg_policy p
             WHERE p.polrelid = c.oid AND p.polname = :policy) AS using_expr,
           (SELECT pg_get_expr(p.polwithcheck, p.polrelid) FROM pg_policy p
             WHERE p.polrelid = c.oid AND p.polname = :policy) AS check_expr
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     ORDER BY c.relname
    """
)
VIEWS_SQL = text(
    """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
       AND NOT EXISTS (
           SELECT 1 FROM unnest(coalesce(c.reloptions, '{}')) AS option
            WHERE lower(option) IN ('security_invoker=true', 'security_invoker=on',
                                    'security_invoker=1', 'security_invoker=yes'))
    """
)
DEFINER_SQL = text(
    """
    SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND p.prosecdef
    """
)
ROLE_SQL = text(
    "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)


@dataclass(frozen=True, slots=True)
class TableFacts:
    name: str
    rls: bool
    forced: bool
    owner: str
    app_holds_owner: bool
    has_tenant_id: bool
    tenant_index: bool
    policies: int
    using_expr: str | None
    check_expr: str | None


@dataclass(frozen=True, slots=True)
class RoleFacts:
    name: str
    superuser: bool
    bypass_rls: bool


@dataclass(frozen=True, slots=True)
class DefinerFunction:
    name: str
    source: str


class ClusterCatalog:
    """What a cluster's system catalogue says about its tables, views, functions and our role
    (read on one connection of the application role)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def ping(self) -> None:
        await self.connection.execute(text("SELECT 1"))

    async def server_version(self) -> str:
        return str((await self.connection.execute(text("SHOW server_version"))).scalar_one())

    async def tenant_revision(self) -> str | None:
        """The tenant tree's revision, or None when the version table is missing."""
        try:
            revision = (
                await self.connection.execute(
                    text(f"SELECT version_num FROM {Tree.TENANT.version_table}")
                )
            ).scalar_one_or_none()
        except Exception:
            await self.connection.rollback()
            return None
        return str(revision) if revision is not None else None

    async def role(self) -> RoleFacts:
        row = (await self.connection.execute(ROLE_SQL)).one()
        return RoleFacts(row.name, bool(row.rolsuper), bool(row.rolbypassrls))

    async def tables(self, policy: str) -> list[TableFacts]:
        rows = (await self.connection.execute(TABLES_SQL, {"policy": policy})).all()
        return [
            TableFacts(
                name=row.name,
                rls=bool(row.rls),
                forced=bool(row.forced),
                owner=row.owner,
                app_holds_owner=bool(row.app_holds_owner),
                has_tenant_id=bool(row.has_tenant_id),
                tenant_index=bool(row.tenant_index),
                policies=int(row.policies),
                using_expr=row.using_expr,
                check_expr=row.check_expr,
            )
            for row in rows
        ]

    async def views_without_security_invoker(self) -> list[str]:
        return [str(name) for name in (await self.connection.execute(VIEWS_SQL)).scalars()]

    async def security_definer_functions(self) -> list[DefinerFunction]:
        rows = (await self.connection.execute(DEFINER_SQL)).all()
        return [DefinerFunction(row.proname, row.prosrc or "") for row in rows]
