"""Attacks on central auth, each asserting the exact answer and what it leaves behind.

Refresh replay and the grace window, device swaps, truly parallel refreshes (and a refresh racing
a revoke) against PostgreSQL, password brute force and the per-IP limit, forged access tokens,
revocation that bites on the very next request, and MFA guessing and code reuse.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pyotp
import pytest
import structlog.testing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from garment.app import create_app
from garment.central.auth.accounts import email_hash
from garment.central.auth.models import AuthActivity, AuthSession, LoginThrottle, RefreshToken
from garment.central.auth.ports import ActivityType
from garment.central.auth.repository import DriverRotationRepository
from garment.platform.dbsetup import Targets
from garment.runtime import Runtime
from tests.auth.conftest import (
    TestUser,
    bearer,
    login,
    mails_to,
    make_user,
    token_in,
    unique_email,
)
from tests.conftest import TEST_SECRET_KEY, make_client, settings_for

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"
PROBLEM_JSON = "application/problem+json"


# --- helpers ----------------------------------------------------------------------------------


def device(fingerprint: str | None) -> dict[str, str]:
    return {"X-Device-Fingerprint": fingerprint} if fingerprint else {}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


async def refresh(
    client: httpx.AsyncClient, token: str, fingerprint: str | None = "device-A"
) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token}, headers=device(fingerprint))


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get(ME, headers=bearer(access_token))


async def attempt_login(
    client: httpx.AsyncClient,
    email: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        LOGIN, json={"email": email, "password": password}, headers=headers or {}
    )


async def activities_of(
    runtime: Runtime,
    *,
    user_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    type: str | None = None,
    request_id: str | None = None,
) -> list[AuthActivity]:
    statement = select(AuthActivity).order_by(AuthActivity.id)
    if user_id is not None:
        statement = statement.where(AuthActivity.user_id == user_id)
    if session_id is not None:
        statement = statement.where(AuthActivity.session_id == session_id)
    if type is not None:
        statement = statement.where(AuthActivity.type == type)
    if request_id is not None:
        statement = statement.where(AuthActivity.request_id == request_id)
    async with runtime.central.transaction() as session:
        return list((await session.execute(statement)).scalars().all())


async def session_row(runtime: Runtime, session_id: str | uuid.UUID) -> AuthSession:
    async with runtime.central.transaction() as session:
        row = await session.get(AuthSession, uuid.UUID(str(session_id)))
    assert row is not None
    return row


async def tokens_of(runtime: Runtime, session_id: str | uuid.UUID) -> list[RefreshToken]:
    statement = (
        select(RefreshToken)
        .where(RefreshToken.session_id == uuid.UUID(str(session_id)))
        .order_by(RefreshToken.generation)
    )
    async with runtime.central.transaction() as session:
        return list((await session.execute(statement)).scalars().all())


async def suspicious_via_api(
    client: httpx.AsyncClient, access_token: str, reason: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/auth/activities/suspicious",
        params={"reason": reason},
        headers=bearer(access_token),
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def assert_family_dead(
    client: httpx.AsyncClient, runtime: Runtime, pair: dict[str, Any], reason: str
) -> None:
    """The session is revoked for `reason`: its tokens fail and no grace copy survives."""
    gone = await me(client, pair["access_token"])
    assert_problem(gone, 401, "AUTH_SESSION_REVOKED")
    again = await refresh(client, pair["refresh_token"])
    assert_problem(again, 401, "AUTH_REFRESH_INVALID")
    row = await session_row(runtime, pair["session_id"])
    assert row.revoked_at is not None
    assert row.revoke_reason == reason
    assert all(token.successor_ciphertext is None for token in await tokens_of(runtime, row.id))


@asynccontextmanager
async def isolated_app(
    targets: Targets, tmp_path: Path, **auth: object
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A separate runtime and app on the same databases with some auth settings changed."""
    settings = settings_for(
        targets,
        tmp_path,
        auth={
            "secret_key": TEST_SECRET_KEY,
            "ip_rate_limit": "100000/minute",
            "email_rate_limit": "100000/hour",
            **auth,
        },
    )
    runtime = await Runtime.create(settings, migrate=False)
    try:
        async with make_client(create_app(runtime=runtime)) as http:
            yield runtime, http
    finally:
        await runtime.close()


# --- 1. refresh replay ------------------------------------------------------------------------


