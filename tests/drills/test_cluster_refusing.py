"""Drill (incident playbook 4): a cluster that is up but refuses connections at connect time
with a server error (SQLSTATE 55000 "not currently accepting connections", as after
`ALTER DATABASE ... ALLOW_CONNECTIONS false`). Its tenants get `503 CLUSTER_UNAVAILABLE` with
`Retry-After` (it used to be a 500), the breaker opens and logs `cluster.unavailable`, the
probe names the SQLSTATE and where, and the other cluster's tenants never notice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from garment.app import create_app
from garment.central.clusters.states import BreakerState, ClusterStatus
from garment.platform.db import plain_url, url_database
from garment.platform.dbsetup import DatabaseTarget, Targets, ensure_layout
from garment.platform.migrations import migrate_cluster
from garment.runtime import Runtime
from tests.auth.conftest import make_user
from tests.conftest import StoppableServer, make_client, settings_for, unique_layout
from tests.tenancy.conftest import create_tenant
from tests.tenancy.test_cluster_outage import TERMS, problem_code, tenant_headers

pytestmark = pytest.mark.slow


async def allow_connections(superuser_url: str, database: str, allowed: bool) -> None:
    connection = await asyncpg.connect(plain_url(superuser_url))
    try:
        flag = "true" if allowed else "false"
        await connection.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {flag}')
        if not allowed:  # and end the pooled connections, as a restart of clients would
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
    finally:
        await connection.close()


async def test_a_cluster_refusing_connections_answers_503_and_opens_its_breaker(
    targets: Targets,
    tmp_path: Path,
    stoppable_server_factory: Callable[[], StoppableServer],
) -> None:
    server = stoppable_server_factory()
    remote = await asyncio.to_thread(ensure_layout, server.superuser_url, unique_layout("rf"))
    refusing = DatabaseTarget(
        "refusing", remote.clusters["default"].app_url, remote.clusters["default"].owner_url
    )
    migrated = await asyncio.to_thread(migrate_cluster, refusing)
    assert migrated.error is None, migrated.error
    clusters = {"default": targets.clusters["default"], "refusing": refusing}
    runtime = await Runtime.create(
        settings_for(Targets(targets.central, clusters), tmp_path), migrate=False
    )
    database = url_database(refusing.app_url)
    try:
        async with runtime.central.transaction() as session:
            await runtime.cluster_registry.ensure_registered(session, ["default", "refusing"])
            await runtime.cluster_registry.update(session, "refusing", status=ClusterStatus.ACTIVE)
        owners = {key: await make_user(runtime) for key in ("default", "refusing")}
        tenants = {key: await create_tenant(runtime, owners[key], cluster=key) for key in owners}
        async with make_client(create_app(runtime=runtime)) as http:
            headers = {key: await tenant_headers(http, owners[key], tenants[key]) for key in owners}
            for key in owners:
                assert (await http.get(TERMS, headers=headers[key])).status_code == 200

            await allow_connections(server.superuser_url, database, allowed=False)
            try:
                answers: list[httpx.Response] = []
                for _ in range(8):
                    answers.append(await http.get(TERMS, headers=headers["refusing"]))
                    healthy = await http.get(TERMS, headers=headers["default"])
                    assert healthy.status_code == 200, healthy.text
                assert {a.status_code for a in answers} == {503}, [a.text for a in answers]
                assert {problem_code(a) for a in answers} == {"CLUSTER_UNAVAILABLE"}
                assert all(a.headers.get("retry-after") for a in answers)
                breaker = runtime.cluster_manager.breaker("refusing")
                assert breaker.state is not BreakerState.CLOSED
                probe = await runtime.cluster_registry.probe("refusing")
                connect = next(c for c in probe.checks if c.name == "connect")
                assert not connect.ok
                assert "55000" in connect.detail and database in connect.detail
                # No new tenant is placed on it while its breaker is open.
                async with runtime.central.transaction() as session:
                    placeable = [r.key for r in await runtime.cluster_registry.placeable(session)]
                assert "refusing" not in placeable and "default" in placeable
            finally:
                await allow_connections(server.superuser_url, database, allowed=True)

            async def recovered() -> bool:
                response = await http.get(TERMS, headers=headers["refusing"])
                return response.status_code == 200

            for _ in range(80):
                if await recovered():
                    break
                await asyncio.sleep(0.5)
            else:
                pytest.fail("the tenant did not recover once the cluster took connections again")
    finally:
        await runtime.close()
