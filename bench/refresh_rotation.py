"""Refresh-token rotation: our endpoint and service versus the bare SQL they wrap.

Bare baseline: one transaction that locks the token row, marks it used and inserts its
successor (the same single-row update and insert), over asyncpg on the same server. Ours: the
service (`SessionService.refresh`: lock, checks, rotation, grace cache encryption, activity row,
EdDSA access token) and the whole HTTP endpoint through the ASGI app.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.common import embedded_runtime, print_table, rate
from garment.app import create_app
from garment.central.auth.models import User
from garment.platform.db import plain_url
from garment.runtime import Runtime

ROTATIONS = 400
PASSWORD = "bench-password-kain-2026"


async def make_user(runtime: Runtime) -> User:
    async with runtime.central.transaction() as session:
        user = User(
            id=uuid.uuid4(),
            email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
            name="Bench",
            password_hash=runtime.auth.components.hashing.hash(PASSWORD),
            email_verified_at=datetime.now(UTC),
        )
        session.add(user)
    return user


async def service_chain(runtime: Runtime, user: User) -> list[str]:
    async with runtime.central.transaction() as session:
        pair = await runtime.auth.sessions.start(session, user, fingerprint="bench", amr=["pwd"])
    return [pair.refresh_token]


async def bare_chain(pool: asyncpg.Pool, session_id: uuid.UUID) -> list[str]:
    token = secrets.token_urlsafe(32)
    await pool.execute(
        "INSERT INTO auth_refresh_tokens (id, session_id, token_hash, generation, expires_at) "
        "VALUES ($1, $2, $3, 0, now() + interval '30 days')",
        uuid.uuid4(),
        session_id,
        hashlib.sha256(token.encode()).hexdigest(),
    )
    return [token]


async def bare_rotate(pool: asyncpg.Pool, chain: list[str]) -> None:
    current = chain[-1]
    successor = secrets.token_urlsafe(32)
    async with pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(
            "SELECT id, session_id, generation FROM auth_refresh_tokens "
            "WHERE token_hash = $1 FOR UPDATE",
            hashlib.sha256(current.encode()).hexdigest(),
        )
        assert row is not None
        new_id = uuid.uuid4()
        await connection.execute(
            "INSERT INTO auth_refresh_tokens (id, session_id, token_hash, generation, expires_at) "
            "VALUES ($1, $2, $3, $4, now() + interval '30 days')",
            new_id,
            row["session_id"],
            hashlib.sha256(successor.encode()).hexdigest(),
            row["generation"] + 1,
        )
        await connection.execute(
            "UPDATE auth_refresh_tokens SET used_at = now(), successor_id = $2 WHERE id = $1",
            row["id"],
            new_id,
        )
    chain.append(successor)


async def measure(concurrency: int) -> list[tuple[str, float, float]]:
    async with embedded_runtime() as (runtime, targets, _):
        pool = await asyncpg.create_pool(
            plain_url(targets.central.app_url), min_size=concurrency, max_size=concurrency
        )
        app = create_app(runtime=runtime)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as http:
            users = [await make_user(runtime) for _ in range(concurrency)]
            service_chains = [await service_chain(runtime, user) for user in users]
            http_chains = [await service_chain(runtime, user) for user in users]
            async with runtime.central.transaction() as session:
                pair = await runtime.auth.sessions.start(
                    session, users[0], fingerprint="b", amr=["pwd"]
                )
            bare_chains = [await bare_chain(pool, pair.session_id) for _ in range(concurrency)]

            async def via_service(index: int) -> None:
                chain = service_chains[index % concurrency]
                async with runtime.central.transaction() as session:
                    new = await runtime.auth.sessions.refresh(session, chain[-1], "bench")
                chain.append(new.refresh_token)

            async def via_http(index: int) -> None:
                chain = http_chains[index % concurrency]
                response = await http.post(
                    "/api/v1/auth/refresh",
                    json={"refresh_token": chain[-1]},
                    headers={"X-Device-Fingerprint": "bench"},
                )
                chain.append(response.json()["refresh_token"])

            async def via_bare(index: int) -> None:
                await bare_rotate(pool, bare_chains[index % concurrency])

            # Warm up every path (connections, key ring, code paths).
            for operation in (via_bare, via_service, via_http):
                await rate(operation, 20, concurrency)
            bare = await rate(via_bare, ROTATIONS, concurrency)
            service = await rate(via_service, ROTATIONS, concurrency)
            endpoint = await rate(via_http, ROTATIONS, concurrency)
        await pool.close()
    return [
        (f"service rotation (concurrency {concurrency})", service, bare),
        (f"POST /auth/refresh (concurrency {concurrency})", endpoint, bare),
    ]


async def main() -> None:
    rows = await measure(1) + await measure(4)
    print_table(
        f"Refresh rotation on the embedded PostgreSQL, {ROTATIONS} rotations per row "
        "(bare = SELECT FOR UPDATE + INSERT successor + UPDATE used_at in one transaction)",
        rows,
    )


if __name__ == "__main__":
    asyncio.run(main())
