"""Creating roles and databases, and resolving where each database lives.

An installation has two roles per server: an owner that runs migrations and owns every table, and
an application role that is neither owner, superuser nor BYPASSRLS, so row-level security binds
it. The embedded default and the test suite create both (and the databases) with a superuser;
a configured deployment receives them from its operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from garment.config import Settings
from garment.platform.db import plain_url, url_username

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
DEFAULT_CLUSTER_KEY = "default"


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """One database: the URL the application uses and the URL migrations use."""

    key: str
    app_url: str
    owner_url: str

    @property
    def app_role(self) -> str | None:
        return url_username(self.app_url)


@dataclass(frozen=True, slots=True)
class Targets:
    central: DatabaseTarget
    clusters: dict[str, DatabaseTarget] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatabaseLayout:
    """Names to create on a server we hold superuser rights on."""

    owner_role: str
    app_role: str
    central_database: str
    cluster_databases: dict[str, str]

    def __post_init__(self) -> None:
        names = [self.owner_role, self.app_role, self.central_database]
        names += list(self.cluster_databases.values())
        for name in names:
            if not IDENTIFIER.match(name):
                raise ValueError(f"{name!r} is not a safe PostgreSQL identifier")


EMBEDDED_LAYOUT = DatabaseLayout(
    owner_role="garment_owner",
    app_role="garment_app",
    central_database="garment_central",
    cluster_databases={DEFAULT_CLUSTER_KEY: "garment_cluster_default"},
)


def with_user_and_database(url: str, user: str, database: str) -> str:
    """The same server address with another user (no password) and database."""
    parts = urlsplit(plain_url(url))
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(user)}@{host}{port}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


def targets_from_settings(settings: Settings) -> Targets:
    """Targets of a configured deployment (no embedded server)."""
    if settings.database_url is None:
        raise ValueError("no database_url configured")
    central = DatabaseTarget(
        key="central",
        app_url=settings.database_url,
        owner_url=settings.database_migration_url or settings.database_url,
    )
    clusters = {
        key: DatabaseTarget(
            key=key, app_url=url, owner_url=settings.cluster_migration_urls.get(key, url)
        )
        for key, url in settings.clusters.items()
    }
    return Targets(central=central, clusters=clusters)


def targets_for_layout(server_url: str, layout: DatabaseLayout) -> Targets:
    def target(key: str, database: str) -> DatabaseTarget:
        return DatabaseTarget(
            key=key,
            app_url=with_user_and_database(server_url, layout.app_role, database),
            owner_url=with_user_and_database(server_url, layout.owner_role, database),
        )

    return Targets(
        central=target("central", layout.central_database),
        clusters={key: target(key, db) for key, db in layout.cluster_databases.items()},
    )


def ensure_layout(superuser_url: str, layout: DatabaseLayout) -> Targets:
    """Create the roles and databases of `layout` if missing (idempotent)."""
    with psycopg.connect(plain_url(superuser_url), autocommit=True) as conn:
        _ensure_role(conn, layout.owner_role, app=False)
        _ensure_role(conn, layout.app_role, app=True)
        databases = [layout.central_database, *layout.cluster_databases.values()]
        for database in databases:
            _ensure_database(conn, database, layout.owner_role, layout.app_role)
    for database in databases:
        _lock_down_public_schema(
            with_user_and_database(superuser_url, url_username(superuser_url) or "", database),
            layout.owner_role,
            layout.app_role,
        )
    return targets_for_layout(superuser_url, layout)


def drop_layout(superuser_url: str, layout: DatabaseLayout) -> None:
    """Drop the databases and roles of `layout` (tests clean up with this)."""
    with psycopg.connect(plain_url(superuser_url), autocommit=True) as conn:
        for database in [layout.central_database, *layout.cluster_databases.values()]:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
        for role in (layout.app_role, layout.owner_role):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _ensure_role(conn: psycopg.Connection, role: str, *, app: bool) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if exists:
        if app:
            # Re-assert: an app role that gained BYPASSRLS would silently disable tenant walls.
            conn.execute(
                sql.SQL("ALTER ROLE {} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                    sql.Identifier(role)
                )
            )
        return
    attributes = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"
    if not app:
        attributes = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE"
    conn.execute(sql.SQL(f"CREATE ROLE {{}} {attributes}").format(sql.Identifier(role)))


def _ensure_database(conn: psycopg.Connection, database: str, owner: str, app: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    if not exists:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(database), sql.Identifier(owner)
            )
        )
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
    conn.execute(
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(database), sql.Identifier(app)
        )
    )


def _lock_down_public_schema(url: str, owner: str, app: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(app)))
