"""Drill (incident playbook 1, docs/22): a refresh token replayed after its successor was used,
and a refresh from another device (the `X-Device-Fingerprint` the session started with, whose
SHA-256 the server keeps; the user agent changes with it, as it does on a stolen token), both on
a real `garment serve` over HTTP. Then every step of the playbook, run as the operator types it
from the 401's `X-Request-ID`, must name the cause: the activity, its request id, the user and
the token generation that gave the family away."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from garment.config import Settings
from garment.runtime import Runtime
from tests.auth.conftest import TestUser, bearer, make_user
from tests.drills.support import Drill, running_server

pytestmark = pytest.mark.slow

PHONE = {"X-Device-Fingerprint": "drill-phone-7f3a", "User-Agent": "GarmentApp/2.4 (Android 14)"}
THIEF = {"X-Device-Fingerprint": "drill-laptop-91cc", "User-Agent": "curl/8.5.0"}


async def sign_in(http: httpx.AsyncClient, user: TestUser) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/auth/login", json={"email": user.email, "password": user.password}, headers=PHONE
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(
    http: httpx.AsyncClient, token: str, device: dict[str, str] = PHONE
) -> httpx.Response:
    return await http.post("/api/v1/auth/refresh", json={"refresh_token": token}, headers=device)


def refused(response: httpx.Response, code: str) -> str:
    """The 401's request id, after checking it is the documented problem."""
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == code, body
    request_id = response.headers["X-Request-ID"]
    assert request_id and body["request_id"] == request_id
    return request_id


def activities(drill: Drill, line: str, user: TestUser) -> list[dict[str, Any]]:
    """A documented `garment auth activities ... --json`, narrowed to this drill's user (the
    suite's other tests share the central database)."""
    rows: list[dict[str, Any]] = drill.json(line)
    return [row for row in rows if row["user_id"] == str(user.id)]


