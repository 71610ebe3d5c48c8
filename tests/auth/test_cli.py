"""`garment auth ...` against the test databases (commands run in a thread: they own a loop)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from garment.runtime import Runtime
from tests.auth.conftest import bearer, login, make_user
from tests.conftest import garment


@pytest.mark.usefixtures("cli_env")
async def test_make_admin(runtime: Runtime, client: httpx.AsyncClient) -> None:
    user = await make_user(runtime)
    result = await garment("auth", "make-admin", user.email)
    assert result.exit_code == 0, result.output
    session = await login(client, user)
    assert session["user"]["is_platform_admin"] is True
    missing = await garment("auth", "make-admin", "nobody-here@example.com")
    assert missing.exit_code == 1


@pytest.mark.usefixtures("cli_env")
async def test_revoke_sessions_takes_effect_on_the_next_request(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    user = await make_user(runtime)
    session = await login(client, user)
    result = await garment("auth", "revoke-sessions", "--user", user.email)
    assert result.exit_code == 0, result.output
    assert "revoked 1 session" in result.output
    me = await client.get("/api/v1/auth/me", headers=bearer(session["access_token"]))
    assert me.json()["code"] == "AUTH_SESSION_REVOKED"


@pytest.mark.usefixtures("cli_env")
async def test_inspect_token(runtime: Runtime, client: httpx.AsyncClient) -> None:
    user = await make_user(runtime)
    session = await login(client, user)
    result = await garment("auth", "inspect-token", session["access_token"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["verdict"] == "valid"
    assert printed["claims"]["sub"] == str(user.id)
    assert printed["claims"]["scope"] == "central"
    assert printed["header"]["alg"] == "EdDSA"
    garbage = await garment("auth", "inspect-token", "not.a.jwt")
    assert garbage.exit_code == 1
    assert "AUTH_TOKEN_INVALID" in garbage.output
    assert "Traceback" not in garbage.output and len(garbage.output.splitlines()) <= 2
    revoked = await garment("auth", "revoke-sessions", "--user", user.email)
    assert revoked.exit_code == 0, revoked.output
    after = await garment("auth", "inspect-token", session["access_token"])
    assert after.exit_code == 1, after.output
    assert json.loads(after.output)["verdict"] == "AUTH_SESSION_REVOKED"


@pytest.mark.usefixtures("cli_env")
async def test_activities_command_filters_suspicious(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    user = await make_user(runtime)
    await login(client, user, "first")
    await login(client, user, "second")
    result = await garment(
        "auth", "activities", "--suspicious", "--user", user.email, "--since", "1h", "--json"
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["reason"] for row in rows] == ["new_device"]


@pytest.mark.usefixtures("cli_env")
async def test_keys_rotate_keeps_old_tokens_valid(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    user = await make_user(runtime)
    before = await login(client, user)
    old_kid = runtime.auth.components.tokens.inspect(before["access_token"])["header"]["kid"]
    result = await garment("auth", "keys", "rotate", "--json")
    assert result.exit_code == 0, result.output
    rotation = json.loads(result.output)
    await runtime.auth.components.keys.reload()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    kids = [key["kid"] for key in jwks["keys"]]
    assert old_kid in kids
    assert kids[0] == rotation["kid"]  # published first
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(before["access_token"]))
    ).status_code == 200
    during = await login(client, user)
    assert runtime.auth.components.tokens.inspect(during["access_token"])["header"]["kid"] == (
        old_kid
    )
    listed = await garment("auth", "keys", "list", "--json")
    assert listed.exit_code == 0, listed.output
    states = {row["kid"]: row for row in json.loads(listed.output)}
    assert states[rotation["kid"]]["state"] == "pending"
    assert states[rotation["kid"]]["signs_from"] == rotation["activates_at"]
    assert states[old_kid]["state"] == "signing"
    assert states[old_kid]["verify_until"] == rotation["previous_verify_until"]
    table = await garment("auth", "keys", "list")
    assert "pending" in table.output and "signing" in table.output


@pytest.mark.usefixtures("cli_env")
async def test_keys_rotate_revoke_previous_ends_its_tokens_in_every_process(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    user = await make_user(runtime)
    before = await login(client, user)
    old = bearer(before["access_token"])
    # Verified once, so this process holds the token in its verification cache.
    assert (await client.get("/api/v1/auth/me", headers=old)).status_code == 200
    # The command runs its own runtime: this process hears of it only through NOTIFY.
    result = await garment("auth", "keys", "rotate", "--revoke-previous")
    assert result.exit_code == 0, result.output
    assert "no longer verifies" in result.output
    deadline = asyncio.get_running_loop().time() + 1.0
    while (refused := await client.get("/api/v1/auth/me", headers=old)).status_code == 200:
        assert asyncio.get_running_loop().time() < deadline, "old token still accepted after 1 s"
        await asyncio.sleep(0.02)
    assert refused.json()["code"] == "AUTH_TOKEN_INVALID"
    old_kid = runtime.auth.components.tokens.inspect(before["access_token"])["header"]["kid"]
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert old_kid not in [key["kid"] for key in jwks["keys"]]
    # The session itself is fine: a refresh gets a token from the new key.
    refreshed = await client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": before["refresh_token"]},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert refreshed.status_code == 200, refreshed.text
    new = bearer(refreshed.json()["access_token"])
    assert (await client.get("/api/v1/auth/me", headers=new)).status_code == 200
