"""The tenant request path (issue 8): what a request costs with warm caches, that the caches
never outlive a change (in this process at once, in every other within a second), and that no
answer tells a tenant-token holder whether another tenant exists."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from garment.app import create_app
from garment.central.auth.accounts import email_hash
from garment.config import Settings
from garment.runtime import Runtime
from tests.auth.conftest import PASSWORD, TestUser, bearer, login, make_user
from tests.conftest import free_port, garment_env, make_client
from tests.roundtrips import RoundTripProxy
from tests.tenancy.conftest import TenantSetup, select_tenant, tenant_setup

ME = "/api/v1/tenant/me"
TERMS = "/api/v1/tenant/taxonomies?limit=20"
INVITATIONS = "/api/v1/tenant/members/invitations"
VENV_BIN = Path(sys.executable).parent


def problem_shape(response: httpx.Response) -> tuple[int, str, str, str, tuple[str, ...], str]:
    """Everything of an error answer a caller could compare, except its request id."""
    body: dict[str, Any] = response.json()
    return (
        response.status_code,
        body["code"],
        body["title"],
        body["detail"],
        tuple(sorted(body)),
        response.headers["content-type"],
    )


# --- round trips -------------------------------------------------------------------------------


async def test_a_cached_tenant_request_costs_only_its_own_round_trips(
    proxied: tuple[Runtime, RoundTripProxy, RoundTripProxy],
) -> None:
    runtime, central, cluster = proxied
    async with make_client(create_app(runtime=runtime)) as client:
        setup = await tenant_setup(runtime, client, cluster="default")
        headers = setup.headers(tenant=setup.slug.upper())
        for _ in range(2):  # warm every cache: token, session, tenant, membership, roles
            assert (await client.get(TERMS, headers=headers)).status_code == 200
            assert (await client.get(ME, headers=headers)).status_code == 200
        central.reset()
        cluster.reset()

        listed = await client.get(TERMS, headers=headers)
        assert listed.status_code == 200 and len(listed.json()["data"]) == 20
        # No trip to central; on the cluster: BEGIN with the tenant binding in one message,
        # the query, COMMIT. No pre-ping, no separate set_config, no permission query.
        assert (central.reset(), cluster.reset()) == (0, 3)

        me = await client.get(ME, headers=headers)
        assert me.status_code == 200
        # Everything /tenant/me shows is cached: no database at all.
        assert (central.reset(), cluster.reset()) == (0, 0)


async def test_a_refresh_costs_two_round_trips_and_a_reuse_still_gets_its_grace_copy(
    proxied: tuple[Runtime, RoundTripProxy, RoundTripProxy],
) -> None:
    runtime, central, cluster = proxied
    async with make_client(create_app(runtime=runtime)) as client:
        user = await make_user(runtime)
        fingerprint = {"X-Device-Fingerprint": "device-A"}
        warm = (await login(client, user))["refresh_token"]
        warmed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": warm}, headers=fingerprint
        )
        assert warmed.status_code == 200, warmed.text  # the pool holds a connection now
        first = (await login(client, user))["refresh_token"]
        central.reset()
        cluster.reset()

        rotated = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first}, headers=fingerprint
        )
        assert rotated.status_code == 200, rotated.text
        # The happy path is two statements alone: PEEK, then ROTATE (both rows locked, the
        # successor, the used mark, the session touch and the activity in one statement).
        assert (central.reset(), cluster.reset()) == (2, 0)
        # The session's JSONB `amr` arrives decoded from the driver, as through the ORM.
        claims = jwt.decode(rotated.json()["access_token"], options={"verify_signature": False})
        assert claims["amr"] == ["pwd"]

        # Presenting the parent again inside the grace window is decided in a unit of work
        # (PEEK sees it used and writes nothing): the very same pair comes back.
        again = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first}, headers=fingerprint
        )
        assert again.status_code == 200, again.text
        assert again.json()["refresh_token"] == rotated.json()["refresh_token"]


async def test_a_plain_login_costs_three_round_trips_and_every_other_login_keeps_its_rules(
    proxied: tuple[Runtime, RoundTripProxy, RoundTripProxy],
) -> None:
    runtime, central, cluster = proxied
    async with make_client(create_app(runtime=runtime)) as client:
        user = await make_user(runtime)
        await login(client, user)  # the device is known from here on; the pool is warm
        central.reset()
        cluster.reset()

        signed_in = await login(client, user)
        # The candidate (account, failure record, device) in one read; the session, its first
        # token, the device and the activity in one statement; the tenant picker in one read.
        assert (central.reset(), cluster.reset()) == (3, 0)
        me = await client.get("/api/v1/auth/me", headers=bearer(signed_in["access_token"]))
        assert me.status_code == 200, me.text
        claims = jwt.decode(signed_in["access_token"], options={"verify_signature": False})
        assert claims["amr"] == ["pwd"]

        # A login from another device is flagged, so it goes through the activity service.
        other = await client.post(
            "/api/v1/auth/login",
            json={"email": user.email, "password": user.password},
            headers={"X-Device-Fingerprint": "device-B"},
        )
        assert other.status_code == 200, other.text
        # A wrong password is counted; the next success forgives it in a unit of work.
        wrong = await client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": "not-the-password-1"}
        )
        assert wrong.status_code == 401, wrong.text
        assert (await login(client, user))["access_token"]
    async with runtime.central.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT type, suspicious, reason FROM auth_activities WHERE user_id = :user_id"
                " ORDER BY occurred_at, id"
            ),
            {"user_id": user.id},
        )
        activities = [tuple(row) for row in rows]
        failures = await session.scalar(
            text("SELECT count(*) FROM auth_login_throttles WHERE email_hash = :hash"),
            {"hash": email_hash(user.email)},
        )
    assert activities == [
        ("login_succeeded", False, None),
        ("login_succeeded", False, None),
        ("login_succeeded", True, "new_device"),
        ("login_failed", False, None),
        ("login_succeeded", False, None),
    ]
    assert failures == 0


# --- tenant existence is never revealed -----------------------------------------------------


async def test_other_tenants_and_no_tenant_at_all_get_the_same_answer(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mine = await tenant_setup(runtime, client)
    other = await tenant_setup(runtime, client)
    probes = {
        "another tenant's id": str(other.tenant_id),
        "another tenant's slug": other.slug,
        "another tenant's slug, shouted": other.slug.upper(),
        "a random id": str(uuid.uuid4()),
        "a random slug": f"konveksi-{uuid.uuid4().hex[:10]}",
    }
    shapes = {}
    for label, header in probes.items():
        response = await client.get(ME, headers=mine.headers(tenant=header))
        assert response.status_code == 403, (label, response.text)
        assert str(other.tenant_id) not in response.text, label
        shapes[label] = problem_shape(response)
    assert len(set(shapes.values())) == 1, shapes
    # The caller's own tenant still answers, and the token decides which one it is.
    assert (await client.get(ME, headers=mine.headers())).status_code == 200


# --- changes take effect on the next request (this process) ------------------------------------


@dataclass
class Member:
    """A member of a tenant with a warm tenant-scoped token."""

    setup: TenantSetup
    user: TestUser
    session: dict[str, Any]
    token: str

    def headers(self) -> dict[str, str]:
        # Mixed case: the cache key is the token's tenant id, never the header text.
        slug = self.setup.slug
        mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(slug))
        return {**bearer(self.token), "X-Tenant-ID": mixed}


async def second_member(
    runtime: Runtime, client: httpx.AsyncClient, setup: TenantSetup, roles: list[str]
) -> Member:
    user = await make_user(runtime)
    async with runtime.central.transaction() as session:
        invitation = await runtime.tenancy.invite(
            session, setup.tenant_id, email=user.email, role_keys=roles, invited_by=setup.owner.id
        )
        token = await runtime.tenancy.mint_invitation_token(session, invitation.id)
    signed_in = await login(client, user)
    accepted = await client.post(
        "/api/v1/invitations/accept",
        json={"token": token},
        headers=bearer(signed_in["access_token"]),
    )
    assert accepted.status_code == 200, accepted.text
    tenant_token = await select_tenant(client, signed_in["access_token"], setup.tenant_id)
    return Member(setup, user, signed_in, tenant_token)


async def warm(client: httpx.AsyncClient, member: Member, path: str = ME) -> None:
    for _ in range(2):
        response = await client.get(path, headers=member.headers())
        assert response.status_code == 200, response.text


def code_of(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    code: str = response.json()["code"]
    return code


async def test_every_change_takes_effect_on_the_next_request_with_warm_caches(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)

    # A revoked session (force logout of one device).
    member = await second_member(runtime, client, setup, ["viewer"])
    await warm(client, member)
    revoked = await client.delete(
        f"/api/v1/auth/sessions/{member.session['session_id']}", headers=bearer(member.token)
    )
    assert revoked.status_code == 204, revoked.text
    assert code_of(await client.get(ME, headers=member.headers())) == "AUTH_SESSION_REVOKED"

    # Logout everywhere.
    member = await second_member(runtime, client, setup, ["viewer"])
    await warm(client, member)
    assert (
        await client.post("/api/v1/auth/logout-all", headers=bearer(member.token))
    ).status_code == 204
    assert code_of(await client.get(ME, headers=member.headers())) == "AUTH_SESSION_REVOKED"

    # A password change ends every other session of the user.
    member = await second_member(runtime, client, setup, ["viewer"])
    other_device = await login(client, member.user, fingerprint="device-B")
    other_token = await select_tenant(client, other_device["access_token"], setup.tenant_id)
    other = Member(setup, member.user, other_device, other_token)
    await warm(client, other)
    changed = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "benang-jahit-" + uuid.uuid4().hex},
        headers=bearer(member.token),
    )
    assert changed.status_code == 200, changed.text
    assert code_of(await client.get(ME, headers=other.headers())) == "AUTH_SESSION_REVOKED"
    assert code_of(await client.get(ME, headers=member.headers())) is None  # this session stays

    # A removed member.
    member = await second_member(runtime, client, setup, ["viewer"])
    await warm(client, member)
    async with runtime.central.transaction() as session:
        await runtime.tenancy.remove_member(session, setup.tenant_id, member.user.id)
    assert code_of(await client.get(ME, headers=member.headers())) == "TENANT_ACCESS_DENIED"

    # A role change: a viewer made admin may manage invitations at once, and back.
    member = await second_member(runtime, client, setup, ["viewer"])
    await warm(client, member)
    assert code_of(await client.get(INVITATIONS, headers=member.headers())) == "PERMISSION_DENIED"
    async with runtime.central.transaction() as session:
        await runtime.tenancy.set_member_roles(session, setup.tenant_id, member.user.id, ["admin"])
    assert code_of(await client.get(INVITATIONS, headers=member.headers())) is None
    async with runtime.central.transaction() as session:
        await runtime.tenancy.set_member_roles(session, setup.tenant_id, member.user.id, ["viewer"])
    assert code_of(await client.get(INVITATIONS, headers=member.headers())) == "PERMISSION_DENIED"

    # A suspended tenant, and resumed.
    member = await second_member(runtime, client, setup, ["viewer"])
    await warm(client, member)
    async with runtime.central.transaction() as session:
        await runtime.tenancy.suspend(session, setup.tenant_id, "test: unpaid")
    assert code_of(await client.get(ME, headers=member.headers())) == "TENANT_SUSPENDED"
    async with runtime.central.transaction() as session:
        await runtime.tenancy.resume(session, setup.tenant_id)
    assert code_of(await client.get(ME, headers=member.headers())) is None


# --- ... and in every other process within a second ---------------------------------------------


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base: str


def start_server(settings: Settings, data_dir: Path, workers: int = 1) -> ServerProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    env.update(
        garment_env(
            settings,
            GARMENT_DATA_DIR=str(data_dir),
            GARMENT_MAIL__DIRECTORY=str(data_dir / "mail"),
            GARMENT_AUTH__IP_RATE_LIMIT="1000000/minute",
            GARMENT_LOG__LEVEL="WARNING",
            GARMENT_CONFIG_FILE="/nonexistent/garment.toml",
        )
    )
    port = free_port()
    process = subprocess.Popen(
        [
            str(VENV_BIN / "garment"),
            *("serve", "--port", str(port), "--no-worker", "--workers", str(workers)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return ServerProcess(process, f"http://127.0.0.1:{port}")


def wait_ready(server: ServerProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("a server did not become ready")


@pytest.fixture(scope="module")
def two_servers(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    # The second is `garment serve --workers 2`: its processes share a port and each listens
    # for invalidations on its own.
    servers = [
        start_server(settings, tmp_path_factory.mktemp(f"server{n}"), workers=n) for n in (1, 2)
    ]
    try:
        for server in servers:
            wait_ready(server)
        yield [server.base for server in servers]
    finally:
        for server in servers:
            server.process.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()


async def answer_within_a_second(
    probe: Callable[[], Awaitable[httpx.Response]], expected: str | None
) -> float:
    """Seconds until `probe` answers `expected` (a code, or None for success); fails after 1 s."""
    started = time.monotonic()
    while True:
        code = code_of(await probe())
        elapsed = time.monotonic() - started
        if code == expected:
            break
        if elapsed > 1.0:
            pytest.fail(f"still {code} after {elapsed:.2f}s, expected {expected}")
        await asyncio.sleep(0.02)
    # Each probe is a new connection, so a `--workers` server answers from whichever process
    # accepts it: every one of them must have heard.
    later = [code_of(await probe()) for _ in range(6)]
    assert later == [expected] * 6, later
    return elapsed


def getter(
    server: httpx.AsyncClient, path: str, member: Member
) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: server.get(path, headers=member.headers())


@pytest.mark.slow
async def test_changes_reach_every_server_process_within_a_second(
    client: httpx.AsyncClient, runtime: Runtime, two_servers: list[str]
) -> None:
    fresh_connections = httpx.Limits(max_keepalive_connections=0)
    first, second = (
        httpx.AsyncClient(base_url=base, timeout=5, limits=fresh_connections)
        for base in two_servers
    )
    async with first, second:
        setup = await tenant_setup(runtime, client)

        async def warmed(role: str = "viewer", path: str = ME) -> Member:
            member = await second_member(runtime, client, setup, [role])
            for server in (first, second):
                await warm(server, member, path)
            return member

        # Revoked through the first server: it refuses at once, the second within a second.
        member = await warmed()
        revoked = await first.delete(
            f"/api/v1/auth/sessions/{member.session['session_id']}", headers=bearer(member.token)
        )
        assert revoked.status_code == 204, revoked.text
        assert code_of(await first.get(ME, headers=member.headers())) == "AUTH_SESSION_REVOKED"
        await answer_within_a_second(
            lambda: second.get(ME, headers=member.headers()), "AUTH_SESSION_REVOKED"
        )

        # Logout everywhere, through the second server.
        member = await warmed()
        assert (
            await second.post("/api/v1/auth/logout-all", headers=bearer(member.token))
        ).status_code == 204
        assert code_of(await second.get(ME, headers=member.headers())) == "AUTH_SESSION_REVOKED"
        await answer_within_a_second(
            lambda: first.get(ME, headers=member.headers()), "AUTH_SESSION_REVOKED"
        )

        # A password change through the first server ends the other device's session everywhere.
        member = await warmed()
        device_b = await login(client, member.user, fingerprint="device-B")
        other = Member(
            setup,
            member.user,
            device_b,
            await select_tenant(client, device_b["access_token"], setup.tenant_id),
        )
        for server in (first, second):
            await warm(server, other)
        changed = await first.post(
            "/api/v1/auth/password/change",
            json={"current_password": PASSWORD, "new_password": "benang-jahit-" + uuid.uuid4().hex},
            headers=bearer(member.token),
        )
        assert changed.status_code == 200, changed.text
        for server in (first, second):
            await answer_within_a_second(
                getter(server, ME, other),
                "AUTH_SESSION_REVOKED",
            )

        # Member removal, role change and suspension, made by a third process (this one).
        member = await warmed()
        async with runtime.central.transaction() as session:
            await runtime.tenancy.remove_member(session, setup.tenant_id, member.user.id)
        for server in (first, second):
            await answer_within_a_second(
                getter(server, ME, member),
                "TENANT_ACCESS_DENIED",
            )

        member = await warmed()
        for server in (first, second):
            assert (
                code_of(await server.get(INVITATIONS, headers=member.headers()))
                == "PERMISSION_DENIED"
            )
        async with runtime.central.transaction() as session:
            await runtime.tenancy.set_member_roles(
                session, setup.tenant_id, member.user.id, ["admin"]
            )
        for server in (first, second):
            await answer_within_a_second(getter(server, INVITATIONS, member), None)

        member = await warmed()
        async with runtime.central.transaction() as session:
            await runtime.tenancy.suspend(session, setup.tenant_id, "test: unpaid")
        try:
            for server in (first, second):
                await answer_within_a_second(
                    getter(server, ME, member),
                    "TENANT_SUSPENDED",
                )
        finally:
            async with runtime.central.transaction() as session:
                await runtime.tenancy.resume(session, setup.tenant_id)
        for server in (first, second):
            await answer_within_a_second(getter(server, ME, member), None)
