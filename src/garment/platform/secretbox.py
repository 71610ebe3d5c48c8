"""Encryption of secrets at rest (signing keys, MFA seeds, the refresh grace cache).

One key-encryption key (`auth.secret_key`) is stretched with HKDF into a Fernet key per purpose,
so a value encrypted for one purpose cannot be replayed as another. In development the key is
generated once into `data_dir/secret_key` (mode 0600); production must configure it.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from garment.config import Environment, Settings

SECRET_FILE = "secret_key"


class SecretKeyMissing(RuntimeError):
    pass


class SecretBox:
    def __init__(self, master_key: str, purpose: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"garment:{purpose}".encode()
        ).derive(master_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes, ttl_seconds: int | None = None) -> bytes:
        """Raises `InvalidToken` for tampered, foreign or (with ttl) expired ciphertext."""
        return self._fernet.decrypt(ciphertext, ttl=ttl_seconds)


def master_key(settings: Settings) -> str:
    configured = settings.auth.secret_key
    if configured is not None:
        return configured.get_secret_value()
    if settings.environment is Environment.PRODUCTION:
        raise SecretKeyMissing("GARMENT_AUTH__SECRET_KEY must be set in production")
    return _development_key(settings.data_dir / SECRET_FILE)


def _development_key(path: Path) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


__all__ = ["InvalidToken", "SecretBox", "SecretKeyMissing", "master_key"]
