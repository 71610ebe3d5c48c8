"""A request never waits for a second pooled connection while it holds one.

Under load every connection can be held by a request; one of them then waiting for another
connection waits for itself (found by bench/http: a login burst froze the server every time the
signing keys came due for their periodic reload inside a login's transaction). With a pool of
exactly one connection, any such nesting shows up as a pool timeout instead of a slow answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from garment.app import create_app
from garment.central.auth import keys as keys_module
from garment.config import Settings
from garment.runtime import Runtime
from tests.auth.conftest import bearer, login, make_user
from tests.auth.test_attacks import enrol_mfa, mfa_challenge, verify
from tests.conftest import CLUSTER_KEYS, make_client


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[Runtime]:
    single = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    runtime = await Runtime.create(single, migrate=False)
    async with runtime.central.transaction() as session:
        await runtime.cluster_registry.ensure_registered(session, list(CLUSTER_KEYS))
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_auth_flows_work_on_a_pool_of_one_connection_with_stale_keys(
    one_connection: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every use finds the keys due for a reload: the reload must never nest in a transaction.
    monkeypatch.setattr(keys_module, "RELOAD_INTERVAL_SECONDS", 0.0)
    user = await make_user(one_connection)
    async with make_client(create_app(runtime=one_connection)) as client:
        async with asyncio.timeout(20):
            # Parallel logins queue for the one connection; none needs a second.
            sessions = await asyncio.gather(*(login(client, user, f"dev-{n}") for n in range(4)))
            me = await client.get("/api/v1/auth/me", headers=bearer(sessions[0]["access_token"]))
            assert me.status_code == 200, me.text
            refreshed = await client.post(
                "/api/v1/auth/refresh",
                json={"refresh_token": sessions[1]["refresh_token"]},
                headers={"X-Device-Fingerprint": "dev-1"},
            )
            assert refreshed.status_code == 200, refreshed.text
            jwks = await client.get("/.well-known/jwks.json")
            assert jwks.status_code == 200
            # The tenant picker is read on a connection of its own, after the caller's session
            # was looked up (cold here: a fresh session of another device).
            picker = await client.get(
                "/api/v1/auth/tenants", headers=bearer(sessions[2]["access_token"])
            )
            assert picker.status_code == 200, picker.text


async def test_a_wrong_password_is_counted_on_a_pool_of_one_connection(
    one_connection: Runtime,
) -> None:
    user = await make_user(one_connection)
    async with make_client(create_app(runtime=one_connection)) as single:
        async with asyncio.timeout(20):
            wrong = await single.post(
                "/api/v1/auth/login", json={"email": user.email, "password": "salah-" + "x" * 10}
            )
            assert wrong.json()["code"] == "AUTH_INVALID_CREDENTIALS"
            assert (await login(single, user))["access_token"]


async def test_an_mfa_login_completes_on_a_pool_of_one_connection(
    one_connection: Runtime,
) -> None:
    # The second step's transaction gives its connection back before the response reads the
    # tenant picker on a connection of its own.
    async with make_client(create_app(runtime=one_connection)) as single:
        async with asyncio.timeout(20):
            mfa = await enrol_mfa(single, one_connection)
            challenge = await mfa_challenge(single, mfa.user)
            completed = await verify(single, challenge, mfa.recovery_codes[0])
            assert completed.status_code == 200, completed.text
            assert completed.json()["tenants"] == []
