"""Both migration trees run up from empty, twice, and leave the roles as designed."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from garment.models import central_metadata, tenant_metadata
from garment.platform.db import driver_url, plain_url
from garment.platform.dbsetup import Targets
from garment.platform.migrations import Tree, current_revision, head_revision, migrate_all
from tests.conftest import LayoutFactory


@pytest.fixture(scope="module")
def fresh(layout_factory: LayoutFactory) -> Targets:
    return layout_factory("gm")[1]


def test_migrate_from_empty_twice_is_idempotent(fresh: Targets) -> None:
    assert current_revision(Tree.CENTRAL, fresh.central.owner_url) is None
    first = migrate_all(fresh)
    assert first.ok
    assert first.central.before is None
    assert first.central.after == head_revision(Tree.CENTRAL)
    assert all(c.result and c.result.after == head_revision(Tree.TENANT) for c in first.clusters)

    second = migrate_all(fresh)
    assert second.ok
    assert not second.central.changed
    assert all(c.result and not c.result.changed for c in second.clusters)


def test_app_role_has_dml_but_no_ddl(fresh: Targets) -> None:
    migrate_all(fresh)
    with psycopg.connect(plain_url(fresh.central.app_url), autocommit=True) as conn:
        role = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert role == (False, False)
        conn.execute(
            "INSERT INTO outbox_events (event_id, name, payload) "
            "VALUES (gen_random_uuid(), 'probe.Checked', '{}')"
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE sneaky (id int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE alembic_version_central SET version_num = 'x'")
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'outbox_events'"
        ).fetchone()
        assert owner is not None and owner[0] != fresh.central.app_role


def test_a_failing_cluster_does_not_stop_the_others(fresh: Targets) -> None:
    broken = dict(fresh.clusters)
    good_key = next(iter(broken))
    bad = fresh.clusters[good_key]
    broken["gone"] = type(bad)(
        key="gone",
        app_url=bad.app_url.rsplit("/", 1)[0] + "/does_not_exist_db",
        owner_url=bad.owner_url.rsplit("/", 1)[0] + "/does_not_exist_db",
    )
    report = migrate_all(Targets(central=fresh.central, clusters=broken))
    assert not report.ok
    outcomes = {c.key: c for c in report.clusters}
    error = outcomes["gone"].error
    assert error is not None
    assert outcomes[good_key].error is None
    # One line an operator can act on: the driver error, its SQLSTATE and where; no traceback.
    assert "\n" not in error and "Traceback" not in error, error
    assert "does not exist" in error and "does_not_exist_db" in error, error


def _diff(url: str, metadata: Any) -> list[Any]:
    engine = create_engine(driver_url(url, "psycopg"), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_object": lambda obj, name, type_, reflected, compare_to: (
                        not (
                            type_ == "table" and (name.startswith(("pgqueuer", "alembic_version")))
                        )
                    ),
                    "compare_type": True,
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_models_match_migrations(targets: Targets) -> None:
    assert _diff(targets.central.owner_url, central_metadata()) == []
    for cluster in targets.clusters.values():
        assert _diff(cluster.owner_url, tenant_metadata()) == []
