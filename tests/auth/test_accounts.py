"""Accounts: registration, verification, password reset and change, without enumeration."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from garment.runtime import Runtime
from tests.auth.conftest import (
    PASSWORD,
    bearer,
    body_of,
    login,
    mails_to,
    make_user,
    token_in,
    unique_email,
)


async def register(client: httpx.AsyncClient, address: str, **extra: str) -> httpx.Response:
    body = {"email": address, "password": PASSWORD, "name": "Budi Santoso", **extra}
    return await client.post("/api/v1/auth/register", json=body)


async def test_register_verify_then_login(
    client: httpx.AsyncClient, runtime: Runtime, mail_dir: Path
) -> None:
    address = unique_email("budi")
    response = await register(client, address, locale="en")
    assert response.status_code == 201
    assert response.json() == {"status": "accepted"}

    refused = await client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "AUTH_EMAIL_NOT_VERIFIED"

    await runtime.relay.drain()
    [mail] = mails_to(mail_dir, address)
    assert mail["Subject"] == "Verify your email for Garment.id"
    verified = await client.post("/api/v1/auth/email/verify", json={"token": token_in(mail)})
    assert verified.status_code == 200
    again = await client.post("/api/v1/auth/email/verify", json={"token": token_in(mail)})
    assert again.json()["code"] == "AUTH_LINK_INVALID"

    body = (
        await client.post(
            "/api/v1/auth/login", json={"email": address.upper(), "password": PASSWORD}
        )
    ).json()
    assert body["token_type"] == "Bearer"
    assert body["user"]["email"] == address
    assert body["user"]["email_verified"] is True
    assert body["tenants"] == []
    assert body["next"] == "onboarding"
    assert set(body) >= {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
        "session_id",
    }


async def test_registering_an_existing_email_answers_the_same_and_mails_the_owner(
    client: httpx.AsyncClient, runtime: Runtime, mail_dir: Path
) -> None:
    owner = await make_user(runtime)
    fresh = unique_email("fresh")
    started = time.perf_counter()
    taken = await register(client, owner.email)
    taken_time = time.perf_counter() - started
    started = time.perf_counter()
    new = await register(client, fresh)
    new_time = time.perf_counter() - started
    assert (taken.status_code, taken.json()) == (new.status_code, new.json())
    # Both paths hash the password, so neither is noticeably faster.
    assert abs(taken_time - new_time) < 0.25
    await runtime.relay.drain()
    [notice] = mails_to(mail_dir, owner.email)
    assert "mencoba mendaftar" in body_of(notice)


async def test_weak_passwords_are_rejected_with_field_errors(client: httpx.AsyncClient) -> None:
    address = unique_email("weak")
    for password, fragment in [
        ("short", "minimal 8"),
        ("password", "terlalu umum"),
        (address.split("@")[0] + "xyz", "alamat email"),
        ("x" * 129, "maksimal 128"),
    ]:
        response = await client.post(
            "/api/v1/auth/register",
            json={"email": address, "password": password, "name": "W"},
        )
        assert response.status_code == 422, password
        messages = " ".join(response.json()["errors"]["body.password"]).lower()
        assert fragment in messages, (password, messages)


async def test_invalid_email_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": "not-an-email", "password": PASSWORD, "name": "X"}
    )
    assert response.status_code == 422
    assert "body.email" in response.json()["errors"]


async def test_resend_and_forgot_answer_the_same_for_unknown_emails(
    client: httpx.AsyncClient, runtime: Runtime, mail_dir: Path
) -> None:
    unknown = unique_email("ghost")
    for path in ("/api/v1/auth/email/resend", "/api/v1/auth/password/forgot"):
        response = await client.post(path, json={"email": unknown})
        assert response.status_code == 202
        assert response.json() == {"status": "accepted"}
    await runtime.relay.drain()
    assert mails_to(mail_dir, unknown) == []


async def test_resend_mails_a_new_link_and_the_old_one_stops_working(
    client: httpx.AsyncClient, runtime: Runtime, mail_dir: Path
) -> None:
    address = unique_email("resend")
    await register(client, address)
    await runtime.relay.drain()
    await client.post("/api/v1/auth/email/resend", json={"email": address})
    await runtime.relay.drain()
    first, second = mails_to(mail_dir, address)
    stale = await client.post("/api/v1/auth/email/verify", json={"token": token_in(first)})
    assert stale.json()["code"] == "AUTH_LINK_INVALID"
    fresh = await client.post("/api/v1/auth/email/verify", json={"token": token_in(second)})
    assert fresh.status_code == 200


async def test_password_reset_revokes_every_session(
    client: httpx.AsyncClient, runtime: Runtime, mail_dir: Path
) -> None:
    user = await make_user(runtime)
    phone = await login(client, user, "phone")
    laptop = await login(client, user, "laptop")
    forgot = await client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    assert forgot.status_code == 202
    await runtime.relay.drain()
    [mail] = mails_to(mail_dir, user.email, about="atur ulang")
    new_password = "benang-merah-jahit-99"
    reset = await client.post(
        "/api/v1/auth/password/reset", json={"token": token_in(mail), "password": new_password}
    )
    assert reset.status_code == 200
    for session in (phone, laptop):
        me = await client.get("/api/v1/auth/me", headers=bearer(session["access_token"]))
        assert me.json()["code"] == "AUTH_SESSION_REVOKED"
        refreshed = await client.post(
            "/api/v1/auth/refresh",
            json={"refresh_token": session["refresh_token"]},
            headers={"X-Device-Fingerprint": "phone"},
        )
        assert refreshed.status_code == 401
    reused = await client.post(
        "/api/v1/auth/password/reset", json={"token": token_in(mail), "password": new_password}
    )
    assert reused.json()["code"] == "AUTH_LINK_INVALID"
    user.password = new_password
    await login(client, user)
    await runtime.relay.drain()
    assert any("diatur ulang" in body_of(m) for m in mails_to(mail_dir, user.email))


async def test_change_password_keeps_this_session_and_revokes_others(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    here = await login(client, user, "here")
    there = await login(client, user, "there")
    wrong = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": "nope-nope-nope", "new_password": "jarum-emas-2027"},
        headers=bearer(here["access_token"]),
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "AUTH_PASSWORD_INCORRECT"
    changed = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "jarum-emas-2027"},
        headers=bearer(here["access_token"]),
    )
    assert changed.status_code == 200
    assert changed.json() == {"sessions_revoked": 1}
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(here["access_token"]))
    ).status_code == 200
    gone = await client.get("/api/v1/auth/me", headers=bearer(there["access_token"]))
    assert gone.json()["code"] == "AUTH_SESSION_REVOKED"


async def test_login_rehashes_when_parameters_change(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from garment.central.auth.models import User

    user = await make_user(runtime)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with runtime.central.transaction() as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.password_hash = weak
    await login(client, user)
    async with runtime.central.transaction() as session:
        stored = (
            await session.execute(select(User.password_hash).where(User.id == user.id))
        ).scalar_one()
    assert stored != weak
    assert "m=19456,t=2,p=1" in stored


async def test_me_describes_the_user(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await make_user(runtime, locale="en")
    session = await login(client, user)
    me = (await client.get("/api/v1/auth/me", headers=bearer(session["access_token"]))).json()
    assert me["email"] == user.email
    assert me["locale"] == "en"
    assert me["mfa_enabled"] is False


async def test_parallel_registrations_of_one_email_make_one_account(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    import asyncio

    from sqlalchemy import func, select

    from garment.central.auth.models import User

    address = unique_email("race")
    responses = await asyncio.gather(*(register(client, address) for _ in range(5)))
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.text for r in responses}) == 1
    async with runtime.central.transaction() as session:
        count = (
            await session.execute(select(func.count()).where(func.lower(User.email) == address))
        ).scalar_one()
    assert count == 1


async def test_text_the_database_cannot_store_is_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    # JSON allows a NUL character; PostgreSQL text does not. Bad input, not a server error.
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": unique_email("nul"), "password": PASSWORD, "name": "Budi\u0000Santoso"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_FAILED"
