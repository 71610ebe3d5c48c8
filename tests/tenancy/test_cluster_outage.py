"""Two clusters, one stopped mid-traffic (incident playbook 4): only the tenants on the stopped
cluster get 503 CLUSTER_UNAVAILABLE with Retry-After (never a 500), the breaker opens and answers
fail fast, /readyz names the cluster, and a restarted cluster is used again by the same runtime."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from garment.app import create_app
from garment.central.clusters.manager import BreakerOptions, ClusterConnectionManager
from garment.central.clusters.states import ClusterStatus
from garment.central.tenancy.models import Tenant
from garment.platform.dbsetup import DatabaseTarget, Targets, ensure_layout
from garment.platform.errors import AppError
from garment.platform.migrations import migrate_cluster
from garment.runtime import Runtime
from tests.auth.conftest import TestUser, login, make_user
from tests.conftest import StoppableServer, make_client, settings_for, unique_layout
from tests.tenancy.conftest import create_tenant, select_tenant

ME = "/api/v1/tenant/me"
# A read of the tenant's own rows: it needs the cluster on every request (`/tenant/me` may be
# answered from the caches alone).
TERMS = "/api/v1/tenant/taxonomies?limit=5"


@dataclass(frozen=True, slots=True)
class Answer:
    tenant: str  # "default" | "flaky"
    at: float
    status: int
    code: str | None
    retry_after: str | None
    seconds: float


class ConnectionAttempts:
    """Counts transactions that really reach for the flaky cluster's pool."""

    def __init__(self) -> None:
        self.count = 0


def count_attempts(runtime: Runtime, key: str) -> ConnectionAttempts:
    database = runtime.cluster_manager.database(key)
    real = database.transaction
    attempts = ConnectionAttempts()

    @asynccontextmanager
    async def counted() -> AsyncIterator[AsyncSession]:
        attempts.count += 1
        async with real() as session:
            yield session

    database.transaction = counted  # type: ignore[method-assign]
    return attempts


async def tenant_headers(
    http: httpx.AsyncClient, owner: TestUser, tenant: Tenant
) -> dict[str, str]:
    session = await login(http, owner)
    token = await select_tenant(http, session["access_token"], tenant.id)
    return {"Authorization": f"Bearer {token}", "X-Tenant-ID": str(tenant.id)}


