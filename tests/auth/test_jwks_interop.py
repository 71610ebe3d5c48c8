"""Any standard JOSE library verifies our access tokens from `/.well-known/jwks.json` alone,
across a key rotation (joserfc here; the server itself uses PyJWT)."""

from __future__ import annotations

import warnings

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, SecurityWarning
from joserfc.jwk import KeySet, KeySetSerialization

from garment.runtime import Runtime
from tests.auth.conftest import bearer, login, make_user


async def fetch_jwks(client: httpx.AsyncClient) -> KeySetSerialization:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    assert "max-age" in response.headers["Cache-Control"]
    jwks: KeySetSerialization = response.json()
    for key in jwks["keys"]:
        assert set(key) == {"kty", "crv", "x", "kid", "use", "alg"}, key  # public halves only
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )
    return jwks


def verify_with_jwks(token: str, jwks: KeySetSerialization, runtime: Runtime) -> jwt.Token:
    """Verify signature and claims with joserfc, knowing nothing but the JWKS JSON."""
    with warnings.catch_warnings():
        # joserfc flags the polymorphic "EdDSA" name (RFC 9864); it is what we publish.
        warnings.simplefilter("ignore", SecurityWarning)
        decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["EdDSA"])
    claims = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": runtime.settings.auth.issuer},
        aud={"essential": True, "value": "garment-core"},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
        leeway=runtime.settings.auth.clock_skew_seconds,
    )
    claims.validate(decoded.claims)
    assert decoded.header["typ"] == "at+jwt"
    return decoded


async def test_a_jose_library_verifies_our_tokens_from_the_jwks_alone(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    pair = await login(client, user)
    jwks = await fetch_jwks(client)
    decoded = verify_with_jwks(pair["access_token"], jwks, runtime)
    assert decoded.header["alg"] == "EdDSA"
    assert decoded.header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert decoded.claims["sub"] == str(user.id)
    assert decoded.claims["sid"] == pair["session_id"]
    assert decoded.claims["scope"] == "central"

    # The library really checks the signature: one flipped payload byte fails.
    header, payload, signature = pair["access_token"].split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(BadSignatureError):
        verify_with_jwks(f"{header}.{flipped}.{signature}", jwks, runtime)


async def test_tokens_verify_across_a_key_rotation(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    before = await login(client, user)
    old_jwks = await fetch_jwks(client)
    old_kid = verify_with_jwks(before["access_token"], old_jwks, runtime).header["kid"]

    ring = runtime.auth.components.keys
    async with runtime.central.transaction() as session:
        rotation = await ring.rotate(session)
    new_kid = rotation.kid
    assert new_kid != old_kid

    # Phase 1: the new key is published before anyone signs with it.
    new_jwks = await fetch_jwks(client)
    kids = [key["kid"] for key in new_jwks["keys"]]
    assert kids[0] == new_kid and old_kid in kids  # the retiring key is still published
    during = await login(client, user)
    assert verify_with_jwks(during["access_token"], old_jwks, runtime).header["kid"] == old_kid
    # Tokens signed before the rotation still verify, for a JOSE library and for us.
    assert verify_with_jwks(before["access_token"], new_jwks, runtime).header["kid"] == old_kid
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(before["access_token"]))
    ).status_code == 200

    # Phase 2: from its activation the new key signs (simulated clock of this process).
    real_clock = ring.clock
    ring.clock = lambda: rotation.activates_at
    try:
        after = await login(client, user)
        refreshed = await client.post(
            "/api/v1/auth/refresh",
            json={"refresh_token": before["refresh_token"]},
            headers={"X-Device-Fingerprint": "device-A"},
        )
    finally:
        ring.clock = real_clock
    assert verify_with_jwks(after["access_token"], new_jwks, runtime).header["kid"] == new_kid
    # A verifier still holding a JWKS from before the rotation cannot know the new kid (it must
    # refetch; the JWKS's max-age is shorter than the publication phase).
    with pytest.raises(InvalidKeyIdError):
        verify_with_jwks(after["access_token"], old_jwks, runtime)
    assert refreshed.status_code == 200, refreshed.text
    assert verify_with_jwks(refreshed.json()["access_token"], new_jwks, runtime).header["kid"] == (
        new_kid
    )
