"""Two-phase signing-key rotation, seen from several processes at once (incident report: tokens
issued right after `garment auth keys rotate` died before their `exp`).

Each "process" is a key ring of its own on the same central database, under one simulated
clock: `current` hears the change notification (and reloads), `stale` missed it and only
reloads on its 60 s interval. Every token any of them signs must verify in all of them from
its issue until its `exp`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from garment.central.auth.keys import RELOAD_INTERVAL_SECONDS, KeyRing, TokenService
from garment.central.auth.router import JWKS_MAX_AGE_SECONDS
from garment.platform.cache import InvalidationBus
from garment.platform.migrations import migrate_all
from garment.platform.secretbox import SecretBox, master_key
from garment.runtime import Runtime
from tests.conftest import LayoutFactory, settings_for


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Issued:
    process: str
    kid: str
    issued_at: datetime
    expires_at: datetime


def ring_of(runtime: Runtime, clock: Clock) -> KeyRing:
    """A key ring as another process builds it; its own bus is never started, so it hears
    no notification: it knows of a rotation only when it reloads."""
    settings = runtime.settings
    return KeyRing(
        runtime.central,
        SecretBox(master_key(settings), "signing-keys"),
        settings.auth,
        InvalidationBus(runtime.central.url),
        clock=clock,
    )


@pytest.fixture(scope="module")
async def runtime(
    layout_factory: LayoutFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runtime]:
    """A central database of its own: rotations elsewhere in the run (pending keys, revoked
    ones) would otherwise change which key signs when in these timelines."""
    _, targets = layout_factory("gk")
    await asyncio.to_thread(migrate_all, targets)
    own = await Runtime.create(
        settings_for(targets, tmp_path_factory.mktemp("keys")), migrate=False
    )
    try:
        yield own
    finally:
        await own.close()


@contextmanager
def clock_of(runtime: Runtime, clock: Clock) -> Iterator[KeyRing]:
    ring = runtime.auth.components.keys
    real = ring.clock
    ring.clock = clock
    try:
        yield ring
    finally:
        ring.clock = real


async def test_tokens_signed_around_a_rotation_verify_until_exp_in_every_process(
    runtime: Runtime,
) -> None:
    auth = runtime.settings.auth
    lifetime = timedelta(minutes=auth.access_token_minutes)
    clock = Clock(datetime.now(UTC))
    with clock_of(runtime, clock) as rotating:
        await rotating.reload()
        current, stale = ring_of(runtime, clock), ring_of(runtime, clock)
        rings = {"rotating": rotating, "current": current, "stale": stale}
        for ring in rings.values():
            await ring.reload()
        old_kid = rotating.signing_key().kid
        issued: list[Issued] = []

        def sign_everywhere() -> None:
            for name, ring in rings.items():
                kid = ring.signing_key().kid
                issued.append(Issued(name, kid, clock.now, clock.now + lifetime))

        sign_everywhere()
        async with runtime.central.transaction() as session:
            rotation = await rotating.rotate(session)
        await rotating.reload()
        await current.reload()  # heard the NOTIFY

        # Phase 1: published everywhere that reloaded; nobody signs with it yet.
        assert rotation.activates_at == clock.now + timedelta(
            seconds=auth.signing_key_publish_seconds
        )
        for ring in (rotating, current):
            assert rotation.kid in [key["kid"] for key in ring.jwks()["keys"]]
            assert old_kid in [key["kid"] for key in ring.jwks()["keys"]]
        sign_everywhere()
        assert {item.kid for item in issued} == {old_kid}

        # The stale process's periodic reload comes before the activation, so it too publishes
        # (and can verify) the new key before any process signs with it.
        clock.now += timedelta(seconds=RELOAD_INTERVAL_SECONDS - 1)
        sign_everywhere()  # the stale one still believes the old key is not retired
        await stale.reload()
        assert auth.signing_key_publish_seconds > RELOAD_INTERVAL_SECONDS
        assert auth.signing_key_publish_seconds > JWKS_MAX_AGE_SECONDS  # external verifiers
        assert rotation.kid in [key["kid"] for key in stale.jwks()["keys"]]
        assert stale.signing_key().kid == old_kid

        # Phase 2: at activation every process switches by the clock, nothing to hear.
        clock.now = rotation.activates_at - timedelta(milliseconds=1)
        sign_everywhere()
        assert {item.kid for item in issued} == {old_kid}
        clock.now = rotation.activates_at
        sign_everywhere()
        assert {item.kid for item in issued[-3:]} == {rotation.kid}

        # The worst case the window covers: a process that read the keys just before the
        # rotation and missed the notification signs with the old key until its next reload.
        clock.now = rotation.activates_at + timedelta(seconds=RELOAD_INTERVAL_SECONDS - 1)
        late = ring_of(runtime, Clock(clock.now))
        late._keys = {
            key.kid: replace(key, retired_at=None, verify_until=None)
            for key in stale.loaded_keys()
            if key.kid == old_kid
        }
        issued.append(Issued("late", late.signing_key().kid, clock.now, clock.now + lifetime))
        assert issued[-1].kid == old_kid

        for token in issued:
            for moment in (token.issued_at, token.expires_at - timedelta(seconds=1)):
                clock.now = moment
                for name, ring in rings.items():
                    await ring.reload()
                    assert ring.verification_key(token.kid) is not None, (
                        f"{token.kid} signed by {token.process} at {token.issued_at:%T} does not "
                        f"verify in {name} at {moment:%T} (exp {token.expires_at:%T})"
                    )
                    jwks_kids = [key["kid"] for key in ring.jwks()["keys"]]
                    assert token.kid in jwks_kids

        # And not forever: the old key leaves the JWKS once its last token has expired.
        clock.now = rotation.previous_verify_until + timedelta(seconds=1)
        await rotating.reload()
        assert rotating.verification_key(old_kid) is None
        assert old_kid not in [key["kid"] for key in rotating.jwks()["keys"]]
        assert rotating.signing_key().kid == rotation.kid


async def test_a_token_from_the_new_key_verifies_in_a_process_that_just_reloaded(
    runtime: Runtime,
) -> None:
    """The new key's tokens verify with no unknown-kid reload anywhere: it was published first."""
    clock = Clock(datetime.now(UTC))
    with clock_of(runtime, clock) as rotating:
        other = ring_of(runtime, clock)
        await other.reload()
        async with runtime.central.transaction() as session:
            rotation = await rotating.rotate(session)
        await rotating.reload()
        await other.reload()
        clock.now = rotation.activates_at
        tokens = TokenService(rotating, runtime.settings.auth, rotating.invalidations)
        token, _ = await tokens.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4(), amr=["pwd"])
        kid = TokenService.inspect(token)["header"]["kid"]
        assert kid == rotation.kid
        assert other.verification_key(kid) is not None
        verifier = TokenService(other, runtime.settings.auth, other.invalidations)
        claims = await verifier.verify(token, "garment-core")
        assert claims.scope == "central"


@pytest.mark.parametrize("revoke_previous", [True])
async def test_revoke_previous_signs_with_the_new_key_at_once(
    runtime: Runtime, revoke_previous: bool
) -> None:
    clock = Clock(datetime.now(UTC))
    with clock_of(runtime, clock) as rotating:
        await rotating.reload()
        old_kid = rotating.signing_key().kid
        async with runtime.central.transaction() as session:
            rotation = await rotating.rotate(session, revoke_previous=revoke_previous)
        await rotating.reload()
        assert rotation.activates_at == clock.now
        assert rotating.signing_key().kid == rotation.kid
        assert rotating.verification_key(old_kid) is None
