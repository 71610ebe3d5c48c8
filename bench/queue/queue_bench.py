"""Throughput benchmark: procrastinate vs pgqueuer on the local PostgreSQL.

Run from /work/main:

    .venv/bin/python bench/queue/queue_bench.py [--jobs N] [--rounds R]

For each library and each round this script

1. creates a fresh database ``bench_q_<random>``, installs the library schema and
   a sink table of ours (``bench_sink``),
2. enqueues N no-op jobs one call at a time            -> (a) enqueue rate, single
3. runs one in-process async worker (concurrency 10)   -> (b) no-op throughput
4. enqueues N "insert" jobs with one batch call        -> (a') enqueue rate, batch
5. runs the worker again; every job does one INSERT into ``bench_sink`` through a
   separate asyncpg pool                               -> (c) INSERT-job throughput
6. drops the database.

Processing throughput = N / (t_all_jobs_finished_in_db - t_first_job_started), i.e.
the clock stops only when the library itself has recorded every job as finished
(procrastinate: no row left in todo/doing; pgqueuer: queue table empty), so
buffered acknowledgements are included. Handler-level throughput (first handler
start -> last handler return) is printed as well.

Worker settings (same concurrency for both):
  procrastinate: PsycopgConnector pool min=max=10, run_worker_async(concurrency=10)
  pgqueuer:      asyncpg pool min=max=11 (1 conn is held for LISTEN),
                 run(batch_size=5, max_concurrent_tasks=10)  (max_concurrent_tasks
                 must be >= 2*batch_size)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import platform
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import version

import asyncpg

HOST = os.environ.get("BENCH_PGHOST", "127.0.0.1")
PORT = int(os.environ.get("BENCH_PGPORT", "5432"))
USER = os.environ.get("BENCH_PGUSER", "postgres")
CONCURRENCY = 10
JOB_TIMEOUT = 90.0  # seconds; safety net so a broken run cannot hang forever


def dsn(db: str) -> str:
    return f"postgresql://{USER}@{HOST}:{PORT}/{db}"


# --------------------------------------------------------------------------- DB admin
async def create_db() -> str:
    name = f"bench_q_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(dsn("postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(dsn(name))
    try:
        await conn.execute(
            "CREATE TABLE bench_sink (id bigserial PRIMARY KEY, job_no int NOT NULL,"
            " created timestamptz NOT NULL DEFAULT now())"
        )
    finally:
        await conn.close()
    return name


async def drop_db(name: str) -> None:
    conn = await asyncpg.connect(dsn("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --------------------------------------------------------------------------- helpers
@dataclass
class Progress:
    target: int
    count: int = 0
    first: float | None = None
    last: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def started(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def finished(self) -> None:
        self.count += 1
        if self.count >= self.target and not self.done.is_set():
            self.last = time.perf_counter()
            self.done.set()


async def wait_db_drained(conn: asyncpg.Connection, sql: str) -> float:
    """Poll until the library reports no unfinished job; return perf_counter time."""
    deadline = time.perf_counter() + JOB_TIMEOUT
    while True:
        if await conn.fetchval(sql) == 0:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError("queue did not drain")
        await asyncio.sleep(0.002)


@dataclass
class PhaseResult:
    jobs_per_s_db: float
    jobs_per_s_handler: float
    startup_latency_s: float


async def measure_processing(
    progress: Progress,
    start_worker,  # () -> asyncio.Task
    stop_worker,  # (task) -> awaitable
    monitor: asyncpg.Connection,
    drained_sql: str,
) -> PhaseResult:
    t_start = time.perf_counter()
    task = start_worker()
    try:
        await asyncio.wait_for(progress.done.wait(), JOB_TIMEOUT)
        t_db = await wait_db_drained(monitor, drained_sql)
    finally:
        await stop_worker(task)
    assert progress.first is not None and progress.last is not None
    n = progress.target
    return PhaseResult(
        jobs_per_s_db=n / (t_db - progress.first),
        jobs_per_s_handler=n / (progress.last - progress.first),
        startup_latency_s=progress.first - t_start,
    )


async def check_sink(monitor: asyncpg.Connection, n: int) -> str:
    total, distinct = await monitor.fetchrow(
        "SELECT count(*), count(DISTINCT job_no) FROM bench_sink"
    )
    status = "ok" if total == distinct == n else "MISMATCH"
    return f"sink rows={total} distinct={distinct} expected={n} -> {status}"


# --------------------------------------------------------------------------- procrastinate
async def bench_procrastinate(n: int) -> dict[str, float]:
    import procrastinate

    db = await create_db()
    res: dict[str, float] = {}
    sink_pool = await asyncpg.create_pool(dsn(db), min_size=CONCURRENCY, max_size=CONCURRENCY)
    monitor = await asyncpg.connect(dsn(db))
    try:
        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=f"host={HOST} port={PORT} user={USER} dbname={db}",
                min_size=CONCURRENCY,
                max_size=CONCURRENCY,
            )
        )
        noop_progress = Progress(n)
        insert_progress = Progress(n)

        @app.task(name="noop")
        async def noop(i: int) -> None:
            noop_progress.started()
            noop_progress.finished()

        @app.task(name="insert_one")
        async def insert_one(i: int) -> None:
            insert_progress.started()
            await sink_pool.execute("INSERT INTO bench_sink (job_no) VALUES ($1)", i)
            insert_progress.finished()

        async with app.open_async():
            await app.schema_manager.apply_schema_async()

            # (a) enqueue, one call per job
            t0 = time.perf_counter()
            for i in range(n):
                await noop.defer_async(i=i)
            res["enqueue_single"] = n / (time.perf_counter() - t0)

            def start_worker() -> asyncio.Task:
                return asyncio.create_task(
                    app.run_worker_async(
                        concurrency=CONCURRENCY,
                        install_signal_handlers=False,
                        wait=True,
                    )
                )

            async def stop_worker(task: asyncio.Task) -> None:
                # Documented clean stop: cancel the task -> graceful shutdown.
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            drained = "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo','doing')"
            # (b) no-op processing
            r = await measure_processing(noop_progress, start_worker, stop_worker, monitor, drained)
            res["noop_db"], res["noop_handler"], res["noop_startup"] = (
                r.jobs_per_s_db,
                r.jobs_per_s_handler,
                r.startup_latency_s,
            )

            # (a') enqueue, one batch call
            t0 = time.perf_counter()
            await insert_one.batch_defer_async(*({"i": i} for i in range(n)))
            res["enqueue_batch"] = n / (time.perf_counter() - t0)

            # (c) INSERT-job processing
            r = await measure_processing(
                insert_progress, start_worker, stop_worker, monitor, drained
            )
            res["insert_db"], res["insert_handler"], res["insert_startup"] = (
                r.jobs_per_s_db,
                r.jobs_per_s_handler,
                r.startup_latency_s,
            )
            res["_sink"] = await check_sink(monitor, n)  # type: ignore[assignment]
            succeeded = await monitor.fetchval(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
            )
            res["_jobs"] = f"procrastinate_jobs succeeded={succeeded} expected={2 * n}"  # type: ignore[assignment]
    finally:
        await monitor.close()
        await sink_pool.close()
        await drop_db(db)
    return res


# --------------------------------------------------------------------------- pgqueuer
async def bench_pgqueuer(n: int) -> dict[str, float]:
    from pgqueuer import PgQueuer, Queries
    from pgqueuer.models import Job

    db = await create_db()
    res: dict[str, float] = {}
    sink_pool = await asyncpg.create_pool(dsn(db), min_size=CONCURRENCY, max_size=CONCURRENCY)
    monitor = await asyncpg.connect(dsn(db))
    # +1 because AsyncpgPoolDriver pins one pool connection for LISTEN.
    pool = await asyncpg.create_pool(dsn(db), min_size=CONCURRENCY + 1, max_size=CONCURRENCY + 1)
    try:
        queries = Queries.from_asyncpg_pool(pool)
        await queries.install()

        noop_progress = Progress(n)
        insert_progress = Progress(n)

        def make_pgq() -> PgQueuer:
            pgq = PgQueuer.from_asyncpg_pool(pool)

            @pgq.entrypoint("noop")
            async def noop(job: Job) -> None:
                noop_progress.started()
                noop_progress.finished()

            @pgq.entrypoint("insert_one")
            async def insert_one(job: Job) -> None:
                insert_progress.started()
                i = int(job.payload or b"0")
                await sink_pool.execute("INSERT INTO bench_sink (job_no) VALUES ($1)", i)
                insert_progress.finished()

            return pgq

        # (a) enqueue, one call per job
        t0 = time.perf_counter()
        for i in range(n):
            await queries.enqueue("noop", str(i).encode())
        res["enqueue_single"] = n / (time.perf_counter() - t0)

        current: dict[str, PgQueuer] = {}

        def start_worker() -> asyncio.Task:
            pgq = make_pgq()  # a PgQueuer instance is single-use (shutdown event latches)
            current["pgq"] = pgq
            return asyncio.create_task(
                pgq.run(
                    batch_size=CONCURRENCY // 2,
                    max_concurrent_tasks=CONCURRENCY,
                    dequeue_timeout=timedelta(seconds=30),
                )
            )

        async def stop_worker(task: asyncio.Task) -> None:
            current["pgq"].shutdown.set()  # documented clean stop
            await task

        drained = "SELECT count(*) FROM pgqueuer"
        r = await measure_processing(noop_progress, start_worker, stop_worker, monitor, drained)
        res["noop_db"], res["noop_handler"], res["noop_startup"] = (
            r.jobs_per_s_db,
            r.jobs_per_s_handler,
            r.startup_latency_s,
        )

        # (a') enqueue, one batch call
        t0 = time.perf_counter()
        await queries.enqueue(["insert_one"] * n, [str(i).encode() for i in range(n)], [0] * n)
        res["enqueue_batch"] = n / (time.perf_counter() - t0)

        r = await measure_processing(insert_progress, start_worker, stop_worker, monitor, drained)
        res["insert_db"], res["insert_handler"], res["insert_startup"] = (
            r.jobs_per_s_db,
            r.jobs_per_s_handler,
            r.startup_latency_s,
        )
        res["_sink"] = await check_sink(monitor, n)  # type: ignore[assignment]
        ok = await monitor.fetchval("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")
        res["_jobs"] = f"pgqueuer_log successful={ok} expected={2 * n}"  # type: ignore[assignment]
    finally:
        await monitor.close()
        await pool.close()
        await sink_pool.close()
        await drop_db(db)
    return res


# --------------------------------------------------------------------------- main
METRICS = [
    ("enqueue_single", "(a) enqueue, 1 call/job      [jobs/s]"),
    ("enqueue_batch", "(a') enqueue, 1 batch call   [jobs/s]"),
    ("noop_db", "(b) no-op job processing    [jobs/s]"),
    ("insert_db", "(c) INSERT job processing   [jobs/s]"),
    ("noop_handler", "    (b) handler-level only   [jobs/s]"),
    ("insert_handler", "    (c) handler-level only   [jobs/s]"),
]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds per library (order alternates); median reported",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("procrastinate", "pgqueuer", "PgQueuer"):
        logging.getLogger(name).setLevel(logging.ERROR)

    conn = await asyncpg.connect(dsn("postgres"))
    pg_version = await conn.fetchval("SHOW server_version")
    await conn.close()
    print(
        f"python {platform.python_version()} | cpus={os.cpu_count()} | PostgreSQL {pg_version} | "
        f"procrastinate {version('procrastinate')} | pgqueuer {version('pgqueuer')} | "
        f"asyncpg {version('asyncpg')} | psycopg {version('psycopg')}"
    )
    print(f"jobs per phase N={args.jobs}, worker concurrency={CONCURRENCY}, rounds={args.rounds}")

    benches = {"procrastinate": bench_procrastinate, "pgqueuer": bench_pgqueuer}
    results: dict[str, list[dict[str, float]]] = {k: [] for k in benches}
    t_all = time.perf_counter()
    for rnd in range(args.rounds):
        order = list(benches) if rnd % 2 == 0 else list(reversed(benches))
        for lib in order:
            t0 = time.perf_counter()
            r = await benches[lib](args.jobs)
            results[lib].append(r)
            print(
                f"  round {rnd + 1} {lib:<13} {time.perf_counter() - t0:5.1f}s  "
                + "  ".join(f"{k}={r[k]:.0f}" for k, _ in METRICS)
                + f"  | {r['_sink']} | {r['_jobs']}"
            )

    def med(lib: str, key: str) -> float:
        return statistics.median(r[key] for r in results[lib])

    print()
    print(f"Median over {args.rounds} round(s), N={args.jobs}:")
    header = f"{'metric':<40}{'procrastinate':>15}{'pgqueuer':>12}{'pgq/proc':>10}"
    print(header)
    print("-" * len(header))
    for key, label in METRICS:
        p, q = med("procrastinate", key), med("pgqueuer", key)
        print(f"{label:<40}{p:>15.0f}{q:>12.0f}{q / p:>9.2f}x")
    print(
        f"{'worker start -> first job (b) [ms]':<40}"
        f"{med('procrastinate', 'noop_startup') * 1000:>15.1f}"
        f"{med('pgqueuer', 'noop_startup') * 1000:>12.1f}"
    )
    print(f"total wall time {time.perf_counter() - t_all:.1f}s")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
