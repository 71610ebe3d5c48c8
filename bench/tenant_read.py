"""Tenant runtime benchmarks, all ratios from one run on the embedded PostgreSQL:

1. A tenant query with RLS (app role, `app.tenant_id` bound in the `BEGIN` round trip as the
   server does) versus without (superuser), the same `WHERE tenant_id = $1` statement on both
   sides, on a cluster holding many tenants.
2. Provisioning time per tenant with 10 versus 1,000 tenants already on the cluster.

The tenant endpoints themselves are measured over real HTTP, against a bare baseline, by
`bench/http/` (it replaced the in-process ASGI measurement of `GET /tenant/me` that was here).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from bench.common import embedded_runtime, print_table, rate
from bench.sql import no_reset
from garment.central.auth.ports import AuthenticatedUser
from garment.central.tenancy.states import BillingInterval, TenantStatus
from garment.platform.db import plain_url, url_database
from garment.platform.dbsetup import with_user_and_database
from garment.platform.rls import TenantBindingConnection
from garment.runtime import Runtime

PASSWORD = "bench-password-kain-2026"


async def make_owner(runtime: Runtime, slug: str) -> AuthenticatedUser:
    """A verified account, made by the account service (as the demo admin is)."""
    async with runtime.central.transaction() as session:
        return await runtime.auth.accounts.create_verified(
            session,
            email=f"{slug}@example.com",
            name="Bench",
            password=PASSWORD,
            verified_at=datetime.now(UTC),
        )


async def make_tenant(runtime: Runtime, owner: AuthenticatedUser, slug: str) -> uuid.UUID:
    """A provisioned tenant, the way tests/tenancy/conftest.py `create_tenant` makes one: the
    tenancy service registers it, then the provisioning pipeline runs inline (no worker)."""
    async with runtime.central.transaction() as session:
        tenant = await runtime.tenancy.create_tenant(
            session,
            owner=owner,
            name=slug,
            slug=slug,
            plan_code="growth",
            billing_interval=BillingInterval.MONTHLY,
        )
    status = await runtime.provisioning.run(tenant.id)
    assert status is TenantStatus.ACTIVE, status
    return tenant.id


async def seed_tenants_in_bulk(runtime: Runtime, superuser: str, count: int) -> None:
    """Existing tenants for the scaling measurement, inserted directly (RLS bypassed as the
    superuser) so the benchmark does not spend minutes provisioning them one by one."""
    slug = f"seed-{uuid.uuid4().hex[:6]}"
    owner = await make_owner(runtime, slug)
    await make_tenant(runtime, owner, slug)
    cluster_db = url_database(runtime.targets.clusters["default"].app_url)
    central_db = url_database(runtime.targets.central.app_url)
    central = await asyncpg.connect(
        plain_url(with_user_and_database(superuser, "postgres", central_db))
    )
    cluster = await asyncpg.connect(
        plain_url(with_user_and_database(superuser, "postgres", cluster_db))
    )
    try:
        ids = [uuid.uuid4() for _ in range(count)]
        await central.executemany(
            "INSERT INTO tenants (id, slug, name, status, cluster_key, plan_code, owner_user_id) "
            "VALUES ($1, $2, $2, 'active', 'default', 'growth', $3)",
            [(tenant_id, f"bulk-{tenant_id.hex[:12]}", owner.id) for tenant_id in ids],
        )
        # Role assignments live on the central membership (`role_keys`; the cluster's
        # `member_roles` was dropped): each bulk tenant gets its owner, as provisioning would.
        await central.executemany(
            "INSERT INTO memberships (tenant_id, user_id, status, role_keys) "
            """VALUES ($1, $2, 'active', '["owner"]'::jsonb)""",
            [(tenant_id, owner.id) for tenant_id in ids],
        )
        template = await cluster.fetch("SELECT tenant_id FROM tenant_settings LIMIT 1")
        source = template[0]["tenant_id"]
        for tenant_id in ids:
            await cluster.execute(
                "INSERT INTO tenant_settings (tenant_id, slug, name) VALUES ($1, $2, $2)",
                tenant_id,
                f"bulk-{tenant_id.hex[:12]}",
            )
            await cluster.execute(
                "INSERT INTO roles (tenant_id, id, key, name_id, name_en, is_system) "
                "SELECT $1, gen_random_uuid(), key, name_id, name_en, is_system FROM roles "
                "WHERE tenant_id = $2",
                tenant_id,
                source,
            )
            await cluster.execute(
                "INSERT INTO role_permissions (tenant_id, role_id, permission) "
                "SELECT $1, r2.id, rp.permission FROM role_permissions rp "
                "JOIN roles r ON r.id = rp.role_id AND r.tenant_id = rp.tenant_id "
                "JOIN roles r2 ON r2.key = r.key AND r2.tenant_id = $1 WHERE rp.tenant_id = $2",
                tenant_id,
                source,
            )
            await cluster.execute(
                "INSERT INTO taxonomy_terms (tenant_id, id, type, code, label_id, label_en, "
                "sort_order) SELECT $1, gen_random_uuid(), type, code, label_id, label_en, "
                "sort_order FROM taxonomy_terms WHERE tenant_id = $2",
                tenant_id,
                source,
            )
        await cluster.execute("ANALYZE")
        await central.execute("ANALYZE")
    finally:
        await central.close()
        await cluster.close()


async def rls_on_vs_off(runtime: Runtime, superuser: str) -> list[tuple[str, float, float]]:
    """The same statement both ways: the server's tenant reads carry an explicit
    `WHERE tenant_id = $1` and run under RLS, bound in the round trip of `BEGIN` (the server's
    `TenantBindingConnection`). So the ratio is the cost of the policy and of the binding alone,
    with the same three round trips (BEGIN, SELECT, COMMIT) on each side (and no reset query on
    release, as in the server's pools)."""
    target = runtime.targets.clusters["default"]
    database = url_database(target.app_url)
    app_pool = await asyncpg.create_pool(
        plain_url(target.app_url),
        min_size=4,
        max_size=4,
        connection_class=TenantBindingConnection,
        reset=no_reset,
    )
    super_pool = await asyncpg.create_pool(
        plain_url(with_user_and_database(superuser, "postgres", database)),
        min_size=4,
        max_size=4,
        reset=no_reset,
    )
    tenant_ids = [
        row[0]
        for row in await super_pool.fetch(
            "SELECT tenant_id FROM tenant_settings ORDER BY tenant_id LIMIT 50"
        )
    ]
    query = (
        "SELECT id, type, code, label_id, label_en FROM taxonomy_terms "
        "WHERE tenant_id = $1 ORDER BY sort_order"
    )
    terms = len(await super_pool.fetch(query, tenant_ids[0]))

    async def with_rls(index: int) -> None:
        tenant_id = tenant_ids[index % len(tenant_ids)]
        async with app_pool.acquire() as connection:
            connection.bind_next_transaction(tenant_id)
            async with connection.transaction():
                rows = await connection.fetch(query, tenant_id)
        assert rows

    async def without_rls(index: int) -> None:
        async with super_pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(query, tenant_ids[index % len(tenant_ids)])
        assert rows

    rows = []
    for concurrency in (1, 4):
        for operation in (with_rls, without_rls):
            await rate(operation, 50, concurrency)
        off = await rate(without_rls, 2000, concurrency)
        on = await rate(with_rls, 2000, concurrency)
        rows.append((f"{terms}-row tenant query, RLS on vs off (conc. {concurrency})", on, off))
    await app_pool.close()
    await super_pool.close()
    return rows


async def provisioning_seconds(runtime: Runtime, count: int) -> float:
    """Median seconds of `create_tenant` + the provisioning pipeline. The owner is made first
    and not timed: its argon2id hash is a constant that would dilute the 1,000 / 10 ratio."""
    durations = []
    for _ in range(count):
        slug = f"p-{uuid.uuid4().hex[:8]}"
        owner = await make_owner(runtime, slug)
        started = time.perf_counter()
        await make_tenant(runtime, owner, slug)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


async def main() -> None:
    async with embedded_runtime() as (runtime, _, superuser):
        await seed_tenants_in_bulk(runtime, superuser, 9)
        at_10 = await provisioning_seconds(runtime, 5)
        await seed_tenants_in_bulk(runtime, superuser, 990)
        at_1000 = await provisioning_seconds(runtime, 5)
        print("\nProvisioning one tenant (median of 5), same cluster")
        print(f"{'existing tenants':<20}{'seconds':>10}")
        print(f"{'~10':<20}{at_10:>10.3f}")
        print(f"{'~1,000':<20}{at_1000:>10.3f}")
        print(f"{'ratio 1,000 / 10':<20}{at_1000 / at_10:>10.2f}x")
        print_table(
            "RLS on (app role, binding in BEGIN) vs off (superuser), same SQL, ~1,000 tenants",
            await rls_on_vs_off(runtime, superuser),
        )


if __name__ == "__main__":
    asyncio.run(main())
