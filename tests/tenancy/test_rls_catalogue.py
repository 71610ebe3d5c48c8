"""The RLS catalogue walk (chapter 23, data ownership): on every cluster, every table is tenant
data behind the one policy, and the application role cannot get around it.

Read from PostgreSQL's catalogue as the owner role, independently of the probe's own SQL, so a
bug in `garment clusters probe` cannot hide a bug in the migrations. A meta-test proves the walk
catches each kind of violation on a fresh, migrated layout.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from garment.platform.db import plain_url, url_username
from garment.platform.dbsetup import DatabaseLayout, Targets, with_user_and_database
from garment.platform.migrations import Tree, migrate_all
from garment.platform.rls import POLICY_NAME
from tests.conftest import LayoutFactory

VERSION_TABLE = Tree.TENANT.version_table
TENANT_TABLES = {"tenant_settings", "roles", "role_permissions", "taxonomy_terms"}
# pg_get_expr renders the policy as e.g.
# (tenant_id = ( SELECT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid ...
SETTING = re.compile(r"current_setting\('app\.tenant_id'(::text)?, true\)")
NULLIF = re.compile(r"nullif\(", re.IGNORECASE)

TABLES_SQL = """
SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity,
       pg_get_userbyid(c.relowner) AS owner
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
 ORDER BY c.relname
"""
TENANT_COLUMN_SQL = """
SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a
 WHERE a.attrelid = %s AND a.attname = 'tenant_id' AND NOT a.attisdropped
"""
INDEXES_SQL = """
SELECT i.indisprimary, i.indisunique, a.attname AS first_column,
       pg_get_indexdef(i.indexrelid) AS definition
  FROM pg_index i LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
 WHERE i.indrelid = %s AND (i.indisprimary OR i.indisunique)
"""
POLICIES_SQL = """
SELECT p.polname, p.polcmd, p.polpermissive, p.polroles,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
  FROM pg_policy p WHERE p.polrelid = %s
"""
ROLE_SQL = "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s"
OWNED_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND pg_get_userbyid(c.relowner) = %s
"""
VIEWS_SQL = """
SELECT c.relname, coalesce(c.reloptions, '{}') FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
"""
# Owning through membership is owning: a member of the owner role may SET ROLE to it and
# switch the wall off (ALTER TABLE ... NO FORCE ROW LEVEL SECURITY).
OWNER_MEMBER_SQL = """
SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND pg_get_userbyid(c.relowner) <> %(role)s
   AND pg_has_role(%(role)s, c.relowner, 'MEMBER')
"""
# PostgreSQL stores a boolean reloption as written: true, on, 1, yes are all "true".
TRUE_WORDS = frozenset({"true", "on", "1", "yes"})


def security_invoker(reloptions: list[str]) -> bool:
    for option in reloptions:
        name, _, value = option.partition("=")
        if name == "security_invoker":
            return value.lower() in TRUE_WORDS
    return False


def tenant_policy_expression_ok(expression: str | None) -> bool:
    """`tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)`."""
    return (
        expression is not None
        and "tenant_id =" in expression
        and SETTING.search(expression) is not None
        and NULLIF.search(expression) is not None
    )


def table_violations(conn: psycopg.Connection, oid: int, name: str) -> list[str]:
    problems: list[str] = []
    column = conn.execute(TENANT_COLUMN_SQL, (oid,)).fetchone()
    if column is None:
        problems.append(f"{name}: no tenant_id column")
    else:
        type_name, not_null = column
        if type_name != "uuid":
            problems.append(f"{name}: tenant_id is {type_name}, not uuid")
        if not not_null:
            problems.append(f"{name}: tenant_id is nullable")
    indexes = conn.execute(INDEXES_SQL, (oid,)).fetchall()
    primary = [index for index in indexes if index[0]]
    if not primary:
        problems.append(f"{name}: no primary key")
    for is_primary, _, first_column, definition in indexes:
        if first_column != "tenant_id":
            kind = "primary key" if is_primary else "unique index"
            problems.append(f"{name}: {kind} not led by tenant_id ({definition})")
    policies = conn.execute(POLICIES_SQL, (oid,)).fetchall()
    if len(policies) != 1:
        problems.append(f"{name}: {len(policies)} policies, expected exactly one")
    for polname, polcmd, permissive, roles, using_expr, check_expr in policies:
        if polname != POLICY_NAME:
            problems.append(f"{name}: policy {polname!r} is not {POLICY_NAME!r}")
        if polcmd != "*" or not permissive or list(roles) != [0]:
            problems.append(f"{name}: policy {polname!r} is not FOR ALL TO PUBLIC, permissive")
        if not tenant_policy_expression_ok(using_expr):
            problems.append(f"{name}: policy {polname!r} USING is {using_expr!r}")
        if not tenant_policy_expression_ok(check_expr):
            problems.append(f"{name}: policy {polname!r} WITH CHECK is {check_expr!r}")
    return problems


