"""The long-lived pieces of central auth a process holds (built by the Runtime)."""

from __future__ import annotations

from dataclasses import dataclass

from garment.central.auth.keys import KeyRing, TokenService
from garment.central.auth.passwords import PasswordHashing
from garment.central.auth.tenants import NoTenantDirectory, TenantDirectory
from garment.config import Settings
from garment.platform.db import Database
from garment.platform.ratelimit import RateLimiter
from garment.platform.secretbox import SecretBox, master_key


@dataclass
class AuthComponents:
    settings: Settings
    hashing: PasswordHashing
    keys: KeyRing
    tokens: TokenService
    grace_box: SecretBox
    mfa_box: SecretBox
    limiter: RateLimiter
    tenant_directory: TenantDirectory

    @classmethod
    def build(cls, settings: Settings, central: Database, limiter: RateLimiter) -> AuthComponents:
        secret = master_key(settings)
        keys = KeyRing(central, SecretBox(secret, "signing-keys"), settings.auth)
        return cls(
            settings=settings,
            hashing=PasswordHashing(settings.auth),
            keys=keys,
            tokens=TokenService(keys, settings.auth),
            grace_box=SecretBox(secret, "refresh-grace"),
            mfa_box=SecretBox(secret, "mfa-totp"),
            limiter=limiter,
            tenant_directory=NoTenantDirectory(),
        )