async def test_refresh_replay_and_fingerprint_swap_are_traced_by_the_playbook_commands(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    user = await make_user(runtime)
    admin = await make_user(runtime, admin=True)
    async with running_server(settings, tmp_path) as drill:
        http = drill.http

        # --- the incident ---
        replayed = await sign_in(http, user)
        first = await refresh(http, replayed["refresh_token"])
        assert first.status_code == 200, first.text
        second = await refresh(http, first.json()["refresh_token"])
        assert second.status_code == 200, second.text
        # The old token again, after its successor was used too: no grace, a replay.
        replay_id = refused(await refresh(http, replayed["refresh_token"]), "AUTH_REFRESH_REPLAYED")
        # The whole family is revoked: the newest refresh token and access token die with it.
        latest = second.json()
        dead = await refresh(http, latest["refresh_token"])
        assert dead.status_code == 401, dead.text
        assert dead.json()["code"] == "AUTH_REFRESH_INVALID"
        me = await http.get("/api/v1/auth/me", headers=bearer(latest["access_token"]))
        assert me.status_code == 401 and me.json()["code"] == "AUTH_SESSION_REVOKED", me.text

        swapped = await sign_in(http, user)
        swap_id = refused(
            await refresh(http, swapped["refresh_token"], THIEF), "AUTH_FINGERPRINT_MISMATCH"
        )
        again = await refresh(http, swapped["refresh_token"])  # even from the right device now
        assert again.status_code == 401, again.text

        live = await sign_in(http, user)  # the user's phone, signed in again

        # --- step 1: the request id ---
        logs = drill.ok(f"garment logs --request-id {replay_id}")
        assert replay_id in logs and str(user.id)[:8] in logs, logs
        assert "auth.suspicious_activity" in logs and "refresh_replay" in logs, logs
        assert "AUTH_REFRESH_REPLAYED" in logs, logs
        as_json = [
            json.loads(line)
            for line in drill.ok(f"garment logs --request-id {replay_id} --json").splitlines()
            if line.strip()
        ]
        assert as_json and {line["request_id"] for line in as_json} == {replay_id}
        warning = next(line for line in as_json if line["event"] == "auth.suspicious_activity")
        assert warning["level"] == "warning" and warning["reason"] == "refresh_replay"
        assert warning["user_id"] == str(user.id)

        [replay] = drill.json(f"garment auth activities --request-id {replay_id} --json")
        assert replay["type"] == "refresh_replay" and replay["reason"] == "refresh_replay"
        assert replay["suspicious"] is True and replay["user_id"] == str(user.id)
        assert replay["session_id"] == str(replayed["session_id"])
        assert replay["id"] == warning["activity_id"], "the log line names the activity"

        replay_generation = replay["details"]["generation"]

        timeline = drill.ok(f"garment incident timeline --request-id {replay_id}")
        generation = f"generation={replay_generation}"
        assert "refresh_replay" in timeline and generation in timeline, timeline
        rows = drill.json(f"garment incident timeline --request-id {replay_id} --json")
        assert {row["request_id"] for row in rows} == {replay_id}, rows
        assert {row["source"] for row in rows} >= {"log", "activity"}, rows
        assert any(
            "refresh_replay" in json.dumps(row) for row in rows if row["source"] == "activity"
        )

        admin_token = (await sign_in(http, admin))["access_token"]
        over_http = await http.get(
            "/api/v1/admin/activities/suspicious",
            params={"request_id": replay_id},
            headers=bearer(admin_token),
        )
        assert over_http.status_code == 200, over_http.text
        assert [row["id"] for row in over_http.json()["data"]] == [replay["id"]]

        # --- step 2: the suspicious activities ---
        suspicious = activities(
            drill,
            "garment auth activities --suspicious --since 2h --reason refresh_replay --json",
            user,
        )
        assert [row["request_id"] for row in suspicious] == [replay_id]
        [mismatch] = activities(
            drill,
            "garment auth activities --suspicious --since 2h --reason fingerprint_mismatch --json",
            user,
        )
        assert mismatch["type"] == "fingerprint_mismatch" and mismatch["request_id"] == swap_id
        assert mismatch["session_id"] == str(swapped["session_id"])
        reasons = {
            row["reason"]
            for row in activities(
                drill, "garment auth activities --suspicious --since 2h --json", user
            )
        }
        assert {"refresh_replay", "fingerprint_mismatch"} <= reasons
        own = await http.get(
            "/api/v1/auth/activities/suspicious", headers=bearer(live["access_token"])
        )
        assert own.status_code == 200, own.text
        assert {"refresh_replay", "fingerprint_mismatch"} <= {
            row["reason"] for row in own.json()["data"]
        }

        # --- step 3: the rotation path ---
        trail = activities(
            drill, f"garment auth activities --user {user.email} --since 24h --json", user
        )
        family = [
            row for row in reversed(trail) if row["session_id"] == str(replayed["session_id"])
        ]
        assert [row["type"] for row in family] == [
            "login_succeeded",
            "refresh",
            "refresh",
            "refresh_replay",
        ], family
        rotations = [row["details"]["generation"] for row in family[1:3]]
        assert rotations[1] == rotations[0] + 1
        # The replayed token is the one the login issued: the generation before the first refresh.
        assert replay_generation == rotations[0] - 1
        assert family[3]["ip"] == family[1]["ip"] == family[2]["ip"]
        swap_family = [row for row in trail if row["session_id"] == str(swapped["session_id"])]
        assert swap_family[0]["type"] == "fingerprint_mismatch"
        assert swap_family[0]["details"]["generation"] == family[3]["details"]["generation"]
        assert swap_family[0]["user_agent"] == THIEF["User-Agent"]
        assert swap_family[-1]["user_agent"] == PHONE["User-Agent"]

        inspected = drill.command(f"garment auth inspect-token {latest['access_token']}")
        decoded = json.loads(inspected.stdout)
        assert decoded["verdict"] == "AUTH_SESSION_REVOKED" and inspected.returncode == 1
        claims = decoded["claims"]
        assert claims["sub"] == str(user.id) and claims["sid"] == str(replayed["session_id"])

        # --- step 4: force logout ---
        revoked = drill.ok(f"garment auth revoke-sessions --user {user.email}")
        assert f"revoked 1 session(s) of {user.email}" in " ".join(revoked.split()), revoked
        gone = await http.get("/api/v1/auth/me", headers=bearer(live["access_token"]))
        assert gone.status_code == 401 and gone.json()["code"] == "AUTH_SESSION_REVOKED", gone.text
        unknown = drill.command(
            f"garment auth revoke-sessions --user nobody-{uuid.uuid4().hex}@example.com"
        )
        assert unknown.returncode == 1
