"""`probe_cluster` and `garment clusters probe`: a cluster that stops isolating tenants is
reported, check by check, and the command exits non-zero (incident playbook 4).

Everything runs on a fresh, migrated layout of its own: the tests break it on purpose (RLS off,
BYPASSRLS, ownership) and restore it in `finally`, so the session's clusters are never touched.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from garment.central.clusters.manager import ClusterConnectionManager
from garment.central.clusters.probe import ProbeResult, probe_cluster
from garment.config import get_settings
from garment.platform.db import plain_url, url_username
from garment.platform.dbsetup import DatabaseLayout, DatabaseTarget, Targets, with_user_and_database
from garment.platform.migrations import Tree, head_revision, migrate_all
from tests.conftest import LayoutFactory, garment, garment_env, settings_for

TABLES = ("tenant_settings", "roles", "role_permissions", "taxonomy_terms")


@dataclass
class ProbeLayout:
    layout: DatabaseLayout
    targets: Targets
    superuser_url: str

    @property
    def app_role(self) -> str:
        role = self.targets.clusters["default"].app_role
        assert role is not None
        return role

    def superuser_on(self, key: str) -> str:
        """A superuser URL on cluster `key`'s database."""
        name = url_username(self.superuser_url)
        assert name is not None
        return with_user_and_database(self.superuser_url, name, self.layout.cluster_databases[key])


@pytest.fixture(scope="module")
def probe_layout(layout_factory: LayoutFactory, pg_superuser_url: str) -> ProbeLayout:
    layout, targets = layout_factory("gp")
    report = migrate_all(targets)
    assert report.ok, report
    return ProbeLayout(layout, targets, pg_superuser_url)


@pytest.fixture
async def manager(probe_layout: ProbeLayout) -> AsyncIterator[ClusterConnectionManager]:
    connections = ClusterConnectionManager(probe_layout.targets.clusters)
    try:
        yield connections
    finally:
        await connections.close()


def execute(url: str, *statements: sql.Composed | str) -> None:
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode() if isinstance(statement, str) else statement)


@contextmanager
def altered(url: str, change: sql.Composed | str, undo: sql.Composed | str) -> Iterator[None]:
    execute(url, change)
    try:
        yield
    finally:
        execute(url, undo)


def role_statement(template: str, role: str) -> sql.Composed:
    return sql.SQL(template).format(sql.Identifier(role))


def check(result: ProbeResult, name: str) -> tuple[bool, str]:
    found = [c for c in result.checks if c.name == name]
    assert len(found) == 1, (name, result.checks)
    return found[0].ok, found[0].detail


def failing(result: ProbeResult) -> list[str]:
    return [c.name for c in result.checks if not c.ok]


async def test_a_healthy_cluster_passes_every_check(
    manager: ClusterConnectionManager,
) -> None:
    for key in ("default", "secondary"):
        result = await probe_cluster(manager, key, tenants=0)
        assert result.ok, result.checks
        assert result.reachable and result.latency_ms is not None
        assert result.server_version
        assert result.revision == result.head == head_revision(Tree.TENANT)
        names = {c.name for c in result.checks}
        assert {"migrations", "app role", "views security_invoker"} <= names
        assert {"security definer functions"} <= names
        assert {f"table {table}" for table in TABLES} <= names
        assert result.as_dict()["ok"] is True


async def test_an_unconfigured_cluster_fails(manager: ClusterConnectionManager) -> None:
    result = await probe_cluster(manager, "nowhere")
    assert not result.ok
    assert failing(result) == ["configured"]


@pytest.mark.parametrize(
    ("change", "undo", "problem"),
    [
        ("DISABLE ROW LEVEL SECURITY", "ENABLE ROW LEVEL SECURITY", "RLS disabled"),
        ("NO FORCE ROW LEVEL SECURITY", "FORCE ROW LEVEL SECURITY", "RLS not forced"),
    ],
)
async def test_rls_off_fails_the_table_check(
    probe_layout: ProbeLayout,
    manager: ClusterConnectionManager,
    change: str,
    undo: str,
    problem: str,
) -> None:
    owner = probe_layout.targets.clusters["default"].owner_url
    with altered(
        owner, f"ALTER TABLE taxonomy_terms {change}", f"ALTER TABLE taxonomy_terms {undo}"
    ):
        result = await probe_cluster(manager, "default")
        assert not result.ok
        assert failing(result) == ["table taxonomy_terms"]
        ok, detail = check(result, "table taxonomy_terms")
        assert not ok and problem in detail
        # The other cluster is a different database: unaffected.
        assert (await probe_cluster(manager, "secondary")).ok
    assert (await probe_cluster(manager, "default")).ok


@pytest.mark.parametrize("attribute", ["BYPASSRLS", "SUPERUSER"])
async def test_a_privileged_app_role_fails_the_app_role_check(
    probe_layout: ProbeLayout, manager: ClusterConnectionManager, attribute: str
) -> None:
    role = probe_layout.app_role
    with altered(
        probe_layout.superuser_url,
        role_statement(f"ALTER ROLE {{}} {attribute}", role),
        role_statement(f"ALTER ROLE {{}} NO{attribute}", role),
    ):
        result = await probe_cluster(manager, "default")
        assert not result.ok
        assert "app role" in failing(result)
        ok, detail = check(result, "app role")
        assert not ok and attribute in detail and role in detail
    assert (await probe_cluster(manager, "default")).ok


