"""Signing keys survive a change of the key-encryption key without locking anyone out."""

from __future__ import annotations

from pathlib import Path

from garment.central.auth.keys import AUDIENCE_CORE
from garment.platform.dbsetup import Targets
from garment.runtime import Runtime
from tests.auth.conftest import make_user
from tests.conftest import settings_for


async def test_new_secret_key_adds_a_signing_key_and_old_tokens_still_verify(
    runtime: Runtime, targets: Targets, tmp_path: Path
) -> None:
    user = await make_user(runtime)
    async with runtime.central.transaction() as session:
        pair = await runtime.auth.sessions.start(session, user.id, fingerprint="x", amr=["pwd"])
    old_kid = runtime.auth.components.tokens.inspect(pair.access_token)["header"]["kid"]

    other = await Runtime.create(
        settings_for(targets, tmp_path, auth={"secret_key": "a-completely-different-key-42"}),
        migrate=False,
    )
    try:
        tokens = other.auth.components.tokens
        claims = await tokens.verify(pair.access_token, AUDIENCE_CORE)
        assert claims.sub == user.id
        fresh, _ = await tokens.issue(user_id=user.id, session_id=pair.session_id, amr=["pwd"])
        assert tokens.inspect(fresh)["header"]["kid"] != old_kid
    finally:
        await other.close()
    # The original process reloads and verifies tokens signed with the newer key too.
    await runtime.auth.components.keys.reload()
    assert (await runtime.auth.components.tokens.verify(fresh, AUDIENCE_CORE)).sub == user.id
