"""Sessions and activities: list, revoke, logout, reauth, and the activity trail."""

from __future__ import annotations

import httpx

from garment.runtime import Runtime
from tests.auth.conftest import PASSWORD, bearer, login, make_user


async def test_refresh_rotates_and_keeps_the_session(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    first = await login(client, user)
    refreshed = await client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": first["refresh_token"]},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["session_id"] == first["session_id"]
    assert body["refresh_token"] != first["refresh_token"]
    assert body["token_type"] == "Bearer"
    me = await client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200


async def test_unknown_refresh_token_is_invalid(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "grt_nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "AUTH_REFRESH_INVALID"


async def test_sessions_list_marks_the_current_one(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    phone = await login(client, user, "phone")
    laptop = await login(client, user, "laptop")
    listed = await client.get("/api/v1/auth/sessions", headers=bearer(laptop["access_token"]))
    sessions = {s["id"]: s for s in listed.json()["data"]}
    assert set(sessions) == {phone["session_id"], laptop["session_id"]}
    assert sessions[laptop["session_id"]]["current"] is True
    assert sessions[phone["session_id"]]["current"] is False


async def test_logout_revokes_only_this_session(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    phone = await login(client, user, "phone")
    laptop = await login(client, user, "laptop")
    out = await client.post("/api/v1/auth/logout", headers=bearer(phone["access_token"]))
    assert out.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(phone["access_token"]))).json()[
        "code"
    ] == "AUTH_SESSION_REVOKED"
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(laptop["access_token"]))
    ).status_code == 200


async def test_logout_all_revokes_every_session(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    sessions = [await login(client, user, device) for device in ("a", "b", "c")]
    out = await client.post("/api/v1/auth/logout-all", headers=bearer(sessions[0]["access_token"]))
    assert out.status_code == 204
    for session in sessions:
        me = await client.get("/api/v1/auth/me", headers=bearer(session["access_token"]))
        assert me.json()["code"] == "AUTH_SESSION_REVOKED"


async def test_revoking_another_session_needs_recent_authentication(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from garment.central.auth.models import AuthSession

    user = await make_user(runtime)
    phone = await login(client, user, "phone")
    laptop = await login(client, user, "laptop")
    async with runtime.central.transaction() as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id == laptop["session_id"])
            .values(authenticated_at=datetime.now(UTC) - timedelta(hours=1))
        )
    headers = bearer(laptop["access_token"])
    stale = await client.delete(f"/api/v1/auth/sessions/{phone['session_id']}", headers=headers)
    assert stale.status_code == 401
    assert stale.json()["code"] == "AUTH_REAUTH_REQUIRED"
    wrong = await client.post("/api/v1/auth/reauth", json={"password": "x" * 12}, headers=headers)
    assert wrong.json()["code"] == "AUTH_PASSWORD_INCORRECT"
    ok = await client.post("/api/v1/auth/reauth", json={"password": PASSWORD}, headers=headers)
    assert ok.status_code == 204
    revoked = await client.delete(f"/api/v1/auth/sessions/{phone['session_id']}", headers=headers)
    assert revoked.status_code == 204
    me = await client.get("/api/v1/auth/me", headers=bearer(phone["access_token"]))
    assert me.json()["code"] == "AUTH_SESSION_REVOKED"


async def test_another_users_session_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, bob = await make_user(runtime), await make_user(runtime)
    alice_session = await login(client, alice)
    bob_session = await login(client, bob)
    response = await client.delete(
        f"/api/v1/auth/sessions/{alice_session['session_id']}",
        headers=bearer(bob_session["access_token"]),
    )
    assert response.status_code == 404
    assert response.json()["code"] == "RESOURCE_NOT_FOUND"


async def test_activities_are_filterable_by_request_id_and_type(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    failed = await client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": "wrong-password-1"},
        headers={"X-Request-ID": "incident-42"},
    )
    assert failed.status_code == 401
    session = await login(client, user)
    headers = bearer(session["access_token"])
    by_request = await client.get(
        "/api/v1/auth/activities", params={"request_id": "incident-42"}, headers=headers
    )
    [activity] = by_request.json()["data"]
    assert activity["type"] == "login_failed"
    assert activity["request_id"] == "incident-42"
    assert activity["ip"] == "127.0.0.1"
    logins = await client.get(
        "/api/v1/auth/activities", params={"type": "login_succeeded"}, headers=headers
    )
    assert [a["type"] for a in logins.json()["data"]] == ["login_succeeded"]


async def test_activities_paginate(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await make_user(runtime)
    for _ in range(3):
        await login(client, user)
    headers = bearer((await login(client, user))["access_token"])
    first = (
        await client.get("/api/v1/auth/activities", params={"limit": 2}, headers=headers)
    ).json()
    assert len(first["data"]) == 2
    assert first["meta"]["next_cursor"]
    second = (
        await client.get(
            "/api/v1/auth/activities",
            params={"limit": 2, "cursor": first["meta"]["next_cursor"]},
            headers=headers,
        )
    ).json()
    ids = [a["id"] for a in first["data"] + second["data"]]
    assert len(ids) == len(set(ids)) == 4


async def test_new_device_is_suspicious_and_notified(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    await login(client, user, "usual-phone")
    second = await login(client, user, "usual-phone")
    stranger = await login(client, user, "stranger-laptop")
    suspicious = await client.get(
        "/api/v1/auth/activities/suspicious", headers=bearer(second["access_token"])
    )
    reasons = [a["reason"] for a in suspicious.json()["data"]]
    assert reasons == ["new_device"]
    assert suspicious.json()["data"][0]["session_id"] == stranger["session_id"]


async def test_admin_sees_suspicious_activities_across_users(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_user(runtime, admin=True)
    victim = await make_user(runtime)
    await login(client, victim, "one")
    await login(client, victim, "two")
    headers = bearer((await login(client, admin))["access_token"])
    response = await client.get(
        "/api/v1/admin/activities/suspicious",
        params={"user_id": str(victim.id), "reason": "new_device"},
        headers=headers,
    )
    assert response.status_code == 200
    assert [a["user_id"] for a in response.json()["data"]] == [str(victim.id)]
    plain = bearer((await login(client, victim, "one"))["access_token"])
    denied = await client.get("/api/v1/admin/activities/suspicious", headers=plain)
    assert denied.status_code == 403
    assert denied.json()["code"] == "PERMISSION_DENIED"
