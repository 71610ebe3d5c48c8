"""Minimal, runnable pgqueuer 1.6.0 integration example (the snippets in RESULTS.md).

Run from /work/main:  .venv/bin/python bench/queue/pgqueuer_example.py
Uses a throw-away bench_q_<random> database and drops it at the end.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import asyncpg
from pgqueuer import PgQueuer, Queries
from pgqueuer.db import AsyncpgDriver
from pgqueuer.errors import RetryRequested
from pgqueuer.executors import DatabaseRetryEntrypointExecutor
from pgqueuer.models import Context, Job, Schedule
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

BASE = "postgresql://postgres@127.0.0.1:5432"


def build_pgq(pool: asyncpg.Pool, resources: dict) -> PgQueuer:
    """Build a fresh PgQueuer (an instance is single-use: its shutdown event latches)."""
    pgq = PgQueuer.from_asyncpg_pool(pool, resources=resources)

    # Any exception -> re-queued in the DB with exponential backoff (1s, 2s, 4s, ... cap 5 min);
    # after max_attempts retries the job is terminal ('exception' in pgqueuer_log,
    # or kept with status 'failed' if on_failure="hold").
    @pgq.entrypoint(
        "send_email",
        on_failure="hold",
        executor_factory=lambda p: DatabaseRetryEntrypointExecutor(
            parameters=p,
            max_attempts=5,
            initial_delay=timedelta(seconds=1),
            max_delay=timedelta(minutes=5),
            backoff_multiplier=2.0,
        ),
    )
    async def send_email(job: Job, ctx: Context) -> None:  # ctx is optional
        data = json.loads(job.payload or b"{}")
        db: asyncpg.Pool = ctx.resources["db"]
        await db.execute("INSERT INTO sent (addr) VALUES ($1)", data["to"])
        print(f"send_email job={job.id} attempt={job.attempts} to={data['to']}")

    @pgq.entrypoint("call_api", concurrency_limit=4)  # limit enforced across all workers
    async def call_api(job: Job) -> None:
        if job.attempts < 1:
            raise RetryRequested(delay=timedelta(seconds=1), reason="429 from upstream")
        print(f"call_api job={job.id} succeeded on attempt {job.attempts}")

    @pgq.schedule("heartbeat_report", "* * * * * */2")  # 5 fields = minutes; 6th = seconds
    async def heartbeat_report(schedule: Schedule) -> None:
        print(f"cron tick {schedule.entrypoint} {schedule.expression}")

    return pgq


async def main() -> None:
    db = f"bench_q_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{BASE}/postgres")
    await admin.execute(f'CREATE DATABASE "{db}"')
    await admin.close()
    try:
        app_pool = await asyncpg.create_pool(f"{BASE}/{db}", min_size=1, max_size=10)
        await app_pool.execute("CREATE TABLE sent (addr text); CREATE TABLE orders (id int)")
        queue_pool = await asyncpg.create_pool(f"{BASE}/{db}", min_size=2, max_size=11)

        # 1. schema (normally a migration step or `pgq install` / `pgq upgrade`)
        queries = Queries.from_asyncpg_pool(queue_pool)
        if not await queries.schema_is_installed():
            await queries.install()

        # 2. enqueue: single, batch, delayed, deduplicated
        await queries.enqueue("send_email", json.dumps({"to": "a@x"}).encode())
        await queries.enqueue(
            ["send_email"] * 2,
            [json.dumps({"to": t}).encode() for t in ("b@x", "c@x")],
            [0, 0],
        )
        await queries.enqueue(
            "call_api", b"", execute_after=timedelta(seconds=1), dedupe_key="call_api:42"
        )

        # 3. enqueue inside a SQLAlchemy 2 async transaction (postgresql+asyncpg dialect)
        engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}")
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(text("INSERT INTO orders VALUES (1)"))
            sa_conn = await session.connection()
            raw = (await sa_conn.get_raw_connection()).driver_connection  # asyncpg.Connection
            await Queries(AsyncpgDriver(raw)).enqueue(
                "send_email", json.dumps({"to": "order-1@x"}).encode()
            )
        # commit happened at the end of session.begin(): order row + job are atomic
        await engine.dispose()

        # 4. run the worker in-process and stop it cleanly
        pgq = build_pgq(queue_pool, resources={"db": app_pool})
        worker = asyncio.create_task(
            pgq.run(
                batch_size=5,
                max_concurrent_tasks=10,  # must be >= 2 * batch_size
                heartbeat_timeout=timedelta(seconds=30),  # crash recovery threshold
                dequeue_timeout=timedelta(seconds=30),  # idle poll fallback
            )
        )
        await asyncio.sleep(5)
        pgq.shutdown.set()  # stop fetching; in-flight jobs are awaited
        await worker

        print("sent:", [r[0] for r in await app_pool.fetch("SELECT addr FROM sent ORDER BY 1")])
        print("stale picked jobs:", await queries.stale_jobs(threshold=timedelta(seconds=30)))
        await queue_pool.close()
        await app_pool.close()
    finally:
        admin = await asyncpg.connect(f"{BASE}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