def problem_code(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    code = response.json().get("code")
    return str(code) if code is not None else None


@pytest.mark.slow
async def test_a_stopped_cluster_affects_only_its_tenants_and_recovers(
    targets: Targets,
    tmp_path: Path,
    stoppable_server_factory: Callable[[], StoppableServer],
) -> None:
    server = stoppable_server_factory()
    remote = await asyncio.to_thread(ensure_layout, server.superuser_url, unique_layout("go"))
    flaky = DatabaseTarget(
        "flaky", remote.clusters["default"].app_url, remote.clusters["default"].owner_url
    )
    migrated = await asyncio.to_thread(migrate_cluster, flaky)
    assert migrated.error is None, migrated.error
    clusters = {"default": targets.clusters["default"], "flaky": flaky}
    runtime = await Runtime.create(
        settings_for(Targets(targets.central, clusters), tmp_path), migrate=False
    )
    try:
        async with runtime.central.transaction() as session:
            await runtime.cluster_registry.ensure_registered(session, ["default", "flaky"])
            await runtime.cluster_registry.update(session, "flaky", status=ClusterStatus.ACTIVE)
        owners = {key: await make_user(runtime) for key in ("default", "flaky")}
        tenants = {key: await create_tenant(runtime, owners[key], cluster=key) for key in owners}
        assert [tenants[key].cluster_key for key in owners] == ["default", "flaky"]
        async with make_client(create_app(runtime=runtime)) as http:
            headers = {key: await tenant_headers(http, owners[key], tenants[key]) for key in owners}
            for key in owners:
                assert (await http.get(TERMS, headers=headers[key])).status_code == 200

            attempts = count_attempts(runtime, "flaky")
            answers: list[Answer] = []
            stop_traffic = asyncio.Event()

            async def traffic(key: str) -> None:
                while not stop_traffic.is_set():
                    started = time.monotonic()
                    response = await http.get(TERMS, headers=headers[key])
                    answers.append(
                        Answer(
                            key,
                            started,
                            response.status_code,
                            problem_code(response),
                            response.headers.get("Retry-After"),
                            time.monotonic() - started,
                        )
                    )
                    await asyncio.sleep(0.01)

            def flaky_ok_after(moment: float) -> Answer | None:
                ok = [
                    a for a in answers if a.tenant == "flaky" and a.at > moment and a.status == 200
                ]
                return ok[0] if ok else None

            loops = [
                asyncio.create_task(traffic(key)) for key in ("default", "flaky") for _ in "ab"
            ]
            try:
                await asyncio.sleep(0.5)
                stopping = time.monotonic()
                await asyncio.to_thread(server.stop)
                stopped = time.monotonic()
                attempts_at_stop = attempts.count
                await asyncio.sleep(2.0)

                ready = await http.get("/readyz")
                assert ready.status_code == 200
                body = ready.json()
                assert body["status"] == "degraded"
                assert body["clusters"]["flaky"]["status"] == "down"
                assert body["clusters"]["default"]["status"] == "up"
                assert (await http.get("/readyz", params={"strict": "true"})).status_code == 503
                breaker = runtime.cluster_manager.breaker("flaky")
                assert breaker.failures >= breaker.options.failure_threshold

                outage_attempts = attempts.count - attempts_at_stop
                restarting = time.monotonic()
                await asyncio.to_thread(server.start)
                restarted = time.monotonic()
                # Same runtime, same pool: the breaker lets a trial through after its cool-down.
                deadline = restarted + 35
                while flaky_ok_after(restarted) is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.3)
            finally:
                stop_traffic.set()
                for loop in loops:
                    with contextlib.suppress(Exception):
                        await loop

            recovered = flaky_ok_after(restarted)
            assert recovered is not None, "the flaky tenant never recovered"
            default = [a for a in answers if a.tenant == "default"]
            flaky_answers = [a for a in answers if a.tenant == "flaky"]

            # The tenant on the healthy cluster never noticed.
            assert len(default) >= 50
            assert all(a.status == 200 for a in default), [a for a in default if a.status != 200]

            # The stopped cluster's tenant: 200 or 503 CLUSTER_UNAVAILABLE with Retry-After, and
            # never a 500 -- not even while the server shuts down or starts up and refuses
            # connections with SQLSTATE 57P03.
            unexpected = [a for a in flaky_answers if a.status not in (200, 503)]
            assert not unexpected, unexpected[:5]
            unavailable = [a for a in flaky_answers if a.status == 503]
            for answer in unavailable:
                assert answer.code == "CLUSTER_UNAVAILABLE", answer
                assert answer.retry_after is not None and int(answer.retry_after) >= 1, answer

            # Once the server is gone, until it is restarted: nothing but 503.
            during = [a for a in flaky_answers if a.at >= stopped and a.at + a.seconds < restarting]
            assert len(during) >= 20
            assert {a.status for a in during} == {503}
            # The open breaker answers almost all of them without touching the cluster, at once.
            assert outage_attempts < len(during) / 4, (outage_attempts, len(during))
            latencies = sorted(a.seconds for a in during)
            assert latencies[len(latencies) // 2] < 0.1, latencies

            # Served before the stop, and again after the restart.
            assert any(a.status == 200 for a in flaky_answers if a.at < stopping)
            # (A request started while the half-open trial was in flight may still fail fast.)
            after = [a for a in flaky_answers if a.at > recovered.at + recovered.seconds]
            assert after and all(a.status == 200 for a in after), after
            assert breaker.state == "closed"
            assert (await http.get("/readyz")).json()["status"] == "ready"
    finally:
        try:
            async with runtime.central.transaction() as session:
                await runtime.cluster_registry.update(
                    session, "flaky", status=ClusterStatus.DISABLED
                )
        finally:
            await runtime.close()


# --- a cluster that refuses connections while it shuts down or starts ----------------------


@asynccontextmanager
async def refusing_server(message: str) -> AsyncIterator[int]:
    """A TCP port speaking just enough of the PostgreSQL protocol to refuse every connection
    with SQLSTATE 57P03, as PostgreSQL does while it shuts down or starts up."""

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = int.from_bytes(await reader.readexactly(4), "big")
                body = await reader.readexactly(length - 4)
                if int.from_bytes(body[:4], "big") in (80877103, 80877104):  # SSL / GSSENC
                    writer.write(b"N")
                    await writer.drain()
                    continue
                fields = (
                    b"".join(
                        tag + value.encode() + b"\0"
                        for tag, value in (
                            (b"S", "FATAL"),
                            (b"V", "FATAL"),
                            (b"C", "57P03"),
                            (b"M", message),
                        )
                    )
                    + b"\0"
                )
                writer.write(b"E" + (len(fields) + 4).to_bytes(4, "big") + fields)
                await writer.drain()
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(refuse, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "message", ["the database system is shutting down", "the database system is starting up"]
)
async def test_a_cluster_refusing_connections_while_it_shuts_down_is_unavailable(
    message: str,
) -> None:
    """Regression: SQLAlchemy wraps asyncpg's CannotConnectNowError (57P03) twice; the manager must
    look down the whole cause chain, or the tenant gets 500 and the breaker counts a success."""
    async with refusing_server(message) as port:
        url = f"postgresql://nobody:secret@127.0.0.1:{port}/nothing?ssl=disable"
        manager = ClusterConnectionManager({"closing": DatabaseTarget("closing", url, url)})
        try:
            with pytest.raises(AppError) as raised:
                async with manager.transaction("closing") as session:
                    await session.execute(text("SELECT 1"))
            assert raised.value.code == "CLUSTER_UNAVAILABLE"
            assert int(raised.value.headers["Retry-After"]) >= 1
            assert manager.breaker("closing").failures == 1
        finally:
            await manager.close()


# --- the breaker's half-open trial ----------------------------------------------------------


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never answers: connecting to it hangs."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_cancelled_half_open_trial_lets_a_later_caller_try() -> None:
    """Regression: a cancelled half-open trial (client gone, timeout, shutdown) must free the
    trial, or retry_after() answers 1 forever and the cluster is never tried again."""
    async with silent_server() as port:
        url = f"postgresql://nobody:secret@127.0.0.1:{port}/nothing"
        manager = ClusterConnectionManager(
            {"hung": DatabaseTarget("hung", url, url)},
            breaker=BreakerOptions(failure_threshold=1, base_cooldown_seconds=0.1),
        )
        try:
            breaker = manager.breaker("hung")
            breaker.record_failure()  # open for 0.1 s
            assert breaker.state == "open"
            await asyncio.sleep(0.15)
            assert breaker.state == "half_open"

            async def trial() -> None:
                async with manager.transaction("hung") as session:
                    await session.execute(text("SELECT 1"))

            attempt = asyncio.create_task(trial())
            await asyncio.sleep(0.3)  # the trial is stuck connecting
            assert not attempt.done()
            attempt.cancel()
            with pytest.raises(asyncio.CancelledError):
                await attempt

            # Long after the cool-down, a new caller must be allowed to try the cluster.
            await asyncio.sleep(0.5)
            assert breaker.retry_after() is None
        finally:
            await manager.close()
