"""Password hashing (argon2id, OWASP parameters) and the password policy (NIST 800-63B).

Policy: at least `auth.password_min_length` characters, at most `auth.password_max_length`, no
composition rules, not the email's local part (or containing it), not one of the shipped common
passwords. Hashes carry their parameters, so raising them later rehashes on the next login.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import anyio.to_thread
from anyio import CapacityLimiter
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from garment.config import AuthSettings
from garment.platform.context import Locale

COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


class PasswordHashing:
    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # Verifying against this when the email is unknown costs the same as a real check, so
        # response time does not reveal whether an account exists.
        self._decoy = self._hasher.hash("decoy-password-for-unknown-accounts")
        self._limiter: CapacityLimiter | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return False

    async def hash_off_loop(self, password: str) -> str:
        """`hash` on a worker thread: argon2 releases the GIL, so the event loop keeps serving."""
        return await anyio.to_thread.run_sync(self.hash, password, limiter=self._threads())

    async def verify_off_loop(self, password_hash: str | None, password: str) -> bool:
        return await anyio.to_thread.run_sync(
            self.verify, password_hash, password, limiter=self._threads()
        )

    def _threads(self) -> CapacityLimiter:
        # One argon2 computation per core: more would only queue inside the CPU while each holds
        # its memory cost (19 MiB by default).
        if self._limiter is None:
            self._limiter = CapacityLimiter(os.cpu_count() or 1)
        return self._limiter

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True, slots=True)
class PolicyViolation:
    code: str
    message_id: str
    message_en: str

    def message(self, locale: Locale) -> str:
        return self.message_id if locale is Locale.ID else self.message_en


def password_violations(
    password: str, email: str | None, settings: AuthSettings
) -> list[PolicyViolation]:
    violations = []
    if len(password) < settings.password_min_length:
        violations.append(
            PolicyViolation(
                "too_short",
                f"Kata sandi minimal {settings.password_min_length} karakter.",
                f"The password must be at least {settings.password_min_length} characters.",
            )
        )
    if len(password) > settings.password_max_length:
        violations.append(
            PolicyViolation(
                "too_long",
                f"Kata sandi maksimal {settings.password_max_length} karakter.",
                f"The password must be at most {settings.password_max_length} characters.",
            )
        )
    lowered = password.lower()
    local_part = (email or "").split("@")[0].lower()
    if len(local_part) >= 3 and local_part in lowered:
        violations.append(
            PolicyViolation(
                "contains_email",
                "Kata sandi tidak boleh memuat alamat email Anda.",
                "The password must not contain your email address.",
            )
        )
    if lowered in common_passwords():
        violations.append(
            PolicyViolation(
                "too_common",
                "Kata sandi ini terlalu umum dan mudah ditebak. Pilih yang lain.",
                "This password is too common and easy to guess. Choose another one.",
            )
        )
    return violations


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