async def test_replaying_a_used_refresh_token_after_the_grace_window_revokes_the_family(
    targets: Targets, tmp_path: Path
) -> None:
    async with isolated_app(targets, tmp_path, refresh_reuse_grace_seconds=1) as (runtime, http):
        user = await make_user(runtime)
        first = await login(http, user)
        rotated = await refresh(http, first["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["session_id"] == first["session_id"]

        await asyncio.sleep(1.2)  # the parent's grace window (1 s) is over
        replay = await refresh(http, first["refresh_token"])
        assert_problem(replay, 401, "AUTH_REFRESH_REPLAYED")

        # The whole family is gone: the newest refresh token and the live access token too.
        newest = await refresh(http, second["refresh_token"])
        assert_problem(newest, 401, "AUTH_REFRESH_INVALID")
        assert_problem(await me(http, second["access_token"]), 401, "AUTH_SESSION_REVOKED")
        await assert_family_dead(http, runtime, second, "refresh_replay")

        # The owner sees the replay among their suspicious activities (from a fresh login).
        fresh = await login(http, user)
        [replayed] = await suspicious_via_api(http, fresh["access_token"], "refresh_replay")
        assert replayed["type"] == "refresh_replay"
        assert replayed["session_id"] == first["session_id"]
        assert replayed["user_id"] == str(user.id)
        assert replayed["suspicious"] is True
        assert replayed["request_id"] == replay.headers["X-Request-ID"]


async def test_a_grandparent_refresh_token_is_a_replay_even_inside_the_window(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    gen0 = await login(client, user)
    gen1 = (await refresh(client, gen0["refresh_token"])).json()
    gen2 = (await refresh(client, gen1["refresh_token"])).json()
    # The window (10 s by default) is open: the immediate parent still gets the same pair back.
    parent_again = await refresh(client, gen1["refresh_token"])
    assert parent_again.status_code == 200, parent_again.text
    assert parent_again.json()["refresh_token"] == gen2["refresh_token"]
    assert parent_again.json()["access_token"] == gen2["access_token"]

    grandparent = await refresh(client, gen0["refresh_token"])
    assert_problem(grandparent, 401, "AUTH_REFRESH_REPLAYED")
    await assert_family_dead(client, runtime, gen2, "refresh_replay")
    [replay] = await activities_of(
        runtime, session_id=uuid.UUID(gen0["session_id"]), type="refresh_replay"
    )
    assert replay.suspicious and replay.reason == "refresh_replay"
    assert replay.user_id == user.id
    assert replay.details == {"generation": 0}
    grace = await activities_of(
        runtime, session_id=uuid.UUID(gen0["session_id"]), type="refresh_reuse_grace"
    )
    assert [row.suspicious for row in grace] == [False]


# --- 2. fingerprint swap ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login_device", "refresh_device"),
    [("device-A", "device-EVIL"), ("device-A", None), (None, "device-EVIL")],
    ids=["other-device", "header-dropped", "header-added"],
)
async def test_a_refresh_from_another_device_revokes_the_family(
    client: httpx.AsyncClient,
    runtime: Runtime,
    login_device: str | None,
    refresh_device: str | None,
) -> None:
    user = await make_user(runtime)
    stolen = await login(client, user, login_device)
    swapped = await refresh(client, stolen["refresh_token"], refresh_device)
    assert_problem(swapped, 401, "AUTH_FINGERPRINT_MISMATCH")
    # Even the rightful device cannot continue the family afterwards.
    rightful = await refresh(client, stolen["refresh_token"], login_device)
    assert_problem(rightful, 401, "AUTH_REFRESH_INVALID")
    assert_problem(await me(client, stolen["access_token"]), 401, "AUTH_SESSION_REVOKED")
    row = await session_row(runtime, stolen["session_id"])
    assert row.revoked_at is not None and row.revoke_reason == "fingerprint_mismatch"
    assert [token.used_at for token in await tokens_of(runtime, row.id)] == [None]

    fresh = await login(client, user, login_device)
    [mismatch] = await suspicious_via_api(client, fresh["access_token"], "fingerprint_mismatch")
    assert mismatch["type"] == "fingerprint_mismatch"
    assert mismatch["session_id"] == stolen["session_id"]
    assert mismatch["request_id"] == swapped.headers["X-Request-ID"]


# --- 3. concurrency ---------------------------------------------------------------------------


async def test_parallel_refreshes_of_one_token_all_get_the_same_pair_and_never_fork(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    start = await login(client, user)
    responses = await asyncio.gather(*(refresh(client, start["refresh_token"]) for _ in range(8)))
    assert [response.status_code for response in responses] == [200] * 8, [
        response.text for response in responses if response.status_code != 200
    ]
    pairs = {
        (response.json()["refresh_token"], response.json()["access_token"])
        for response in responses
    }
    assert len(pairs) == 1, pairs
    [(successor, access)] = pairs
    assert successor != start["refresh_token"]

    session_id = uuid.UUID(start["session_id"])
    tokens = await tokens_of(runtime, session_id)
    assert [token.generation for token in tokens] == [0, 1]
    live = [token for token in tokens if token.used_at is None]
    assert len(live) == 1 and live[0].generation == 1  # one chain, no fork
    assert (await session_row(runtime, session_id)).revoked_at is None
    # Exactly one rotation; the seven others were served from the grace copy.
    kinds = [row.type for row in await activities_of(runtime, session_id=session_id)]
    assert kinds.count("refresh") == 1
    assert kinds.count("refresh_reuse_grace") == 7
    assert "refresh_replay" not in kinds

    assert (await me(client, access)).status_code == 200
    onwards = await refresh(client, successor)
    assert onwards.status_code == 200, onwards.text
    assert onwards.json()["refresh_token"] not in {start["refresh_token"], successor}
    assert len(await tokens_of(runtime, session_id)) == 3


async def test_a_rotation_that_lost_its_race_after_the_unlocked_read_is_decided_under_locks(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PEEK reads the token unlocked; another refresh rotates it before this one's ROTATE runs.
    ROTATE then writes nothing, and the unit of work, under CLAIM's locks, sees the token used
    within the grace window and hands back the winner's pair."""
    user = await make_user(runtime)
    async with runtime.central.transaction() as session:
        pair = await runtime.auth.sessions.start(session, user.id, fingerprint="dev", amr=["pwd"])
    unlocked_read = DriverRotationRepository.peek
    winners: list[Any] = []
    raced = False

    async def read_then_lose_the_race(
        self: DriverRotationRepository, candidates: Sequence[str]
    ) -> Any:
        nonlocal raced
        claimed = await unlocked_read(self, candidates)
        if not raced:
            raced = True  # the winner's own read runs unhindered
            winners.append(await runtime.auth.sessions.refresh(pair.refresh_token, "dev"))
        return claimed

    monkeypatch.setattr(DriverRotationRepository, "peek", read_then_lose_the_race)
    late = await runtime.auth.sessions.refresh(pair.refresh_token, "dev")

    [winner] = winners
    assert late == winner
    tokens = await tokens_of(runtime, pair.session_id)
    assert [token.generation for token in tokens] == [0, 1]  # one successor, no fork
    kinds = [row.type for row in await activities_of(runtime, session_id=pair.session_id)]
    assert kinds.count("refresh") == 1
    assert kinds.count("refresh_reuse_grace") == 1


@pytest.mark.parametrize("revoke", ["logout", "delete-session"])
async def test_a_refresh_racing_a_revoke_never_outlives_it(
    client: httpx.AsyncClient, runtime: Runtime, revoke: str
) -> None:
    user = await make_user(runtime)
    for _ in range(4):
        pair = await login(client, user)
        if revoke == "logout":
            revoking = client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"]))
        else:
            revoking = client.delete(
                f"/api/v1/auth/sessions/{pair['session_id']}",
                headers=bearer(pair["access_token"]),
            )
        refreshed, revoked = await asyncio.gather(refresh(client, pair["refresh_token"]), revoking)
        assert revoked.status_code == 204, revoked.text
        if refreshed.status_code == 200:
            # The refresh won the lock: the pair it minted dies with the session.
            await assert_family_dead(
                client,
                runtime,
                refreshed.json(),
                "logout" if revoke == "logout" else "revoked_by_user",
            )
        else:
            assert_problem(refreshed, 401, "AUTH_REFRESH_INVALID")
        await assert_family_dead(
            client, runtime, pair, "logout" if revoke == "logout" else "revoked_by_user"
        )


# --- 4. brute force and rate limits -----------------------------------------------------------


async def test_five_wrong_passwords_lock_the_account(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    for attempt in range(1, 5):
        wrong = await attempt_login(client, user.email, f"wrong-guess-number-{attempt}")
        assert_problem(wrong, 401, "AUTH_INVALID_CREDENTIALS")
    fifth = await attempt_login(client, user.email, "wrong-guess-number-5")
    body = assert_problem(fifth, 423, "AUTH_ACCOUNT_LOCKED")
    retry_after = int(fifth.headers["Retry-After"])
    assert 14 * 60 < retry_after <= 15 * 60 + 1
    assert body["retry_after"] == retry_after

    right = await attempt_login(client, user.email.upper(), user.password)
    assert_problem(right, 423, "AUTH_ACCOUNT_LOCKED")
    assert int(right.headers["Retry-After"]) <= retry_after

    [locked] = await activities_of(runtime, user_id=user.id, type="account_locked")
    assert locked.suspicious and locked.reason == "brute_force"
    assert locked.request_id == fifth.headers["X-Request-ID"]
    failed = await activities_of(runtime, user_id=user.id, type="login_failed")
    assert [row.details["failures"] for row in failed] == [1, 2, 3, 4, 5]
    assert await activities_of(runtime, user_id=user.id, type="login_succeeded") == []


async def test_lockout_counts_unknown_emails_the_same_way(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ghost = unique_email("ghost")
    real = await make_user(runtime)
    answers: list[tuple[int, str]] = []
    last_request: dict[str, str] = {}
    for address in (ghost, real.email):
        for attempt in range(1, 6):
            response = await attempt_login(client, address, f"wrong-guess-number-{attempt}")
            answers.append((response.status_code, response.json()["code"]))
            last_request[address] = response.headers["X-Request-ID"]
    expected = [(401, "AUTH_INVALID_CREDENTIALS")] * 4 + [(423, "AUTH_ACCOUNT_LOCKED")]
    assert answers == expected * 2  # nothing tells the two emails apart

    still = await attempt_login(client, ghost, "wrong-guess-number-6")
    assert_problem(still, 423, "AUTH_ACCOUNT_LOCKED")
    assert "Retry-After" in still.headers
    async with runtime.central.transaction() as session:
        throttle = await session.get(LoginThrottle, email_hash(ghost))
    assert throttle is not None and throttle.failures == 5
    assert throttle.locked_until is not None and throttle.locked_until > datetime.now(UTC)
    # The ghost's lockout is a suspicious activity too (no user to attach it to).
    [ghost_lock] = await activities_of(
        runtime, type="account_locked", request_id=last_request[ghost]
    )
    assert ghost_lock.user_id is None
    assert ghost_lock.suspicious and ghost_lock.reason == "brute_force"
    [real_lock] = await activities_of(
        runtime, type="account_locked", request_id=last_request[real.email]
    )
    assert real_lock.user_id == real.id and real_lock.reason == "brute_force"


async def test_parallel_wrong_passwords_are_all_counted(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user(runtime)
    parallel = 5
    # Make the interleaving deterministic: hold each attempt between reading its throttle row
    # and writing it until all have read (or 0.5 s passed, as when a real lock serializes them).
    arrived = 0
    gate = asyncio.Event()
    record_activity = runtime.auth.activities.record

    async def gated_record(session: AsyncSession, type: ActivityType, **kwargs: Any) -> Any:
        nonlocal arrived
        if type is ActivityType.LOGIN_FAILED and not gate.is_set():
            arrived += 1
            if arrived >= parallel:
                gate.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gate.wait(), 0.5)
            gate.set()
        return await record_activity(session, type, **kwargs)

    monkeypatch.setattr(runtime.auth.activities, "record", gated_record)
    # Captured, a crash is not rendered with rich locals (seconds each in the test log setup).
    with structlog.testing.capture_logs() as logs:
        responses = await asyncio.gather(
            *(attempt_login(client, user.email, f"parallel-guess-{n}") for n in range(parallel))
        )
    monkeypatch.undo()
    assert [entry for entry in logs if entry["event"] == "request.crashed"] == []
    codes = sorted(response.json()["code"] for response in responses)
    assert codes == ["AUTH_ACCOUNT_LOCKED"] + ["AUTH_INVALID_CREDENTIALS"] * 4, codes
    assert_problem(
        await attempt_login(client, user.email, user.password), 423, "AUTH_ACCOUNT_LOCKED"
    )


async def test_the_per_ip_limit_answers_429_and_ignores_spoofed_forwarding(
    targets: Targets, tmp_path: Path
) -> None:
    async with isolated_app(targets, tmp_path, ip_rate_limit="3/minute") as (runtime, http):
        user = await make_user(runtime)
        for _ in range(3):
            assert (await attempt_login(http, user.email, user.password)).status_code == 200
        fourth = await attempt_login(http, user.email, user.password)
        body = assert_problem(fourth, 429, "RATE_LIMITED")
        retry_after = int(fourth.headers["Retry-After"])
        assert 1 <= retry_after <= 60
        assert body["retry_after"] == retry_after
        # No trusted proxy is configured: a forged X-Forwarded-For does not buy a new budget.
        spoofed = await attempt_login(
            http, user.email, user.password, headers={"X-Forwarded-For": "203.0.113.7"}
        )
        assert_problem(spoofed, 429, "RATE_LIMITED")
        # Only three logins got through.
        assert len(await activities_of(runtime, user_id=user.id, type="login_succeeded")) == 3


# --- 5. forged access tokens ------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class Victim:
    user: TestUser
    pair: dict[str, Any]
    kid: str
    signing_key: Ed25519PrivateKey
    issuer: str

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": "garment-core",
            "sub": str(self.user.id),
            "sid": self.pair["session_id"],
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "scope": "central",
            "amr": ["pwd"],
        }
        claims.update(changes)
        return claims

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: Ed25519PrivateKey | None = None,
        kid: str | None = None,
        typ: str = "at+jwt",
    ) -> str:
        return jwt.encode(
            claims,
            key or self.signing_key,
            algorithm="EdDSA",
            headers={"kid": kid or self.kid, "typ": typ},
        )


@pytest.fixture
async def victim(client: httpx.AsyncClient, runtime: Runtime) -> Victim:
    user = await make_user(runtime)
    pair = await login(client, user)
    key = runtime.auth.components.keys.signing_key()
    assert key.private_key is not None
    return Victim(user, pair, key.kid, key.private_key, runtime.settings.auth.issuer)


async def test_a_token_minted_with_the_real_key_is_accepted(
    client: httpx.AsyncClient, victim: Victim
) -> None:
    """Control: the forgeries below differ from this accepted token in one respect each."""
    response = await me(client, victim.sign(victim.claims()))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(victim.user.id)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_an_unsigned_alg_none_token_is_rejected(
    client: httpx.AsyncClient, victim: Victim, alg: str
) -> None:
    header = {"alg": alg, "typ": "at+jwt", "kid": victim.kid}
    for token in (
        f"{segment(header)}.{segment(victim.claims())}.",
        f"{segment(header)}.{segment(victim.claims())}",
    ):
        assert_problem(await me(client, token), 401, "AUTH_TOKEN_INVALID")


def public_key_variants(key: Ed25519PrivateKey) -> list[bytes]:
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return [raw, pem, b64url(raw).encode(), b"secret"]


async def test_hs256_tokens_keyed_with_the_public_key_are_rejected(
    client: httpx.AsyncClient, victim: Victim
) -> None:
    for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
        for secret in public_key_variants(victim.signing_key):
            signing_input = (
                f"{segment({'alg': alg, 'typ': 'at+jwt', 'kid': victim.kid})}."
                f"{segment(victim.claims())}"
            )
            signature = hmac.new(secret, signing_input.encode(), digest).digest()
            token = f"{signing_input}.{b64url(signature)}"
            assert_problem(await me(client, token), 401, "AUTH_TOKEN_INVALID")


async def test_a_token_signed_by_another_ed25519_key_with_a_real_kid_is_rejected(
    client: httpx.AsyncClient, victim: Victim
) -> None:
    forged = victim.sign(victim.claims(), key=Ed25519PrivateKey.generate())
    assert_problem(await me(client, forged), 401, "AUTH_TOKEN_INVALID")


async def test_unknown_or_missing_kid_is_rejected(
    client: httpx.AsyncClient, victim: Victim
) -> None:
    attacker = Ed25519PrivateKey.generate()
    for key in (attacker, victim.signing_key):
        unknown = victim.sign(victim.claims(), key=key, kid=f"kid-{uuid.uuid4().hex[:8]}")
        assert_problem(await me(client, unknown), 401, "AUTH_TOKEN_INVALID")
    no_kid = jwt.encode(
        victim.claims(), victim.signing_key, algorithm="EdDSA", headers={"typ": "at+jwt"}
    )
    assert_problem(await me(client, no_kid), 401, "AUTH_TOKEN_INVALID")


async def test_a_tampered_payload_is_rejected(client: httpx.AsyncClient, victim: Victim) -> None:
    other = uuid.uuid4()
    header, _, signature = victim.sign(victim.claims()).split(".")
    tampered = f"{header}.{segment(victim.claims(sub=str(other)))}.{signature}"
    assert_problem(await me(client, tampered), 401, "AUTH_TOKEN_INVALID")


async def test_a_tenant_scoped_token_on_account_endpoints_is_bound_to_its_live_session(
    client: httpx.AsyncClient, runtime: Runtime, victim: Victim
) -> None:
    """Account endpoints also take the session's tenant-scoped token (by design since commit
    3fdde97: after choosing a tenant the front end holds only that one), but it must be a
    genuine token of that very session, and it dies with the session."""
    session_id = uuid.UUID(victim.pair["session_id"])
    tokens = runtime.auth.components.tokens
    tenant_token, _ = await tokens.issue(
        user_id=victim.user.id, session_id=session_id, amr=["pwd"], tenant_id=uuid.uuid4()
    )
    claims = jwt.decode(tenant_token, options={"verify_signature": False})
    assert (claims["aud"], claims["scope"]) == ("garment-tenant", "tenant")
    assert (await me(client, tenant_token)).status_code == 200

    tenant_claims = victim.claims(aud="garment-tenant", scope="tenant", tid=str(uuid.uuid4()))
    forged = victim.sign(tenant_claims, key=Ed25519PrivateKey.generate())
    assert_problem(await me(client, forged), 401, "AUTH_TOKEN_INVALID")
    foreign, _ = await tokens.issue(
        user_id=uuid.uuid4(), session_id=session_id, amr=["pwd"], tenant_id=uuid.uuid4()
    )
    assert_problem(await me(client, foreign), 401, "AUTH_SESSION_REVOKED")

    logout = await client.post("/api/v1/auth/logout", headers=bearer(tenant_token))
    assert logout.status_code == 204
    assert_problem(await me(client, tenant_token), 401, "AUTH_SESSION_REVOKED")
    assert_problem(await me(client, victim.pair["access_token"]), 401, "AUTH_SESSION_REVOKED")


async def test_an_expired_token_is_rejected_beyond_the_clock_skew(
    client: httpx.AsyncClient, victim: Victim
) -> None:
    now = int(time.time())
    expired = victim.sign(victim.claims(iat=now - 700, nbf=now - 700, exp=now - 100))
    assert_problem(await me(client, expired), 401, "AUTH_TOKEN_EXPIRED")
    # Inside the 30 s leeway a just-expired token still works (clock skew tolerance).
    lenient = victim.sign(victim.claims(iat=now - 600, nbf=now - 600, exp=now - 5))
    assert (await me(client, lenient)).status_code == 200
    # And a token not valid yet (beyond the leeway) is invalid, not expired.
    future = victim.sign(victim.claims(iat=now, nbf=now + 300, exp=now + 900))
    assert_problem(await me(client, future), 401, "AUTH_TOKEN_INVALID")


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example"},
        {"aud": "someone-else"},
        {"sid": None},
        {"scope": "admin"},
    ],
    ids=["wrong-issuer", "wrong-audience", "no-sid", "unknown-scope"],
)
async def test_wrong_claims_are_rejected(
    client: httpx.AsyncClient, victim: Victim, changes: dict[str, Any]
) -> None:
    claims = victim.claims(**changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    assert_problem(await me(client, victim.sign(claims)), 401, "AUTH_TOKEN_INVALID")


async def test_a_token_of_another_type_is_rejected(
    client: httpx.AsyncClient, victim: Victim
) -> None:
    for typ in ("JWT", "id_token+jwt"):
        token = victim.sign(victim.claims(), typ=typ)
        assert_problem(await me(client, token), 401, "AUTH_TOKEN_INVALID")


async def test_a_token_of_a_revoked_or_foreign_session_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, victim: Victim
) -> None:
    # A session that does not exist, and someone else's session under our subject.
    stranger = await make_user(runtime)
    theirs = await login(client, stranger)
    for sid in (str(uuid.uuid4()), theirs["session_id"]):
        token = victim.sign(victim.claims(sid=sid))
        assert_problem(await me(client, token), 401, "AUTH_SESSION_REVOKED")
    # The victim logs out: the still-unexpired access token stops at once.
    logout = await client.post("/api/v1/auth/logout", headers=bearer(victim.pair["access_token"]))
    assert logout.status_code == 204
    assert_problem(await me(client, victim.pair["access_token"]), 401, "AUTH_SESSION_REVOKED")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}],
    ids=["absent", "basic", "empty-bearer"],
)
async def test_no_bearer_token_is_token_missing(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_problem(await client.get(ME, headers=headers), 401, "AUTH_TOKEN_MISSING")


async def test_garbage_bearer_token_is_invalid(client: httpx.AsyncClient) -> None:
    for token in ("not-a-jwt", "a.b.c", "grt_" + "A" * 43):
        assert_problem(await me(client, token), 401, "AUTH_TOKEN_INVALID")


# --- 6. password reset vs a stolen refresh token ----------------------------------------------


async def test_a_password_reset_kills_a_stolen_refresh_token(
    client: httpx.AsyncClient, runtime: Runtime, mail_dir: Path
) -> None:
    owner = await make_user(runtime)
    session = await login(client, owner, "device-A")
    # The thief copied the refresh token and the fingerprint, and keeps rotating it.
    thief = (await refresh(client, session["refresh_token"], "device-A")).json()
    thief = (await refresh(client, thief["refresh_token"], "device-A")).json()
    assert (await me(client, thief["access_token"])).status_code == 200

    assert (
        await client.post("/api/v1/auth/password/forgot", json={"email": owner.email})
    ).status_code == 202
    await runtime.relay.drain()
    [mail] = mails_to(mail_dir, owner.email, about="atur ulang")
    new_password = "benang-emas-tenun-77"
    reset = await client.post(
        "/api/v1/auth/password/reset", json={"token": token_in(mail), "password": new_password}
    )
    assert reset.status_code == 200, reset.text

    assert_problem(
        await refresh(client, thief["refresh_token"], "device-A"), 401, "AUTH_REFRESH_INVALID"
    )
    assert_problem(await me(client, thief["access_token"]), 401, "AUTH_SESSION_REVOKED")
    await assert_family_dead(client, runtime, thief, "password_reset")
    # The old password is worthless now, the new one works.
    old = await attempt_login(client, owner.email, owner.password)
    assert_problem(old, 401, "AUTH_INVALID_CREDENTIALS")
    owner.password = new_password
    await login(client, owner)
    [event] = await activities_of(runtime, user_id=owner.id, type="password_reset")
    assert event.details == {"sessions_revoked": 1}


# --- 7. force logout --------------------------------------------------------------------------


async def test_admin_force_logout_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_user(runtime, admin=True)
    bystander = await make_user(runtime)
    victim = await make_user(runtime)
    phone = await login(client, victim, "phone")
    laptop = await login(client, victim, "laptop")
    admin_session = await login(client, admin)
    bystander_session = await login(client, bystander)
    path = f"/api/v1/admin/users/{victim.id}/force-logout"

    denied = await client.post(path, headers=bearer(bystander_session["access_token"]))
    assert_problem(denied, 403, "PERMISSION_DENIED")
    assert (await me(client, phone["access_token"])).status_code == 200
    assert_problem(await client.post(path), 401, "AUTH_TOKEN_MISSING")
    missing = await client.post(
        f"/api/v1/admin/users/{uuid.uuid4()}/force-logout",
        headers=bearer(admin_session["access_token"]),
    )
    assert_problem(missing, 404, "RESOURCE_NOT_FOUND")

    forced = await client.post(path, headers=bearer(admin_session["access_token"]))
    assert forced.status_code == 200, forced.text
    assert forced.json() == {"sessions_revoked": 2}
    for pair, fingerprint in ((phone, "phone"), (laptop, "laptop")):
        # The access tokens have ~10 minutes left; the very next request is refused.
        assert_problem(await me(client, pair["access_token"]), 401, "AUTH_SESSION_REVOKED")
        assert_problem(
            await refresh(client, pair["refresh_token"], fingerprint), 401, "AUTH_REFRESH_INVALID"
        )
        row = await session_row(runtime, pair["session_id"])
        assert row.revoke_reason == "admin_force_logout" and row.revoked_by == admin.id
    [event] = await activities_of(runtime, user_id=victim.id, type="admin_force_logout")
    assert event.actor_id == admin.id and event.details == {"sessions_revoked": 2}
    assert (await me(client, admin_session["access_token"])).status_code == 200


async def test_a_user_cannot_revoke_someone_elses_session(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await make_user(runtime)
    intruder = await make_user(runtime)
    target = await login(client, owner)
    attacker = await login(client, intruder)
    response = await client.delete(
        f"/api/v1/auth/sessions/{target['session_id']}",
        headers=bearer(attacker["access_token"]),
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert (await me(client, target["access_token"])).status_code == 200
    assert (await session_row(runtime, target["session_id"])).revoked_at is None


# --- 8. MFA -----------------------------------------------------------------------------------


@dataclass
class MfaUser:
    user: TestUser
    secret: str
    recovery_codes: list[str]
    access_token: str
    enrolment_code: str


async def enrol_mfa(client: httpx.AsyncClient, runtime: Runtime) -> MfaUser:
    user = await make_user(runtime)
    pair = await login(client, user)
    enrolled = await client.post(
        "/api/v1/auth/mfa/totp/enroll", headers=bearer(pair["access_token"])
    )
    assert enrolled.status_code == 200, enrolled.text
    secret = enrolled.json()["secret"]
    code = pyotp.TOTP(secret).now()
    confirmed = await client.post(
        "/api/v1/auth/mfa/totp/confirm",
        json={"code": code},
        headers=bearer(pair["access_token"]),
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    return MfaUser(user, secret, codes, pair["access_token"], code)


async def mfa_challenge(client: httpx.AsyncClient, user: TestUser) -> str:
    response = await attempt_login(client, user.email, user.password, headers=device("device-A"))
    body = assert_problem(response, 401, "AUTH_MFA_REQUIRED")
    challenge_id: str = body["challenge_id"]
    return challenge_id


async def verify(client: httpx.AsyncClient, challenge_id: str, code: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/mfa/verify",
        json={"challenge_id": challenge_id, "code": code},
        headers=device("device-A"),
    )


def wrong_code(secret: str) -> str:
    """Six digits that are not a valid code around now."""
    generator = pyotp.TOTP(secret)
    valid = {generator.at(int(time.time()) + offset) for offset in range(-90, 91, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1000)) if code not in valid)


def next_code(secret: str) -> str:
    """The code of the next time step (accepted, and not yet used by the enrolment)."""
    return str(pyotp.TOTP(secret).at(int(time.time()) + 30))


async def test_five_wrong_mfa_codes_burn_the_challenge(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mfa = await enrol_mfa(client, runtime)
    challenge = await mfa_challenge(client, mfa.user)
    for _ in range(5):
        assert_problem(
            await verify(client, challenge, wrong_code(mfa.secret)), 401, "AUTH_MFA_INVALID"
        )
    # Burnt: even the right code no longer completes this challenge.
    assert_problem(
        await verify(client, challenge, next_code(mfa.secret)), 401, "AUTH_MFA_CHALLENGE_EXPIRED"
    )
    assert_problem(
        await verify(client, challenge, mfa.recovery_codes[0]), 401, "AUTH_MFA_CHALLENGE_EXPIRED"
    )

    [flagged] = await suspicious_via_api(client, mfa.access_token, "mfa_brute_force")
    assert flagged["type"] == "mfa_challenge_failed"
    failures = await activities_of(runtime, user_id=mfa.user.id, type="mfa_challenge_failed")
    assert [row.details["attempts"] for row in failures] == [1, 2, 3, 4, 5]
    assert [row.reason for row in failures] == [None] * 4 + ["mfa_brute_force"]
    assert await activities_of(runtime, user_id=mfa.user.id, type="mfa_recovery_code_used") == []
    # The guesses opened no session.
    assert len(await activities_of(runtime, user_id=mfa.user.id, type="login_succeeded")) == 1


async def test_a_totp_code_works_once_and_so_does_a_recovery_code(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mfa = await enrol_mfa(client, runtime)
    # The code the enrolment consumed cannot open a login.
    assert_problem(
        await verify(client, await mfa_challenge(client, mfa.user), mfa.enrolment_code),
        401,
        "AUTH_MFA_INVALID",
    )

    code = next_code(mfa.secret)
    first = await verify(client, await mfa_challenge(client, mfa.user), code)
    assert first.status_code == 200, first.text
    claims = jwt.decode(first.json()["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]
    replayed = await verify(client, await mfa_challenge(client, mfa.user), code)
    assert_problem(replayed, 401, "AUTH_MFA_INVALID")

    recovery = mfa.recovery_codes[0]
    used = await verify(client, await mfa_challenge(client, mfa.user), recovery)
    assert used.status_code == 200, used.text
    claims = jwt.decode(used.json()["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "rc"]
    again = await verify(client, await mfa_challenge(client, mfa.user), recovery)
    assert_problem(again, 401, "AUTH_MFA_INVALID")
    # Written differently it is still the same, spent, code.
    assert_problem(
        await verify(
            client, await mfa_challenge(client, mfa.user), recovery.upper().replace("-", "")
        ),
        401,
        "AUTH_MFA_INVALID",
    )
    assert (
        len(await activities_of(runtime, user_id=mfa.user.id, type="mfa_recovery_code_used")) == 1
    )
    # Another recovery code still works.
    other = await verify(client, await mfa_challenge(client, mfa.user), mfa.recovery_codes[1])
    assert other.status_code == 200, other.text


async def test_parallel_mfa_guesses_get_five_tries_and_no_more(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mfa = await enrol_mfa(client, runtime)
    challenge = await mfa_challenge(client, mfa.user)
    guess = wrong_code(mfa.secret)
    responses = await asyncio.gather(*(verify(client, challenge, guess) for _ in range(10)))
    codes = sorted(response.json()["code"] for response in responses)
    assert codes == ["AUTH_MFA_CHALLENGE_EXPIRED"] * 5 + ["AUTH_MFA_INVALID"] * 5, codes
    failures = await activities_of(runtime, user_id=mfa.user.id, type="mfa_challenge_failed")
    assert sorted(row.details["attempts"] for row in failures) == [1, 2, 3, 4, 5]
    assert [row.reason for row in failures if row.suspicious] == ["mfa_brute_force"]


async def test_one_code_used_in_parallel_logins_opens_one_session(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mfa = await enrol_mfa(client, runtime)
    for code in (next_code(mfa.secret), mfa.recovery_codes[0]):
        challenges = [await mfa_challenge(client, mfa.user) for _ in range(4)]
        responses = await asyncio.gather(*(verify(client, c, code) for c in challenges))
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 401, 401, 401], [response.text for response in responses]
        for response in responses:
            if response.status_code == 401:
                assert_problem(response, 401, "AUTH_MFA_INVALID")
    # The enrolment login plus exactly one per code.
    assert len(await activities_of(runtime, user_id=mfa.user.id, type="login_succeeded")) == 3