def catalogue_violations(owner_url: str, app_role: str) -> list[str]:
    """Every way the cluster at `owner_url` breaks the data-ownership rules; [] when none."""
    problems: list[str] = []
    with psycopg.connect(plain_url(owner_url), autocommit=True) as conn:
        tables = conn.execute(TABLES_SQL).fetchall()
        if not any(table[1] == VERSION_TABLE for table in tables):
            problems.append(f"{VERSION_TABLE}: missing (cluster not migrated?)")
        for oid, name, rls, forced, _owner in tables:
            if name == VERSION_TABLE:
                continue
            if not rls:
                problems.append(f"{name}: row-level security disabled")
            if not forced:
                problems.append(f"{name}: row-level security not forced")
            problems.extend(table_violations(conn, oid, name))
        for view, reloptions in conn.execute(VIEWS_SQL).fetchall():
            if not security_invoker(list(reloptions)):
                problems.append(f"{view}: view is not security_invoker")
        role = conn.execute(ROLE_SQL, (app_role,)).fetchone()
        if role is None:
            problems.append(f"role {app_role}: does not exist")
        else:
            if role[0]:
                problems.append(f"role {app_role}: SUPERUSER")
            if role[1]:
                problems.append(f"role {app_role}: BYPASSRLS")
        for owned in conn.execute(OWNED_SQL, (app_role,)).fetchall():
            problems.append(f"{owned[0]}: owned by the application role {app_role}")
        for owner in conn.execute(OWNER_MEMBER_SQL, {"role": app_role}).fetchall():
            problems.append(f"role {app_role}: member of the table owner role {owner[0]}")
    return problems


def test_every_cluster_satisfies_the_data_ownership_rules(targets: Targets) -> None:
    assert set(targets.clusters) == {"default", "secondary"}
    for key, target in targets.clusters.items():
        assert target.app_role is not None
        assert target.app_role != url_username(target.owner_url)  # not the owner role
        assert catalogue_violations(target.owner_url, target.app_role) == [], key
        with psycopg.connect(plain_url(target.owner_url)) as conn:
            names = {row[1] for row in conn.execute(TABLES_SQL).fetchall()}
        assert names >= {*TENANT_TABLES, VERSION_TABLE}, key


BAD_TABLES = {
    # no tenant_id at all, no RLS
    "leaky_plain": [
        "CREATE TABLE leaky_plain (id uuid PRIMARY KEY, note text)",
    ],
    # everything right except FORCE: the owner role would bypass the policy
    "leaky_not_forced": [
        "CREATE TABLE leaky_not_forced (tenant_id uuid NOT NULL, id uuid NOT NULL, "
        "PRIMARY KEY (tenant_id, id))",
        "ALTER TABLE leaky_not_forced ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY tenant_isolation ON leaky_not_forced USING ({expr}) WITH CHECK ({expr})",
    ],
    # a policy that reads no tenant setting at all
    "leaky_open_policy": [
        "CREATE TABLE leaky_open_policy (tenant_id uuid NOT NULL, id uuid NOT NULL, "
        "PRIMARY KEY (tenant_id, id))",
        "ALTER TABLE leaky_open_policy ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE leaky_open_policy FORCE ROW LEVEL SECURITY",
        "CREATE POLICY tenant_isolation ON leaky_open_policy USING (true) WITH CHECK (true)",
    ],
    # a second, permissive policy ORed with the tenant one
    "leaky_two_policies": [
        "CREATE TABLE leaky_two_policies (tenant_id uuid NOT NULL, id uuid NOT NULL, "
        "PRIMARY KEY (tenant_id, id))",
        "ALTER TABLE leaky_two_policies ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE leaky_two_policies FORCE ROW LEVEL SECURITY",
        "CREATE POLICY tenant_isolation ON leaky_two_policies USING ({expr}) WITH CHECK ({expr})",
        "CREATE POLICY backdoor ON leaky_two_policies FOR SELECT USING (true)",
    ],
    # USING only: the WITH CHECK must be explicit
    "leaky_no_check": [
        "CREATE TABLE leaky_no_check (tenant_id uuid NOT NULL, id uuid NOT NULL, "
        "PRIMARY KEY (tenant_id, id))",
        "ALTER TABLE leaky_no_check ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE leaky_no_check FORCE ROW LEVEL SECURITY",
        "CREATE POLICY tenant_isolation ON leaky_no_check USING ({expr})",
    ],
    # nullable tenant_id, primary key not led by tenant_id
    "leaky_keys": [
        "CREATE TABLE leaky_keys (id uuid NOT NULL, tenant_id uuid, PRIMARY KEY (id))",
        "ALTER TABLE leaky_keys ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE leaky_keys FORCE ROW LEVEL SECURITY",
        "CREATE POLICY tenant_isolation ON leaky_keys USING ({expr}) WITH CHECK ({expr})",
    ],
    # tenant_id of the wrong type
    "leaky_text_tenant": [
        "CREATE TABLE leaky_text_tenant (tenant_id text NOT NULL, id uuid NOT NULL, "
        "PRIMARY KEY (tenant_id, id))",
        "ALTER TABLE leaky_text_tenant ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE leaky_text_tenant FORCE ROW LEVEL SECURITY",
        "CREATE POLICY tenant_isolation ON leaky_text_tenant USING (true) WITH CHECK (true)",
    ],
}
GOOD_EXPR = "tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)"


