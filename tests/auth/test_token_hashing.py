"""Stored bearer secrets are keyed hashes (ADR 0009): a database copy alone cannot test guesses,
old keys keep verifying during a rotation, and hashes stored before the upgrade (bare SHA-256)
keep working while legacy hashes are accepted."""

from __future__ import annotations

import hashlib
import uuid

import httpx
from sqlalchemy import select, update

from garment.central.auth.models import RecoveryCode, RefreshToken
from garment.central.tenancy.models import Invitation
from garment.config import AuthSettings
from garment.platform.token_hashing import TokenHasher, derive_hash_key
from garment.runtime import Runtime, token_hasher_for
from tests.auth.conftest import login, make_user, unique_email
from tests.conftest import TEST_SECRET_KEY
from tests.tenancy.conftest import create_tenant


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_a_hash_needs_the_key_and_every_configured_key_verifies() -> None:
    old, new = b"o" * 32, b"n" * 32
    before = TokenHasher([old])
    during = TokenHasher([new, old], accept_legacy=False)
    token = "grt_" + uuid.uuid4().hex
    assert before.hash(token) != sha256(token)
    assert before.hash(token) != TokenHasher([new]).hash(token)
    assert len(during.hash(token)) == 64
    # Rotation: new tokens get the new key, tokens hashed before still match.
    assert during.hash(token) == TokenHasher([new]).hash(token)
    assert during.matches(token, before.hash(token))
    assert not during.matches(token, sha256(token))
    assert not TokenHasher([new]).matches(token, before.hash(token))
    assert TokenHasher([old], accept_legacy=True).matches(token, sha256(token))


def test_the_default_key_is_derived_from_the_secret_key(runtime: Runtime) -> None:
    expected = TokenHasher([derive_hash_key(TEST_SECRET_KEY)])
    assert runtime.token_hasher.hash("x") == expected.hash("x")
    auth = AuthSettings.model_validate(
        {**runtime.settings.auth.model_dump(), "token_hash_keys": [TEST_SECRET_KEY[::-1]]}
    )
    configured = runtime.settings.model_copy(update={"auth": auth})
    assert token_hasher_for(configured, TEST_SECRET_KEY).hash("x") != expected.hash("x")


async def test_refresh_tokens_are_stored_keyed_and_legacy_hashes_still_rotate(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    pair = await login(client, user)
    raw = pair["refresh_token"]
    async with runtime.central.transaction() as session:
        stored = (
            await session.execute(
                select(RefreshToken.token_hash).where(
                    RefreshToken.session_id == uuid.UUID(pair["session_id"])
                )
            )
        ).scalar_one()
        assert stored == runtime.token_hasher.hash(raw) != sha256(raw)
        # As a row written before keyed hashing existed.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == stored)
            .values(token_hash=sha256(raw))
        )
    rotated = await client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": raw},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    assert rotated.status_code == 200, rotated.text
    successor = rotated.json()["refresh_token"]
    async with runtime.central.transaction() as session:
        hashes = set(
            (
                await session.execute(
                    select(RefreshToken.token_hash).where(
                        RefreshToken.session_id == uuid.UUID(pair["session_id"])
                    )
                )
            ).scalars()
        )
    assert runtime.token_hasher.hash(successor) in hashes  # the successor is keyed


async def test_recovery_codes_and_invitations_are_stored_keyed(runtime: Runtime) -> None:
    user = await make_user(runtime)
    async with runtime.central.transaction() as session:
        account = await runtime.auth.accounts.get(session, user.id)
        assert account is not None
        await runtime.auth.mfa.enroll(session, account)
        codes = await runtime.auth.mfa._replace_recovery_codes(session, user.id)
        stored = set(
            (
                await session.execute(
                    select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
                )
            ).scalars()
        )
    normalized = [code.replace("-", "") for code in codes]
    assert stored == {runtime.token_hasher.hash(code) for code in normalized}
    assert not stored & {sha256(code) for code in normalized}

    tenant = await create_tenant(runtime, user)
    async with runtime.central.transaction() as session:
        invitation = await runtime.tenancy.invite(
            session, tenant.id, email=unique_email(), role_keys=["viewer"], invited_by=user.id
        )
        token = await runtime.tenancy.mint_invitation_token(session, invitation.id)
        invitation_hash = (
            await session.execute(
                select(Invitation.token_hash).where(Invitation.id == invitation.id)
            )
        ).scalar_one()
    assert invitation_hash == runtime.token_hasher.hash(token) != sha256(token)
