"""`garment clusters probe`: is this cluster reachable, current, and actually isolating tenants?

Checks, each with a verdict: connection and latency, server version, migration revision vs head,
every tenant table (any table with a `tenant_id` column) has RLS enabled and forced with the
tenant policy and an index led by `tenant_id`, every other table is accounted for, the
application role is neither superuser nor BYPASSRLS and owns no tenant table, views are
`security_invoker`, and no SECURITY DEFINER function reads tenant tables.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from garment.central.clusters.manager import ClusterConnectionManager
from garment.central.clusters.repository import ClusterCatalog
from garment.platform.db import describe_failure, fresh_connection, where
from garment.platform.migrations import Tree, head_revision
from garment.platform.rls import POLICY_NAME

NON_TENANT_TABLES = frozenset({Tree.TENANT.version_table})


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class ProbeResult:
    key: str
    reachable: bool
    latency_ms: float | None = None
    server_version: str | None = None
    revision: str | None = None
    head: str | None = None
    tenants: int | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reachable and all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _is_tenant_policy(expression: str | None) -> bool:
    """The policy compares tenant_id with the setting, fail-closed (nullif), not merely
    mentions the setting (`current_setting(...) IS NOT NULL` would expose every tenant)."""
    if not expression:
        return False
    compact = " ".join(expression.lower().split())
    return (
        "tenant_id =" in compact
        and "current_setting('app.tenant_id'" in compact
        and "nullif(" in compact
    )


async def probe_cluster(
    manager: ClusterConnectionManager, key: str, tenants: int | None = None
) -> ProbeResult:
    result = ProbeResult(key=key, reachable=False, head=head_revision(Tree.TENANT), tenants=tenants)
    if not manager.is_configured(key):
        result.checks.append(Check("configured", False, "no URL for this key in GARMENT_CLUSTERS"))
        return result
    try:
        started = time.perf_counter()
        async with fresh_connection(manager.database(key)) as connection:
            catalog = ClusterCatalog(connection)
            await catalog.ping()
            result.latency_ms = round((time.perf_counter() - started) * 1000, 2)
            result.reachable = True
            result.server_version = await catalog.server_version()
            await _inspect(catalog, result)
    except Exception as exc:
        where_to = where(manager.database(key).url)
        result.checks.append(Check("connect", False, f"{describe_failure(exc)} (at {where_to})"))
    return result


async def _inspect(catalog: ClusterCatalog, result: ProbeResult) -> None:
    result.revision = await catalog.tenant_revision()
    result.checks.append(
        Check(
            "migrations",
            result.revision == result.head,
            f"at {result.revision or 'nothing'}, head {result.head}",
        )
    )
    role = await catalog.role()
    unsafe = [
        flag for flag, on in (("SUPERUSER", role.superuser), ("BYPASSRLS", role.bypass_rls)) if on
    ]
    result.checks.append(
        Check(
            "app role",
            not unsafe,
            f"{role.name}: "
            + (
                ", ".join(unsafe) + " defeats row-level security"
                if unsafe
                else "no superuser, no BYPASSRLS"
            ),
        )
    )
    tables = await catalog.tables(POLICY_NAME)
    tenant_tables = [t.name for t in tables if t.has_tenant_id]
    for table in tables:
        if table.name in NON_TENANT_TABLES:
            continue
        if not table.has_tenant_id:
            result.checks.append(
                Check(
                    f"table {table.name}",
                    False,
                    "no tenant_id column: every cluster table is tenant data",
                )
            )
            continue
        problems = []
        if not table.rls:
            problems.append("RLS disabled")
        if not table.forced:
            problems.append("RLS not forced")
        if table.policies != 1 or not _is_tenant_policy(table.using_expr):
            problems.append(f"expected exactly the {POLICY_NAME} policy")
        elif not _is_tenant_policy(table.check_expr):
            problems.append("policy lacks the tenant WITH CHECK")
        if not table.tenant_index:
            problems.append("no index led by tenant_id")
        if table.owner == role.name or table.app_holds_owner:
            # A member of the owner role can SET ROLE to it and switch RLS off.
            problems.append("owned by the application role (or a role it belongs to)")
        result.checks.append(
            Check(
                f"table {table.name}",
                not problems,
                "; ".join(problems) or "RLS enabled, forced, policy, index",
            )
        )
    views = await catalog.views_without_security_invoker()
    result.checks.append(
        Check(
            "views security_invoker",
            not views,
            "all views security_invoker"
            if not views
            else "not security_invoker: " + ", ".join(views),
        )
    )
    definers = await catalog.security_definer_functions()
    leaking = [d.name for d in definers if any(t in d.source for t in tenant_tables)]
    result.checks.append(
        Check(
            "security definer functions",
            not leaking,
            "none read tenant tables"
            if not leaking
            else "read tenant tables: " + ", ".join(leaking),
        )
    )
