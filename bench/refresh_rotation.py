"""Refresh-token rotation: our endpoint and service versus the bare SQL they wrap.

Bare baseline: the very statements `SessionService.refresh` runs, alone on one asyncpg
connection of the same server (no transaction block): `PEEK` (the presented token and its
session, matched by `token_hash = any(candidates)`) then `ROTATE` (one CTE statement: lock both
rows while the token is unused and the session live, insert the successor, mark the presented
token used with its grace copy, drop the grandparent's copy, touch the session, insert the
activity row). Both are imported from `garment.central.auth.repository` and compiled for
asyncpg, so they cannot drift from what the service sends; the token hashes come from the
runtime's own `TokenHasher` (HMAC-SHA256, same key, same candidates). The bare side does no
checks beyond "found and unused", signs no access token and encrypts nothing: it stores a
random blob of the size of our grace copy, so PostgreSQL writes the same bytes.

Ours: the service (`SessionService.refresh`: claim, checks, access token (EdDSA), grace-copy
encryption, rotation) and the whole HTTP endpoint through the ASGI app (in-process;
`bench/http/` measures it over real sockets).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench.common import embedded_runtime, print_table, rate
from bench.sql import driver_query, no_reset
from garment.app import create_app
from garment.central.auth.ports import ActivityType, AuthenticatedUser
from garment.central.auth.repository import PEEK, ROTATE
from garment.central.auth.sessions import TokenPair, fingerprint_hash, new_refresh_token
from garment.platform.db import plain_url
from garment.platform.token_hashing import TokenHasher
from garment.runtime import Runtime

ROTATIONS = 400
ROUNDS = 2  # bare, service, endpoint, bare, service, endpoint
PASSWORD = "bench-password-kain-2026"
FINGERPRINT = "bench"
# Compiled exactly as SQLAlchemy's asyncpg dialect sends them (`$n` parameters, bind casts).
BARE_PEEK = driver_query(PEEK)
BARE_ROTATE = driver_query(ROTATE)


class Chains:
    """One refresh-token chain per concurrent caller: a caller takes a free chain and gives it
    back when its rotation is done, so no head is ever presented twice at once. (Picking the
    chain by `index % concurrency` did: a fast caller could take a chain whose rotation was still
    in flight, which sent ours down the grace path and forked the old bare chain.)"""

    def __init__(self, chains: list[list[str]]) -> None:
        self.free = chains

    @contextmanager
    def take(self) -> Iterator[list[str]]:
        chain = self.free.pop()
        try:
            yield chain
        finally:
            self.free.append(chain)


async def make_user(runtime: Runtime) -> AuthenticatedUser:
    async with runtime.central.transaction() as session:
        return await runtime.auth.accounts.create_verified(
            session,
            email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
            name="Bench",
            password=PASSWORD,
            verified_at=datetime.now(UTC),
        )


async def start_session(runtime: Runtime, user: AuthenticatedUser) -> TokenPair:
    """A session as a login opens it."""
    async with runtime.central.transaction() as session:
        return await runtime.auth.sessions.start(
            session, user.id, fingerprint=FINGERPRINT, amr=["pwd"]
        )


async def grace_copy_size(runtime: Runtime, user: AuthenticatedUser) -> int:
    """Bytes of the encrypted successor pair one rotation of ours stores."""
    pair = await start_session(runtime, user)
    rotated = await runtime.auth.sessions.refresh(pair.refresh_token, FINGERPRINT)
    return len(runtime.auth.components.grace_box.encrypt(rotated.to_bytes()))


async def bare_chain(pool: asyncpg.Pool, hasher: TokenHasher, session_id: uuid.UUID) -> list[str]:
    token = new_refresh_token()
    await pool.execute(
        "INSERT INTO auth_refresh_tokens (id, session_id, token_hash, generation, issued_at, "
        "expires_at) VALUES ($1, $2, $3, 0, now(), now() + interval '30 days')",
        uuid.uuid4(),
        session_id,
        hasher.hash(token),
    )
    return [token]


async def bare_rotate(
    pool: asyncpg.Pool, hasher: TokenHasher, blob_size: int, chain: list[str]
) -> None:
    successor = new_refresh_token()
    now = datetime.now(UTC)
    async with pool.acquire() as connection:
        row = await connection.fetchrow(BARE_PEEK.sql, list(hasher.candidates(chain[-1])))
        assert row is not None and row["used_at"] is None and row["revoked_at"] is None
        assert fingerprint_hash(FINGERPRINT) == row["fingerprint_hash"]
        values: dict[str, Any] = {
            "successor_id": uuid.uuid4(),
            "session_id": row["session_id"],
            "token_hash": hasher.hash(successor),
            "generation": row["generation"] + 1,
            "now": now,
            "expires_at": min(now + timedelta(days=30), row["absolute_expires_at"]),
            "token_id": row["token_id"],
            "grace_until": now + timedelta(seconds=10),
            "ciphertext": os.urandom(blob_size),
            "activity_type": ActivityType.REFRESH.value,
            "user_id": row["user_id"],
            "request_id": secrets.token_hex(8),
            "ip": "127.0.0.1",
            "user_agent": "bench",
            "details": json.dumps({"generation": row["generation"] + 1}),
        }
        rotated = await connection.fetchval(
            BARE_ROTATE.sql, *(values[name] for name in BARE_ROTATE.names)
        )
        assert rotated, "a chain's head is never presented twice at once"
    chain.append(successor)


async def measure(concurrency: int) -> list[tuple[str, float, float]]:
    async with embedded_runtime() as (runtime, targets, _):
        pool = await asyncpg.create_pool(
            plain_url(targets.central.app_url),
            min_size=concurrency,
            max_size=concurrency,
            reset=no_reset,  # no reset round trip on release: ours' pool sends none either
        )
        hasher = runtime.token_hasher
        app = create_app(runtime=runtime)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as http:
            users = [await make_user(runtime) for _ in range(concurrency)]
            blob_size = await grace_copy_size(runtime, users[0])
            service_chains = Chains(
                [[(await start_session(runtime, user)).refresh_token] for user in users]
            )
            http_chains = Chains(
                [[(await start_session(runtime, user)).refresh_token] for user in users]
            )
            bare_chains = Chains(
                [
                    await bare_chain(pool, hasher, (await start_session(runtime, user)).session_id)
                    for user in users
                ]
            )

            async def via_service(index: int) -> None:
                with service_chains.take() as chain:
                    new = await runtime.auth.sessions.refresh(chain[-1], FINGERPRINT)
                    chain.append(new.refresh_token)

            async def via_http(index: int) -> None:
                with http_chains.take() as chain:
                    response = await http.post(
                        "/api/v1/auth/refresh",
                        json={"refresh_token": chain[-1]},
                        headers={"X-Device-Fingerprint": FINGERPRINT},
                    )
                    assert response.status_code == 200, response.text
                    chain.append(response.json()["refresh_token"])

            async def via_bare(index: int) -> None:
                with bare_chains.take() as chain:
                    await bare_rotate(pool, hasher, blob_size, chain)

            # Warm up every path (connections, key ring, statement caches), then alternate
            # rounds, so no path always runs on the bigger token table or the warmer cache.
            operations = (via_bare, via_service, via_http)
            for operation in operations:
                await rate(operation, 20, concurrency)
            seconds = [0.0, 0.0, 0.0]
            for _ in range(ROUNDS):
                for position, operation in enumerate(operations):
                    per_second = await rate(operation, ROTATIONS // ROUNDS, concurrency)
                    seconds[position] += (ROTATIONS // ROUNDS) / per_second
            bare, service, endpoint = (ROTATIONS // ROUNDS * ROUNDS / s for s in seconds)
        await pool.close()
    return [
        (f"service rotation (concurrency {concurrency})", service, bare),
        (f"POST /auth/refresh (concurrency {concurrency})", endpoint, bare),
    ]


async def main() -> None:
    rows = await measure(1) + await measure(4)
    print_table(
        f"Refresh rotation on the embedded PostgreSQL, {ROTATIONS} rotations per row in "
        f"{ROUNDS} alternating rounds "
        "(bare = the service's PEEK + ROTATE statements, same HMAC token hashes, "
        "alone on one asyncpg connection)",
        rows,
    )


if __name__ == "__main__":
    asyncio.run(main())