async def test_an_app_role_owning_a_tenant_table_fails(
    probe_layout: ProbeLayout, manager: ClusterConnectionManager
) -> None:
    owner_role = probe_layout.layout.owner_role
    with altered(
        probe_layout.superuser_on("default"),
        role_statement("ALTER TABLE roles OWNER TO {}", probe_layout.app_role),
        role_statement("ALTER TABLE roles OWNER TO {}", owner_role),
    ):
        result = await probe_cluster(manager, "default")
        assert failing(result) == ["table roles"]
        assert "owned by the application role" in check(result, "table roles")[1]
    assert (await probe_cluster(manager, "default")).ok


async def test_a_table_without_tenant_id_and_a_definer_function_fail(
    probe_layout: ProbeLayout, manager: ClusterConnectionManager
) -> None:
    owner = probe_layout.targets.clusters["default"].owner_url
    execute(
        owner,
        "CREATE TABLE stray_notes (id int PRIMARY KEY, note text)",
        "CREATE FUNCTION term_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
        "AS 'SELECT count(*) FROM taxonomy_terms'",
    )
    try:
        result = await probe_cluster(manager, "default")
        assert set(failing(result)) == {"table stray_notes", "security definer functions"}
        assert "term_count" in check(result, "security definer functions")[1]
    finally:
        execute(owner, "DROP TABLE stray_notes", "DROP FUNCTION term_count()")
    assert (await probe_cluster(manager, "default")).ok


async def test_a_security_invoker_view_spelled_on_passes(
    probe_layout: ProbeLayout, manager: ClusterConnectionManager
) -> None:
    owner = probe_layout.targets.clusters["default"].owner_url
    execute(
        owner,
        "CREATE VIEW term_codes WITH (security_invoker = on) "
        "AS SELECT tenant_id, code FROM taxonomy_terms",
    )
    try:
        result = await probe_cluster(manager, "default")
        assert check(result, "views security_invoker")[0], result.checks
    finally:
        execute(owner, "DROP VIEW term_codes")


async def test_an_app_role_member_of_the_owner_role_fails(
    probe_layout: ProbeLayout, manager: ClusterConnectionManager
) -> None:
    owner_role, app_role = probe_layout.layout.owner_role, probe_layout.app_role
    grant = sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner_role), sql.Identifier(app_role))
    revoke = sql.SQL("REVOKE {} FROM {}").format(
        sql.Identifier(owner_role), sql.Identifier(app_role)
    )
    with altered(probe_layout.superuser_url, grant, revoke):
        # The danger is real: through the membership the app role can switch the wall off.
        app_url = probe_layout.targets.clusters["default"].app_url
        with psycopg.connect(plain_url(app_url)) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner_role)))
            conn.execute(b"ALTER TABLE taxonomy_terms NO FORCE ROW LEVEL SECURITY")
            conn.rollback()
        result = await probe_cluster(manager, "default")
        assert not result.ok, result.checks


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def probe_cli_env(
    probe_layout: ProbeLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    settings = settings_for(probe_layout.targets, tmp_path)
    env = garment_env(
        settings,
        GARMENT_AUTO_MIGRATE="false",
        GARMENT_DEMO_DATA="false",
        GARMENT_LOG__LEVEL="WARNING",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def by_key(output: str) -> dict[str, dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(output)
    return {row["key"]: row for row in rows}


@pytest.mark.usefixtures("probe_cli_env")
async def test_the_command_exits_1_and_names_the_failing_check(
    probe_layout: ProbeLayout,
) -> None:
    healthy = await garment("clusters", "probe", "--all", "--json")
    assert healthy.exit_code == 0, healthy.output
    results = by_key(healthy.output)
    assert set(results) == {"default", "secondary"}
    assert all(result["ok"] for result in results.values())

    secondary: DatabaseTarget = probe_layout.targets.clusters["secondary"]
    with altered(
        secondary.owner_url,
        "ALTER TABLE taxonomy_terms DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE taxonomy_terms ENABLE ROW LEVEL SECURITY",
    ):
        broken = await garment("clusters", "probe", "--all", "--json")
    assert broken.exit_code == 1, broken.output
    results = by_key(broken.output)
    assert results["default"]["ok"] is True
    assert results["secondary"]["ok"] is False
    failed = [c for c in results["secondary"]["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["table taxonomy_terms"]
    assert "RLS disabled" in failed[0]["detail"]

    single = await garment("clusters", "probe", "secondary", "--json")
    assert single.exit_code == 0, single.output  # restored


@pytest.mark.usefixtures("probe_cli_env")
async def test_probe_all_includes_a_registered_cluster_without_a_url(
    probe_layout: ProbeLayout,
) -> None:
    central = probe_layout.targets.central.owner_url
    with psycopg.connect(plain_url(central), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO clusters (key, status, capacity) VALUES ('ghost', 'active', 10) "
            "ON CONFLICT (key) DO NOTHING"
        )
    try:
        result = await garment("clusters", "probe", "--all", "--json")
        assert result.exit_code == 1, result.output
        ghost = by_key(result.output)["ghost"]
        assert ghost["ok"] is False
        assert ghost["checks"][0]["name"] == "configured"
        assert "GARMENT_CLUSTERS" in ghost["checks"][0]["detail"]
    finally:
        with psycopg.connect(plain_url(central), autocommit=True) as conn:
            conn.execute("DELETE FROM clusters WHERE key = 'ghost'")
