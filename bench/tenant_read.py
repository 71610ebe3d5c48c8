"""Tenant runtime benchmarks, all ratios from one run on the embedded PostgreSQL:

1. GET /api/v1/tenant/me through the whole chain (token, session, tenant, membership, RLS
   session, permissions) versus a bare Starlette endpoint running the same SQL on the same pools.
2. The same tenant query with RLS (app role, `app.tenant_id` set) versus without (superuser,
   explicit `WHERE tenant_id = $1`), on a cluster holding many tenants.
3. Provisioning time per tenant with 10 versus 1,000 tenants already on the cluster.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.common import embedded_runtime, print_table, rate
from garment.app import create_app
from garment.central.auth.models import User
from garment.central.tenancy.provisioning import ProvisioningPipeline
from garment.platform.db import plain_url, url_database
from garment.platform.dbsetup import with_user_and_database
from garment.runtime import Runtime

REQUESTS = 600
PASSWORD = "bench-password-kain-2026"


async def owner_and_tenant(runtime: Runtime, slug: str) -> tuple[User, uuid.UUID]:
    async with runtime.central.transaction() as session:
        user = User(
            id=uuid.uuid4(),
            email=f"{slug}@example.com",
            name="Bench",
            password_hash=runtime.auth.components.hashing.hash(PASSWORD),
            email_verified_at=datetime.now(UTC),
        )
        session.add(user)
        await session.flush()
        tenant = await runtime.tenancy.create_tenant(
            session,
            owner_id=user.id,
            name=slug,
            slug=slug,
            plan_code="growth",
            billing_interval="monthly",
        )
    await ProvisioningPipeline(runtime).run(tenant.id)
    return user, tenant.id


def bare_app(runtime: Runtime) -> Starlette:
    """The same statements /tenant/me runs, without FastAPI, pydantic or our chain."""
    central = runtime.central.engine
    cluster = runtime.cluster_manager.database("default").engine

    async def me(request: Request) -> JSONResponse:
        sid = request.headers["x-session"]
        user_id = request.headers["x-user"]
        tenant = request.headers["x-tenant-id"]
        async with central.connect() as connection:
            user = (
                await connection.execute(
                    text(
                        "SELECT u.id, u.email, u.name, s.revoked_at FROM auth_sessions s "
                        "JOIN users u ON u.id = s.user_id WHERE s.id = :sid"
                    ),
                    {"sid": sid},
                )
            ).one()
            await connection.execute(
                text("SELECT status FROM memberships WHERE tenant_id = :t AND user_id = :u"),
                {"t": tenant, "u": user_id},
            )
            members = (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM memberships WHERE tenant_id = :t AND status = 'active'"
                    ),
                    {"t": tenant},
                )
            ).scalar_one()
        async with cluster.begin() as connection:
            await connection.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant}
            )
            rows = (
                await connection.execute(
                    text(
                        "SELECT r.key, rp.permission FROM roles r JOIN member_roles mr "
                        "ON mr.role_id = r.id AND mr.tenant_id = r.tenant_id "
                        "LEFT JOIN role_permissions rp ON rp.role_id = r.id "
                        "AND rp.tenant_id = r.tenant_id "
                        "WHERE mr.tenant_id = :t AND mr.user_id = :u"
                    ),
                    {"t": tenant, "u": user_id},
                )
            ).all()
            roles = sorted({row[0] for row in rows})
            permissions = {row[1] for row in rows if row[1]}
        return JSONResponse(
            {
                "user": {"id": str(user.id), "email": user.email},
                "roles": list(roles),
                "permissions": sorted(permissions),
                "usage": {"members": members},
            }
        )

    return Starlette(routes=[Route("/me", me)])


async def endpoint_vs_bare(runtime: Runtime, concurrency: int) -> list[tuple[str, float, float]]:
    user, tenant_id = await owner_and_tenant(runtime, f"bench-{uuid.uuid4().hex[:6]}")
    async with runtime.central.transaction() as session:
        row = await session.get(User, user.id)
        assert row is not None
        pair = await runtime.auth.sessions.start(session, row, fingerprint="b", amr=["pwd"])
        await runtime.auth.sessions.select_tenant(session, pair.session_id, tenant_id)
    token, _ = await runtime.auth.components.tokens.issue(
        user_id=user.id, session_id=pair.session_id, amr=["pwd"], tenant_id=tenant_id
    )
    ours_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://bench"
    )
    bare_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bare_app(runtime)), base_url="http://bench"
    )
    ours_headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": str(tenant_id)}
    bare_headers = {
        "x-session": str(pair.session_id),
        "x-user": str(user.id),
        "x-tenant-id": str(tenant_id),
    }

    async def ours(_: int) -> None:
        response = await ours_client.get("/api/v1/tenant/me", headers=ours_headers)
        assert response.status_code == 200, response.text

    async def bare(_: int) -> None:
        response = await bare_client.get("/me", headers=bare_headers)
        assert response.status_code == 200

    for operation in (ours, bare):
        await rate(operation, 30, concurrency)
    bare_rate = await rate(bare, REQUESTS, concurrency)
    ours_rate = await rate(ours, REQUESTS, concurrency)
    await ours_client.aclose()
    await bare_client.aclose()
    return [(f"GET /tenant/me (concurrency {concurrency})", ours_rate, bare_rate)]


async def seed_tenants_in_bulk(runtime: Runtime, superuser: str, count: int) -> None:
    """Existing tenants for the scaling measurement, inserted directly (RLS bypassed as the
    superuser) so the benchmark does not spend minutes provisioning them one by one."""
    owner, _ = await owner_and_tenant(runtime, f"seed-{uuid.uuid4().hex[:6]}")
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
    target = runtime.targets.clusters["default"]
    database = url_database(target.app_url)
    app_pool = await asyncpg.create_pool(plain_url(target.app_url), min_size=4, max_size=4)
    super_pool = await asyncpg.create_pool(
        plain_url(with_user_and_database(superuser, "postgres", database)), min_size=4, max_size=4
    )
    tenant_ids = [
        row[0]
        for row in await super_pool.fetch(
            "SELECT tenant_id FROM tenant_settings ORDER BY tenant_id LIMIT 50"
        )
    ]
    query = "SELECT id, type, code, label_id, label_en FROM taxonomy_terms ORDER BY sort_order"

    async def with_rls(index: int) -> None:
        async with app_pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "SELECT set_config('app.tenant_id', $1, true)",
                str(tenant_ids[index % len(tenant_ids)]),
            )
            rows = await connection.fetch(query)
            assert rows

    async def without_rls(index: int) -> None:
        async with super_pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                query.replace("ORDER BY", "WHERE tenant_id = $1 ORDER BY"),
                tenant_ids[index % len(tenant_ids)],
            )
            assert rows

    rows = []
    for concurrency in (1, 4):
        for operation in (with_rls, without_rls):
            await rate(operation, 50, concurrency)
        off = await rate(without_rls, 2000, concurrency)
        on = await rate(with_rls, 2000, concurrency)
        rows.append((f"31-row tenant query, RLS on vs off (conc. {concurrency})", on, off))
    await app_pool.close()
    await super_pool.close()
    return rows


async def provisioning_seconds(runtime: Runtime, count: int) -> float:
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        await owner_and_tenant(runtime, f"p-{uuid.uuid4().hex[:8]}")
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


async def main() -> None:
    async with embedded_runtime() as (runtime, _, superuser):
        rows = await endpoint_vs_bare(runtime, 1) + await endpoint_vs_bare(runtime, 4)
        print_table(
            f"Tenant read endpoint vs bare Starlette endpoint with the same SQL, {REQUESTS} "
            "requests per row",
            rows,
        )
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
            "RLS on (app role + set_config) vs off (superuser + WHERE), ~1,000 tenants",
            await rls_on_vs_off(runtime, superuser),
        )


if __name__ == "__main__":
    asyncio.run(main())
