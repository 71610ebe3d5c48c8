"""Migration 0004 gives tenants that existed before it the default roles they lack and the
catalogue's new permissions on their system roles, without touching custom roles."""

from __future__ import annotations

import uuid

import psycopg
from alembic import command

from garment.platform.db import plain_url
from garment.platform.migrations import Tree, alembic_config, upgrade
from garment.tenant.authz.permissions import DEFAULT_ROLES
from tests.conftest import LayoutFactory

BEFORE = "0003_role_assignments_central"


def bound(conn: psycopg.Connection, tenant_id: uuid.UUID) -> None:
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_id),))


def seed_old_tenant(conn: psycopg.Connection, tenant_id: uuid.UUID) -> None:
    """What 0002-era provisioning left: five roles with the old, shorter catalogue."""
    bound(conn, tenant_id)
    old = {
        "owner": ["members.view", "members.manage", "orders.view"],
        "admin": ["members.view"],
        "sales": ["customers.view"],
        "production": ["orders.view", "orders.manage"],
        "viewer": ["orders.view"],
        "qc-lead": ["orders.view"],  # a custom role
    }
    for key, permissions in old.items():
        role_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO roles (tenant_id, id, key, name_id, name_en, is_system) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (tenant_id, role_id, key, key, key, key != "qc-lead"),
        )
        for permission in permissions:
            conn.execute(
                "INSERT INTO role_permissions (tenant_id, role_id, permission) VALUES (%s, %s, %s)",
                (tenant_id, role_id, permission),
            )


def roles_of(conn: psycopg.Connection, tenant_id: uuid.UUID) -> dict[str, set[str]]:
    bound(conn, tenant_id)
    rows = conn.execute(
        "SELECT r.key, p.permission FROM roles r LEFT JOIN role_permissions p "
        "ON p.role_id = r.id AND p.tenant_id = r.tenant_id"
    ).fetchall()
    found: dict[str, set[str]] = {}
    for key, permission in rows:
        found.setdefault(key, set())
        if permission:
            found[key].add(permission)
    return found


def test_existing_tenants_get_the_default_roles(layout_factory: LayoutFactory) -> None:
    _, targets = layout_factory("gb")
    cluster = next(iter(targets.clusters.values()))
    command.upgrade(alembic_config(Tree.TENANT, cluster.owner_url, cluster.app_role), BEFORE)
    tenants = [uuid.uuid4(), uuid.uuid4()]
    with psycopg.connect(plain_url(cluster.owner_url), autocommit=True) as conn:
        for tenant_id in tenants:
            seed_old_tenant(conn, tenant_id)

    result = upgrade(Tree.TENANT, cluster.owner_url, cluster.app_role)
    assert result.before == BEFORE and result.changed

    with psycopg.connect(plain_url(cluster.owner_url), autocommit=True) as conn:
        for tenant_id in tenants:
            roles = roles_of(conn, tenant_id)
            for default in DEFAULT_ROLES:
                assert roles[default.key] >= default.permissions, default.key
            assert roles["production"] >= {"orders.manage"}  # nothing is taken away
            assert roles["qc-lead"] == {"orders.view"}  # custom roles are left alone
        # RLS is forced again afterwards.
        forced = conn.execute(
            "SELECT relname, relforcerowsecurity FROM pg_class "
            "WHERE relname IN ('roles', 'role_permissions')"
        ).fetchall()
        assert dict(forced) == {"roles": True, "role_permissions": True}