def test_the_walk_reports_each_kind_of_violation(
    layout_factory: LayoutFactory, pg_superuser_url: str
) -> None:
    layout, targets = layout_factory("gc")
    report = migrate_all(targets)
    assert report.ok, report
    target = targets.clusters["default"]
    assert target.app_role is not None
    assert catalogue_violations(target.owner_url, target.app_role) == []

    with psycopg.connect(plain_url(target.owner_url), autocommit=True) as conn:
        for statements in BAD_TABLES.values():
            for statement in statements:
                conn.execute(statement.format(expr=GOOD_EXPR).encode())
        conn.execute(b"CREATE VIEW leaky_view AS SELECT tenant_id, id FROM taxonomy_terms")
        conn.execute(
            b"CREATE VIEW safe_view WITH (security_invoker = on) "
            b"AS SELECT tenant_id, id FROM taxonomy_terms"
        )
    # A compliant table handed to the application role (only a superuser may do that here).
    superuser_db = with_user_and_database(
        pg_superuser_url, superuser_name(pg_superuser_url), cluster_database(layout)
    )
    with psycopg.connect(plain_url(superuser_db), autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER TABLE taxonomy_terms OWNER TO {}").format(
                sql.Identifier(target.app_role)
            )
        )

    problems = catalogue_violations(target.owner_url, target.app_role)

    def about(table: str) -> list[str]:
        return [problem for problem in problems if problem.startswith(f"{table}:")]

    assert "row-level security disabled" in " ".join(about("leaky_plain"))
    assert "no tenant_id column" in " ".join(about("leaky_plain"))
    assert about("leaky_not_forced") == ["leaky_not_forced: row-level security not forced"]
    assert any("USING is 'true'" in p for p in about("leaky_open_policy"))
    assert any("WITH CHECK is 'true'" in p for p in about("leaky_open_policy"))
    assert any("2 policies" in p for p in about("leaky_two_policies"))
    assert any("'backdoor'" in p for p in about("leaky_two_policies"))
    assert about("leaky_no_check") == [
        "leaky_no_check: policy 'tenant_isolation' WITH CHECK is None"
    ]
    assert any("nullable" in p for p in about("leaky_keys"))
    assert any("primary key not led by tenant_id" in p for p in about("leaky_keys"))
    assert any("not uuid" in p for p in about("leaky_text_tenant"))
    assert about("leaky_view") == ["leaky_view: view is not security_invoker"]
    assert about("safe_view") == []
    assert about("taxonomy_terms") == [
        f"taxonomy_terms: owned by the application role {target.app_role}"
    ]
    # The tables the migrations made are still clean: the walk names only the bad ones.
    for table in TENANT_TABLES - {"taxonomy_terms"}:
        assert about(table) == [], table

    # The app role gaining BYPASSRLS, or membership of the owner role, is caught too
    # (restored at once: the layout is throwaway, but nothing else should see the change).
    app, owner = sql.Identifier(target.app_role), sql.Identifier(layout.owner_role)
    role_changes = [
        (
            sql.SQL("ALTER ROLE {} BYPASSRLS").format(app),
            sql.SQL("ALTER ROLE {} NOBYPASSRLS").format(app),
            f"role {target.app_role}: BYPASSRLS",
        ),
        (
            sql.SQL("GRANT {} TO {}").format(owner, app),
            sql.SQL("REVOKE {} FROM {}").format(owner, app),
            f"role {target.app_role}: member of the table owner role {layout.owner_role}",
        ),
    ]
    with psycopg.connect(plain_url(pg_superuser_url), autocommit=True) as conn:
        for change, undo, expected in role_changes:
            conn.execute(change)
            try:
                assert expected in catalogue_violations(target.owner_url, target.app_role)
            finally:
                conn.execute(undo)
        assert not [
            p
            for p in catalogue_violations(target.owner_url, target.app_role)
            if p.startswith("role ")
        ]


def superuser_name(url: str) -> str:
    name = url_username(url)
    assert name is not None
    return name


def cluster_database(layout: DatabaseLayout) -> str:
    return layout.cluster_databases["default"]
