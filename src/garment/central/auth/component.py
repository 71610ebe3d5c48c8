"""The long-lived pieces of central auth a process holds (built once by the composition root)."""

from __future__ import annotations

from dataclasses import dataclass

from garment.central.auth.keys import KeyRing, TokenService
from garment.central.auth.passwords import PasswordHashing
from garment.config import Settings
from garment.platform.cache import InvalidationBus
from garment.platform.db import Database
from garment.platform.ratelimit import RateLimiter
from garment.platform.secretbox import SecretBox
from garment.platform.token_hashing import TokenHasher


@dataclass(frozen=True)
class AuthComponents:
    settings: Settings
    central: Database
    hashing: PasswordHashing
    keys: KeyRing
    tokens: TokenService
    grace_box: SecretBox
    mfa_box: SecretBox
    limiter: RateLimiter
    token_hasher: TokenHasher

    @classmethod
    def build(
        cls,
        settings: Settings,
        central: Database,
        limiter: RateLimiter,
        *,
        master_key: str,
        token_hasher: TokenHasher,
        invalidations: InvalidationBus,
    ) -> AuthComponents:
        keys = KeyRing(central, SecretBox(master_key, "signing-keys"), settings.auth, invalidations)
        return cls(
            settings=settings,
            central=central,
            hashing=PasswordHashing(settings.auth),
            keys=keys,
            tokens=TokenService(keys, settings.auth, invalidations),
            grace_box=SecretBox(master_key, "refresh-grace"),
            mfa_box=SecretBox(master_key, "mfa-totp"),
            limiter=limiter,
            token_hasher=token_hasher,
        )
