"""TOTP MFA: enrol, confirm (recovery codes), login through a challenge, disable."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp
from sqlalchemy import text

from garment.runtime import Runtime
from tests.auth.conftest import TestUser, bearer, login, make_user


async def enrol(client: httpx.AsyncClient, session: dict[str, Any]) -> tuple[str, list[str]]:
    headers = bearer(session["access_token"])
    started = await client.post("/api/v1/auth/mfa/totp/enroll", headers=headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Garment.id:")
    confirmed = await client.post(
        "/api/v1/auth/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    return secret, codes


async def challenge(client: httpx.AsyncClient, user: TestUser) -> str:
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": user.password},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "AUTH_MFA_REQUIRED"
    assert body["methods"] == ["totp", "recovery_code"]
    return str(body["challenge_id"])


async def test_enrol_then_login_needs_a_code(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await make_user(runtime)
    secret, codes = await enrol(client, await login(client, user))
    assert len(codes) == len(set(codes)) == 10
    challenge_id = await challenge(client, user)
    wrong = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"challenge_id": challenge_id, "code": "000000"},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert wrong.json()["code"] == "AUTH_MFA_INVALID"
    # Enrolment consumed the current 30-second step; the next step's code is still in the window.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    verified = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"challenge_id": challenge_id, "code": code},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["user"]["mfa_enabled"] is True
    claims = runtime.auth.components.tokens.inspect(body["access_token"])["claims"]
    assert claims["amr"] == ["pwd", "otp"]
    reused = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"challenge_id": challenge_id, "code": code},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert reused.json()["code"] == "AUTH_MFA_CHALLENGE_EXPIRED"


async def test_recovery_code_completes_a_challenge_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    _, codes = await enrol(client, await login(client, user))
    first = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"challenge_id": await challenge(client, user), "code": codes[0]},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert first.status_code == 200
    assert runtime.auth.components.tokens.inspect(first.json()["access_token"])["claims"][
        "amr"
    ] == ["pwd", "rc"]
    again = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"challenge_id": await challenge(client, user), "code": codes[0]},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert again.json()["code"] == "AUTH_MFA_INVALID"


async def test_challenge_is_bound_to_the_device(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    _, codes = await enrol(client, await login(client, user))
    response = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"challenge_id": await challenge(client, user), "code": codes[1]},
        headers={"X-Device-Fingerprint": "other-device"},
    )
    assert response.json()["code"] == "AUTH_MFA_CHALLENGE_EXPIRED"


async def test_disable_and_regenerate_need_a_recent_login(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    session = await login(client, user)
    _secret, codes = await enrol(client, session)
    headers = bearer(session["access_token"])
    regenerated = await client.post("/api/v1/auth/mfa/recovery-codes", headers=headers)
    assert regenerated.status_code == 200
    new_codes = regenerated.json()["recovery_codes"]
    assert set(new_codes).isdisjoint(codes)
    twice = await client.post("/api/v1/auth/mfa/totp/enroll", headers=headers)
    assert twice.json()["code"] == "CONFLICT"
    disabled = await client.post(
        "/api/v1/auth/mfa/totp/disable", json={"code": new_codes[0]}, headers=headers
    )
    assert disabled.status_code == 204
    plain = await login(client, user)
    assert plain["user"]["mfa_enabled"] is False


async def test_guesses_are_limited_per_account_not_per_challenge(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A password holder opening challenge after challenge gets `mfa_max_failures` guesses in
    the window, in all; then even a right code waits (423 with Retry-After)."""
    user = await make_user(runtime)
    _, codes = await enrol(client, await login(client, user))
    allowed = runtime.settings.auth.mfa_max_failures
    guesses = 0
    while guesses < allowed:
        challenge_id = await challenge(client, user)
        for _ in range(min(5, allowed - guesses)):
            wrong = await client.post(
                "/api/v1/auth/mfa/verify",
                json={"challenge_id": challenge_id, "code": "000000"},
                headers={"X-Device-Fingerprint": "device-A"},
            )
            assert wrong.json()["code"] == "AUTH_MFA_INVALID", wrong.text
            guesses += 1
    locked = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"challenge_id": await challenge(client, user), "code": codes[0]},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert locked.status_code == 423, locked.text
    assert locked.json()["code"] == "AUTH_ACCOUNT_LOCKED"
    window = runtime.settings.auth.login_failure_window_minutes * 60
    assert 0 < int(locked.headers["Retry-After"]) <= window + 1
    # The recovery code was not spent by the refused attempt.
    async with runtime.central.transaction() as session:
        unused = await session.scalar(
            text("SELECT count(*) FROM auth_recovery_codes WHERE used_at IS NULL AND user_id = :u"),
            {"u": user.id},
        )
    assert unused == 10
