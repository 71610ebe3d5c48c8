"""Keyed hashes of the bearer secrets we store: refresh tokens, verification and reset links,
MFA recovery codes and invitation links.

Only a hash of such a token is kept, so a copy of the database is not a copy of the tokens. A
bare SHA-256 would still let whoever holds the database test guesses offline; an HMAC-SHA256
keyed by a server secret does not. The first key hashes new tokens; every key verifies, so a key
can be rotated by putting the new one first and keeping the old one until the tokens it hashed
have expired (`auth.token_hash_keys`). Hashes written before keyed hashing existed (bare
SHA-256) are accepted while `auth.accept_legacy_token_hashes` is on, so tokens issued before an
upgrade keep working until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_hash_key(master_key: str) -> bytes:
    """The default hashing key, derived from the key-encryption key for this purpose only."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"garment:token-hash").derive(
        master_key.encode()
    )


class TokenHasher:
    def __init__(self, keys: Sequence[bytes], *, accept_legacy: bool = True) -> None:
        if not keys:
            raise ValueError("TokenHasher needs at least one key")
        self._keys = tuple(keys)
        self._accept_legacy = accept_legacy

    def hash(self, token: str) -> str:
        """The hash to store for a new token (64 hex characters)."""
        return self._hmac(self._keys[0], token)

    def candidates(self, token: str) -> tuple[str, ...]:
        """Every stored hash that may belong to `token`: one per key, plus the legacy hash.
        Look rows up with `token_hash IN candidates`."""
        keyed = tuple(self._hmac(key, token) for key in self._keys)
        if self._accept_legacy:
            return (*keyed, hashlib.sha256(token.encode()).hexdigest())
        return keyed

    def matches(self, token: str, stored: str) -> bool:
        """Constant-time comparison of `token` against one stored hash."""
        return any(hmac.compare_digest(candidate, stored) for candidate in self.candidates(token))

    @staticmethod
    def _hmac(key: bytes, token: str) -> str:
        return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()
