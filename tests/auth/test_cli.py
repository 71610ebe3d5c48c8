"""`garment auth ...` against the test databases (commands run in a thread: they own a loop)."""

from __future__ import annotations

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
    assert garbage.exit_code != 0


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
    result = await garment("auth", "keys", "rotate")
    assert result.exit_code == 0, result.output
    await runtime.auth.components.keys.reload()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    kids = [key["kid"] for key in jwks["keys"]]
    assert old_kid in kids
    assert len(kids) >= 2
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(before["access_token"]))
    ).status_code == 200
    after = await login(client, user)
    new_kid = runtime.auth.components.tokens.inspect(after["access_token"])["header"]["kid"]
    assert new_kid != old_kid
    assert new_kid == kids[0]
