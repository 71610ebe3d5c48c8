"""Empirical checks behind the feature matrix in RESULTS.md (~30 s).

Run from /work/main:  .venv/bin/python bench/queue/feature_check.py

Checks, for procrastinate and pgqueuer, each in its own fresh bench_q_<random> DB:
  * enqueue inside a caller-owned transaction: rolled back -> job gone, committed -> job there
    - with a raw driver connection (psycopg3 for procrastinate, asyncpg for pgqueuer)
    - through a SQLAlchemy 2 AsyncSession (postgresql+psycopg / postgresql+asyncpg)
    - pgqueuer through SQLAlchemy postgresql+psycopg (expected: refused, needs autocommit)
  * retries with exponential backoff: observed delays between attempts
  * periodic tasks with a seconds-resolution cron (6th field = seconds)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
import uuid
from datetime import timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

HOST = os.environ.get("BENCH_PGHOST", "127.0.0.1")
PORT = int(os.environ.get("BENCH_PGPORT", "5432"))
USER = os.environ.get("BENCH_PGUSER", "postgres")


def dsn(db: str, scheme: str = "postgresql") -> str:
    return f"{scheme}://{USER}@{HOST}:{PORT}/{db}"


@contextlib.asynccontextmanager
async def fresh_db():
    db = f"bench_q_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(dsn("postgres"))
    await admin.execute(f'CREATE DATABASE "{db}"')
    await admin.close()
    conn = await asyncpg.connect(dsn(db))
    await conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
    await conn.close()
    try:
        yield db
    finally:
        admin = await asyncpg.connect(dsn("postgres"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


class Rollback(Exception):
    pass


def report(name: str, ok: bool, detail: str = "") -> None:
    print(f"  [{'PASS' if ok else 'FAIL'}] {name}{' - ' + detail if detail else ''}")


# --------------------------------------------------------------------------- procrastinate
async def check_procrastinate() -> None:
    import procrastinate
    import psycopg

    print("procrastinate", procrastinate.__version__)
    async with fresh_db() as db:
        conninfo = f"host={HOST} port={PORT} user={USER} dbname={db}"
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
        attempts: list[float] = []
        ticks: list[int] = []

        @app.task(name="process_order")
        async def process_order(order_id: int) -> None: ...

        @app.task(
            name="flaky", retry=procrastinate.RetryStrategy(max_attempts=2, exponential_wait=2)
        )
        async def flaky() -> None:
            attempts.append(time.monotonic())
            raise RuntimeError("boom")

        @app.periodic(cron="* * * * * */2")  # every 2 seconds
        @app.task(name="tick")
        async def tick(timestamp: int) -> None:
            ticks.append(timestamp)

        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            mon = await asyncpg.connect(dsn(db))
            count = "SELECT count(*) FROM procrastinate_jobs WHERE task_name='process_order'"

            # raw psycopg AsyncConnection, caller-owned transaction
            async with await psycopg.AsyncConnection.connect(conninfo) as conn:
                with contextlib.suppress(Rollback):
                    async with conn.transaction():
                        await conn.execute("INSERT INTO orders VALUES (1)")
                        await process_order.configure(connection=conn).defer_async(order_id=1)
                        raise Rollback
                n_rb = await mon.fetchval(count)
                async with conn.transaction():
                    await conn.execute("INSERT INTO orders VALUES (2)")
                    await process_order.configure(connection=conn).defer_async(order_id=2)
                n_c = await mon.fetchval(count)
            report(
                "raw psycopg conn: rollback drops job, commit keeps it",
                (n_rb, n_c) == (0, 1),
                f"after rollback={n_rb}, after commit={n_c}",
            )

            # SQLAlchemy 2 async (psycopg3 dialect): share the session's connection
            engine = create_async_engine(dsn(db, "postgresql+psycopg"))
            for commit in (False, True):
                with contextlib.suppress(Rollback):
                    async with AsyncSession(engine) as session, session.begin():
                        await session.execute(
                            text("INSERT INTO orders VALUES (:i)"), {"i": 10 + commit}
                        )
                        sa_conn = await session.connection()
                        raw = (await sa_conn.get_raw_connection()).driver_connection
                        await process_order.configure(connection=raw).defer_async(
                            order_id=10 + commit
                        )
                        if not commit:
                            raise Rollback
            await engine.dispose()
            n = await mon.fetchval(count)
            n_orders = await mon.fetchval("SELECT count(*) FROM orders WHERE id >= 10")
            report(
                "SQLAlchemy AsyncSession (postgresql+psycopg) shares txn",
                (n, n_orders) == (2, 1),
                f"jobs total={n} (1 from raw test + 1 committed), orders committed={n_orders}",
            )

            # SQLAlchemy asyncpg dialect: driver_connection is asyncpg -> procrastinate cannot use it
            engine = create_async_engine(dsn(db, "postgresql+asyncpg"))
            try:
                async with AsyncSession(engine) as session, session.begin():
                    sa_conn = await session.connection()
                    raw = (await sa_conn.get_raw_connection()).driver_connection
                    await process_order.configure(connection=raw).defer_async(order_id=99)
                report("SQLAlchemy postgresql+asyncpg conn", False, "unexpectedly accepted")
            except Exception as e:
                report(
                    "SQLAlchemy postgresql+asyncpg conn is NOT usable (expected)",
                    True,
                    f"{type(e).__name__}: {str(e)[:80]}",
                )
            await engine.dispose()

            # retries + periodic: run a worker for ~8 s
            await flaky.defer_async()
            # scheduled retries are found by polling (no NOTIFY at retry time) -> poll fast
            w = asyncio.create_task(
                app.run_worker_async(
                    concurrency=2, install_signal_handlers=False, fetch_job_polling_interval=0.2
                )
            )
            await asyncio.sleep(9.0)
            w.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await w
            gaps = [round(b - a, 1) for a, b in itertools.pairwise(attempts)]
            status = await mon.fetchval(
                "SELECT status FROM procrastinate_jobs WHERE task_name='flaky'"
            )
            report(
                "RetryStrategy(max_attempts=2, exponential_wait=2)",
                len(attempts) == 3 and status == "failed",
                f"{len(attempts)} runs, gaps between runs {gaps} s (formula 2**(attempt+1) = 2, 4), final status={status}",
            )
            report(
                "periodic cron '* * * * * */2' (seconds field)",
                len(ticks) >= 3,
                f"{len(ticks)} ticks in 9 s, deltas={[b - a for a, b in itertools.pairwise(ticks)]}",
            )
            await mon.close()


# --------------------------------------------------------------------------- pgqueuer
async def check_pgqueuer() -> None:
    import pgqueuer
    import psycopg
    from pgqueuer import PgQueuer, Queries
    from pgqueuer.db import AsyncpgDriver, PsycopgDriver
    from pgqueuer.executors import DatabaseRetryEntrypointExecutor
    from pgqueuer.models import Job, Schedule

    print("pgqueuer", pgqueuer.__version__)
    async with fresh_db() as db:
        mon = await asyncpg.connect(dsn(db))
        await Queries(AsyncpgDriver(mon)).install()
        count = "SELECT count(*) FROM pgqueuer WHERE entrypoint='process_order'"

        # raw asyncpg connection, caller-owned transaction
        conn = await asyncpg.connect(dsn(db))
        with contextlib.suppress(Rollback):
            async with conn.transaction():
                await conn.execute("INSERT INTO orders VALUES (1)")
                await Queries(AsyncpgDriver(conn)).enqueue("process_order", b"1")
                raise Rollback
        n_rb = await mon.fetchval(count)
        async with conn.transaction():
            await conn.execute("INSERT INTO orders VALUES (2)")
            await Queries(AsyncpgDriver(conn)).enqueue("process_order", b"2")
        n_c = await mon.fetchval(count)
        await conn.close()
        report(
            "raw asyncpg conn: rollback drops job, commit keeps it",
            (n_rb, n_c) == (0, 1),
            f"after rollback={n_rb}, after commit={n_c}",
        )

        # SQLAlchemy 2 async (asyncpg dialect)
        engine = create_async_engine(dsn(db, "postgresql+asyncpg"))
        for commit in (False, True):
            with contextlib.suppress(Rollback):
                async with AsyncSession(engine) as session, session.begin():
                    await session.execute(
                        text("INSERT INTO orders VALUES (:i)"), {"i": 10 + commit}
                    )
                    sa_conn = await session.connection()
                    raw = (await sa_conn.get_raw_connection()).driver_connection
                    await Queries(AsyncpgDriver(raw)).enqueue("process_order", b"x")
                    if not commit:
                        raise Rollback
        await engine.dispose()
        n = await mon.fetchval(count)
        n_orders = await mon.fetchval("SELECT count(*) FROM orders WHERE id >= 10")
        report(
            "SQLAlchemy AsyncSession (postgresql+asyncpg) shares txn",
            (n, n_orders) == (2, 1),
            f"jobs total={n} (1 from raw test + 1 committed), orders committed={n_orders}",
        )

        # SQLAlchemy psycopg dialect: PsycopgDriver insists on autocommit
        engine = create_async_engine(dsn(db, "postgresql+psycopg"))
        try:
            async with AsyncSession(engine) as session, session.begin():
                sa_conn = await session.connection()
                raw = (await sa_conn.get_raw_connection()).driver_connection
                PsycopgDriver(raw)
            report("SQLAlchemy postgresql+psycopg conn", False, "unexpectedly accepted")
        except RuntimeError as e:
            report("SQLAlchemy postgresql+psycopg conn is refused (expected)", True, str(e)[:90])
        await engine.dispose()

        # psycopg autocommit connection + explicit transaction block works
        async with await psycopg.AsyncConnection.connect(
            f"host={HOST} port={PORT} user={USER} dbname={db}", autocommit=True
        ) as pconn:
            with contextlib.suppress(Rollback):
                async with pconn.transaction():
                    await Queries(PsycopgDriver(pconn)).enqueue("process_order", b"p")
                    raise Rollback
        report(
            "psycopg autocommit conn + conn.transaction() rollback drops job",
            await mon.fetchval(count) == 2,
        )

        # retries + cron
        attempts: list[float] = []
        ticks: list[float] = []
        pool = await asyncpg.create_pool(dsn(db), min_size=2, max_size=4)
        pgq = PgQueuer.from_asyncpg_pool(pool)

        @pgq.entrypoint(
            "flaky",
            executor_factory=lambda p: DatabaseRetryEntrypointExecutor(
                parameters=p,
                max_attempts=2,
                initial_delay=timedelta(seconds=1),
                backoff_multiplier=2.0,
                max_delay=timedelta(minutes=5),
            ),
        )
        async def flaky(job: Job) -> None:
            attempts.append(time.monotonic())
            raise RuntimeError("boom")

        @pgq.entrypoint("process_order")
        async def process(job: Job) -> None: ...

        @pgq.schedule("tick", "* * * * * */2")
        async def tick(schedule: Schedule) -> None:
            ticks.append(time.monotonic())

        await Queries.from_asyncpg_pool(pool).enqueue("flaky", None)
        w = asyncio.create_task(pgq.run(dequeue_timeout=timedelta(seconds=1)))
        await asyncio.sleep(8.5)
        pgq.shutdown.set()
        await w
        gaps = [round(b - a, 1) for a, b in itertools.pairwise(attempts)]
        log = await mon.fetch(
            "SELECT status::text FROM pgqueuer_log WHERE entrypoint='flaky' ORDER BY id"
        )
        report(
            "DatabaseRetryEntrypointExecutor(max_attempts=2, initial 1s, x2)",
            len(attempts) == 3,
            f"{len(attempts)} runs, gaps {gaps} s (expected ~1, ~2 + poll slack), "
            f"log statuses={[r[0] for r in log]}",
        )
        report(
            "schedule cron '* * * * * */2' (seconds field)",
            len(ticks) >= 3,
            f"{len(ticks)} ticks in 8.5 s, deltas={[round(b - a, 1) for a, b in itertools.pairwise(ticks)]}",
        )
        await pool.close()
        await mon.close()


async def main() -> None:
    logging.basicConfig(level=logging.CRITICAL)
    await check_procrastinate()
    await check_pgqueuer()


if __name__ == "__main__":
    asyncio.run(main())
