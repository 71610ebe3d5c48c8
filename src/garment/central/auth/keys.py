"""Ed25519 signing keys and access tokens (JWT, EdDSA, `kid`, `typ: at+jwt`).

Keys live in `auth_signing_keys`, private halves encrypted with the key-encryption key.
Rotation has two phases so that no process ever signs with a key another process cannot verify,
and no token dies before its `exp` (ADR 0015):

1. `garment auth keys rotate` adds the new key with `activates_at` =
   now + `auth.signing_key_publish_seconds`. It is in the JWKS and in every process's key ring
   (NOTIFY at once, the periodic reload at the latest) before anyone signs with it.
2. At `activates_at` every process switches to it by the clock, without needing to hear of
   anything. The previous key stops signing then and keeps verifying until the last token it
   could have signed has expired: activation + one reload interval (a process that missed the
   NOTIFY) + the token lifetime + the clock leeway.

`/.well-known/jwks.json` publishes every key that may verify (pending ones included), so any JOSE
library can check our tokens from the JWKS alone.

Verification is strict: EdDSA only (no `none`, no HS*), a known `kid`, `typ` at+jwt, `iss`,
`aud`, `exp`/`nbf`/`iat` with `auth.clock_skew_seconds` leeway, and the claims we rely on present.
Verified tokens are cached until they expire, and forgotten in every process when the keys
change (`keys:*` invalidation, ADR 0011); the session behind them is still checked on every
request, so a revoked session stops working at once. `rotate --revoke-previous` (a leaked key)
skips the publication phase: the new key signs at once and the previous key's tokens stop
verifying everywhere.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.models import SigningKey
from garment.central.auth.ports import AUDIENCE_CORE, AUDIENCE_TENANT, AccessClaims, TokenScope
from garment.central.auth.repository import SigningKeyRepository
from garment.config import AuthSettings
from garment.platform.cache import EVERYTHING, InvalidationBus
from garment.platform.db import Database
from garment.platform.errors import AUTH_TOKEN_EXPIRED, AUTH_TOKEN_INVALID, AppError
from garment.platform.secretbox import InvalidToken, SecretBox

__all__ = [
    "AUDIENCE_CORE",
    "AUDIENCE_TENANT",
    "KeyRing",
    "LoadedKey",
    "Rotation",
    "TokenService",
]

logger = structlog.get_logger(__name__)

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid", "jti", "aud", "iss", "scope"]
RELOAD_INTERVAL_SECONDS = 60.0
UNKNOWN_KID_RELOAD_SECONDS = 5.0
KEYS_TOPIC = "keys"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def public_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, Any]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(_raw_public(key)),
        "kid": kid,
        "use": "sig",
        "alg": ALGORITHM,
    }


@dataclass(frozen=True, slots=True)
class LoadedKey:
    kid: str
    private_key: Ed25519PrivateKey | None  # None: unreadable with the current secret key
    public_key: Ed25519PublicKey
    created_at: datetime
    activates_at: datetime | None  # None: signs from created_at
    retired_at: datetime | None
    verify_until: datetime | None
    jwk: dict[str, Any]

    @property
    def signs_from(self) -> datetime:
        return self.activates_at or self.created_at

    def verifies_at(self, moment: datetime) -> bool:
        return self.verify_until is None or self.verify_until > moment

    def signs_at(self, moment: datetime) -> bool:
        return (
            self.private_key is not None
            and self.signs_from <= moment
            and (self.retired_at is None or self.retired_at > moment)
        )

    def state_at(self, moment: datetime) -> str:
        """`pending` (published, not signing yet), `signing`, or `verifying` (retired)."""
        if self.signs_at(moment):
            return "signing"
        if self.signs_from > moment:
            return "pending"
        return "verifying"


@dataclass(frozen=True, slots=True)
class Rotation:
    kid: str
    activates_at: datetime
    previous_verify_until: datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


class KeyRing:
    def __init__(
        self,
        database: Database,
        box: SecretBox,
        settings: AuthSettings,
        invalidations: InvalidationBus,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.database = database
        self.box = box
        self.settings = settings
        self.invalidations = invalidations
        self.clock = clock
        self._keys: dict[str, LoadedKey] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task[None] | None = None
        invalidations.subscribe(KEYS_TOPIC, self._forget)

    def _forget(self, _key: str) -> None:
        self._loaded_at = 0.0
        self._refresh_in_background()

    async def ensure_loaded(self) -> None:
        """Keys to sign and verify with. Only the very first load waits for the database (the
        runtime does it at start); later, stale keys are refreshed in the background. A caller
        may be inside a request's transaction, holding a pooled connection: waiting here for a
        second one would deadlock the pool under load (every connection held by a request
        waiting for this one)."""
        if not self._keys:
            await self.reload()
        elif time.monotonic() - self._loaded_at >= RELOAD_INTERVAL_SECONDS:
            self._refresh_in_background()

    async def fresh(self) -> None:
        """Keys no older than the reload interval and any rotation this process has heard of:
        waits for the reload. Only for callers that hold no pooled connection (the JWKS
        endpoint, token verification in the auth dependencies, which run before a request's
        first statement)."""
        if not self._keys or time.monotonic() - self._loaded_at >= RELOAD_INTERVAL_SECONDS:
            self._refresh_in_background()
        refreshing = self._refreshing
        if refreshing is not None and not refreshing.done():
            await asyncio.shield(refreshing)
        if not self._keys:  # the refresh failed and nothing was ever loaded
            await self.reload()

    def _refresh_in_background(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a CLI between runs): the next use reloads
            return
        self._refreshing = loop.create_task(self._refresh_quietly(), name="signing-keys-refresh")

    async def _refresh_quietly(self) -> None:
        try:
            await self.reload()
        except Exception as exc:  # the keys we hold keep working; the next use tries again
            logger.warning("auth.keys_refresh_failed", error=f"{type(exc).__name__}: {exc}")

    async def reload(self) -> None:
        async with self._lock:
            async with self.database.transaction() as session:
                keys = await self._read(session)
                if not self._can_sign(keys):
                    await self._add_key(session, activates_at=None)
                    keys = await self._read(session)
            self._keys = {key.kid: key for key in keys}
            self._loaded_at = time.monotonic()

    def _can_sign(self, keys: list[LoadedKey]) -> bool:
        """Some key signs now or will: a pending key with no signing one (a lost key ring
        mid-rotation) would leave requests without a key until it activates."""
        now = self.clock()
        return any(key.signs_at(now) for key in keys)

    async def rotate(self, session: AsyncSession, *, revoke_previous: bool = False) -> Rotation:
        """Publish a new key that signs from `activates_at`; the keys signing until then stop at
        that moment and verify until their last possible token expires. With `revoke_previous`
        (a leaked key) the new key signs at once and the previous keys stop verifying now:
        their tokens fail in every process and clients refresh. Every process reloads its keys
        and forgets the tokens it verified."""
        now = self.clock()
        if revoke_previous:
            activates_at, verify_until = now, now
        else:
            activates_at = now + timedelta(seconds=self.settings.signing_key_publish_seconds)
            verify_until = (
                activates_at
                + timedelta(
                    seconds=RELOAD_INTERVAL_SECONDS,
                    minutes=self.settings.access_token_minutes,
                )
                + timedelta(seconds=self.settings.clock_skew_seconds)
            )
        keys = SigningKeyRepository(session)
        if revoke_previous:
            await keys.revoke_all(now)
        else:
            await keys.retire_unretired(activates_at, verify_until)
        kid = await self._add_key(session, activates_at=None if revoke_previous else activates_at)
        await self.invalidations.publish_in(session, KEYS_TOPIC, EVERYTHING)
        return Rotation(kid=kid, activates_at=activates_at, previous_verify_until=verify_until)

    async def _add_key(self, session: AsyncSession, *, activates_at: datetime | None) -> str:
        private_key = Ed25519PrivateKey.generate()
        now = self.clock()
        kid = f"{now:%Y%m%d}-{uuid.uuid4().hex[:8]}"
        await SigningKeyRepository(session).create(
            SigningKey(
                kid=kid,
                algorithm=ALGORITHM,
                public_jwk=public_jwk(kid, private_key.public_key()),
                private_key_ciphertext=self.box.encrypt(_raw_private(private_key)),
                created_at=now,
                activates_at=activates_at,
            )
        )
        return kid

    async def _read(self, session: AsyncSession) -> list[LoadedKey]:
        now = self.clock()
        keys = SigningKeyRepository(session)
        rows = await keys.all(keys.select())
        loaded = []
        for row in rows:
            if row.verify_until is not None and row.verify_until <= now:
                continue
            loaded.append(
                LoadedKey(
                    kid=row.kid,
                    private_key=self._private_key(row),
                    public_key=Ed25519PublicKey.from_public_bytes(
                        _b64url_decode(row.public_jwk["x"])
                    ),
                    created_at=row.created_at,
                    activates_at=row.activates_at,
                    retired_at=row.retired_at,
                    verify_until=row.verify_until,
                    jwk=row.public_jwk,
                )
            )
        return loaded

    def _private_key(self, row: SigningKey) -> Ed25519PrivateKey | None:
        """A key whose private half cannot be decrypted (the secret key changed) still verifies
        from its public half; a new signing key is created in its place."""
        try:
            return Ed25519PrivateKey.from_private_bytes(
                self.box.decrypt(row.private_key_ciphertext)
            )
        except InvalidToken:
            logger.error("auth.signing_key_unreadable", kid=row.kid)
            return None

    def signing_key(self) -> LoadedKey:
        """The key that signs now, chosen by the clock: every process that holds the new key
        switches at its `activates_at` together. A process that has not heard of a rotation
        keeps the previous key, which verifies long enough for that (see `rotate`)."""
        now = self.clock()
        signing = [key for key in self._keys.values() if key.signs_at(now)]
        if not signing:
            raise RuntimeError("no signing key: KeyRing.ensure_loaded() first")
        return max(signing, key=lambda key: key.signs_from)

    def verification_key(self, kid: str) -> LoadedKey | None:
        key = self._keys.get(kid)
        if key is None or not key.verifies_at(self.clock()):
            return None
        return key

    def loaded_keys(self) -> list[LoadedKey]:
        return sorted(self._keys.values(), key=lambda key: key.created_at)

    def jwks(self) -> dict[str, Any]:
        now = self.clock()
        keys = sorted(self._keys.values(), key=lambda key: key.created_at, reverse=True)
        return {"keys": [key.jwk for key in keys if key.verifies_at(now)]}

    async def reload_for_unknown_kid(self) -> None:
        """Another process may have rotated: reload, but not more than every few seconds."""
        if time.monotonic() - self._loaded_at >= UNKNOWN_KID_RELOAD_SECONDS:
            await self.reload()


class TokenService:
    def __init__(
        self,
        keys: KeyRing,
        settings: AuthSettings,
        invalidations: InvalidationBus,
        cache_size: int = 10_000,
    ) -> None:
        self.keys = keys
        self.settings = settings
        self._cache: OrderedDict[tuple[str, tuple[str, ...]], AccessClaims] = OrderedDict()
        self._cache_size = cache_size
        self.invalidations = invalidations
        invalidations.subscribe(KEYS_TOPIC, self._forget_verified)

    def _forget_verified(self, _key: str) -> None:
        self._cache.clear()

    async def issue(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        amr: list[str],
        tenant_id: uuid.UUID | None = None,
    ) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        await self.keys.ensure_loaded()
        key = self.keys.signing_key()
        now = int(time.time())
        lifetime = self.settings.access_token_minutes * 60
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "aud": AUDIENCE_TENANT if tenant_id else AUDIENCE_CORE,
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "scope": TokenScope.TENANT if tenant_id else TokenScope.CENTRAL,
            "amr": amr,
        }
        if tenant_id is not None:
            claims["tid"] = str(tenant_id)
        if key.private_key is None:  # signing_key() only returns readable keys
            raise RuntimeError("signing key without a private half")
        token = jwt.encode(
            claims,
            key.private_key,
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": TOKEN_TYPE},
        )
        return token, lifetime

    async def verify(self, token: str, audience: str | tuple[str, ...]) -> AccessClaims:
        """Verified claims of `token` for one of the accepted audiences (cached until exp)."""
        audiences = (audience,) if isinstance(audience, str) else audience
        key = (token, audiences)
        # Like every cache here, only while this process would hear of a key change.
        cached = self._cache.get(key) if self.invalidations.listening else None
        now = time.time()
        if cached is not None:
            if cached.exp + self.settings.clock_skew_seconds > now:
                self._cache.move_to_end(key)
                return cached
            del self._cache[key]
        claims = await self._verify_uncached(token, list(audiences))
        self._cache[key] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    async def _verify_uncached(self, token: str, audience: list[str]) -> AccessClaims:
        await self.keys.fresh()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AppError(AUTH_TOKEN_INVALID) from exc
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
            raise AppError(AUTH_TOKEN_INVALID)
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AppError(AUTH_TOKEN_INVALID)
        key = self.keys.verification_key(kid)
        if key is None:
            await self.keys.reload_for_unknown_kid()
            key = self.keys.verification_key(kid)
        if key is None:
            raise AppError(AUTH_TOKEN_INVALID)
        try:
            payload = jwt.decode(
                token,
                key.public_key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.settings.issuer,
                leeway=self.settings.clock_skew_seconds,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AppError(AUTH_TOKEN_EXPIRED) from exc
        except jwt.PyJWTError as exc:
            raise AppError(AUTH_TOKEN_INVALID) from exc
        try:
            return AccessClaims.from_payload(payload)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise AppError(AUTH_TOKEN_INVALID) from exc

    def loaded_keys(self) -> list[LoadedKey]:
        """The keys this process holds, oldest first (`garment auth keys list`)."""
        return self.keys.loaded_keys()

    @staticmethod
    def inspect(token: str) -> dict[str, Any]:
        """Header and claims without verification (for `garment auth inspect-token`); raises
        `jwt.PyJWTError` for anything that is not a JWT."""
        return {
            "header": jwt.get_unverified_header(token),
            "claims": jwt.decode(token, options={"verify_signature": False}),
        }
