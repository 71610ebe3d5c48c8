"""Running the two Alembic trees: `central` (one database) and `tenant` (every cluster).

Migrations connect as the owner role; afterwards the application role receives DML rights on what
exists, so tables never end up owned by, or invisible to, the wrong role. An advisory lock makes
concurrent migrators (two servers starting at once) take turns instead of colliding.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import Connection, MetaData, create_engine, pool, text

from garment.platform.db import describe_failure, driver_url, where
from garment.platform.dbsetup import DatabaseTarget, Targets

logger = structlog.get_logger(__name__)

MIGRATIONS_DIR_ENV = "GARMENT_MIGRATIONS_DIR"


class Tree(StrEnum):
    CENTRAL = "central"
    TENANT = "tenant"

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.value}"

    @property
    def lock_key(self) -> int:
        # Arbitrary, fixed, distinct per tree: both trees may live in one database.
        return 7_410_001 if self is Tree.CENTRAL else 7_410_002


def migrations_dir() -> Path:
    configured = os.environ.get(MIGRATIONS_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(tree: Tree, url: str | None = None, app_role: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir() / tree.value))
    config.set_main_option("version_table", tree.version_table)
    config.attributes["tree"] = tree
    config.attributes["url"] = driver_url(url, "psycopg") if url else None
    config.attributes["app_role"] = app_role
    return config


def head_revision(tree: Tree) -> str | None:
    """The newest revision of the tree's scripts."""
    return _head_of(tree, migrations_dir())


@functools.cache
def _head_of(tree: Tree, directory: Path) -> str | None:
    # Read once per directory and process: scripts do not change under a running process, and
    # reading them imports every migration module (the cluster probe asks on every call).
    return ScriptDirectory.from_config(alembic_config(tree)).get_current_head()


@dataclass(frozen=True, slots=True)
class MigrationResult:
    tree: Tree
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade(tree: Tree, owner_url: str, app_role: str | None) -> MigrationResult:
    """Upgrade one database to head (blocking; call from a thread in async code)."""
    before = current_revision(tree, owner_url)
    command.upgrade(alembic_config(tree, owner_url, app_role), "head")
    return MigrationResult(tree=tree, before=before, after=current_revision(tree, owner_url))


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
        # One line, once: the caller prints the outcome; the traceback only when debugging.
        error = f"{describe_failure(exc)} (at {where(target.owner_url)})"
        logger.error(
            "migrate.cluster_failed",
            cluster=target.key,
            error=error,
            exc_info=bool(os.environ.get("GARMENT_DEBUG")),
        )
        return ClusterMigration(target.key, None, error)


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


def current_revision(tree: Tree, url: str) -> str | None:
    engine = create_engine(driver_url(url, "psycopg"), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": tree.version_table}
            )
            return context.get_current_revision()
    finally:
        engine.dispose()


def run_env(context: Any, target_metadata: MetaData) -> None:
    """Shared body of both trees' env.py (online mode only: we always have a database)."""
    config: Config = context.config
    tree: Tree = config.attributes["tree"]
    url = config.attributes.get("url")
    if not url:
        raise RuntimeError("migrations run through `garment migrate`, which supplies the URL")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # A session-level lock survives the commits of the migrations it guards.
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": tree.lock_key})
        connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                version_table=tree.version_table,
                transaction_per_migration=True,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            grant_application_role(connection, config.attributes.get("app_role"), tree)
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": tree.lock_key})
            connection.commit()
    engine.dispose()


def grant_application_role(connection: Connection, app_role: str | None, tree: Tree) -> None:
    """DML (never DDL) on everything in the schemas we own; read-only on the version table."""
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    if not app_role or app_role == owner:
        return
    role = sql.Identifier(app_role).as_string()
    schemas = connection.execute(
        text(
            "SELECT nspname FROM pg_namespace WHERE nspowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
    ).scalars()
    for schema_name in schemas:
        schema = sql.Identifier(schema_name).as_string()
        for statement in (
            f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role}",
        ):
            connection.execute(text(statement))
    version_table = sql.Identifier(tree.version_table).as_string()
    connection.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON {version_table} FROM {role}"))
