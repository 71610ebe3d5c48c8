"""Crash-recovery test: SIGKILL a worker mid-job, start a new one, watch what happens.

Run from /work/main:

    .venv/bin/python bench/queue/kill_test.py [--scenario NAME ...] [--observe SECONDS]

Per scenario (fresh database ``bench_q_<random>`` each time, dropped afterwards):

1. enqueue 4 jobs; each job records a 'start' row, sleeps 2 s, records an 'end'
   row (rows go to our own table ``kt_events`` through a separate asyncpg pool,
   autocommit, so a 'start' survives the kill),
2. start worker #1 as a subprocess (concurrency 2),
3. as soon as 2 jobs have started, wait 0.7 s and SIGKILL worker #1 (both jobs are
   in flight),
4. immediately start worker #2 (same code/config),
5. observe until every job has an 'end' row or --observe seconds have passed,
6. report: time from kill to re-start of each killed job, lost jobs (never
   finished), jobs finished more than once, and the library's view of leftovers.

Scenarios
  procrastinate-default  worker defaults, no stalled-job handling at all
  procrastinate-retry    + the documented `retry_stalled_jobs` periodic task
                         (JobManager.get_stalled_jobs + retry_job), tuned:
                         cron every 2 s, update_heartbeat_interval=1 s,
                         seconds_since_heartbeat=5 s
  pgqueuer-default       PgQueuer.run() defaults: heartbeat_timeout=30 s,
                         dequeue_timeout=30 s
  pgqueuer-tuned         PgQueuer.run(heartbeat_timeout=5 s, dequeue_timeout=2 s)

Internal: ``kill_test.py --worker SCENARIO --db DBNAME`` runs one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta

import asyncpg

HOST = os.environ.get("BENCH_PGHOST", "127.0.0.1")
PORT = int(os.environ.get("BENCH_PGPORT", "5432"))
USER = os.environ.get("BENCH_PGUSER", "postgres")
N_JOBS = 4
CONCURRENCY = 2
JOB_SECONDS = 2.0
KILL_AFTER = 0.7  # seconds after the 2nd job started

SCENARIOS = {
    "procrastinate-default": {"lib": "procrastinate", "retry_stalled": False},
    "procrastinate-retry": {
        "lib": "procrastinate",
        "retry_stalled": True,
        "cron": "* * * * * */2",  # 6th field = seconds -> every 2 s
        "update_heartbeat_interval": 1.0,
        "stalled_worker_timeout": 5.0,
        "seconds_since_heartbeat": 5.0,
    },
    "pgqueuer-default": {"lib": "pgqueuer", "heartbeat_timeout": 30.0, "dequeue_timeout": 30.0},
    "pgqueuer-tuned": {"lib": "pgqueuer", "heartbeat_timeout": 5.0, "dequeue_timeout": 2.0},
}


def dsn(db: str) -> str:
    return f"postgresql://{USER}@{HOST}:{PORT}/{db}"


# =========================================================================== worker side
async def record(pool: asyncpg.Pool, key: str, event: str) -> None:
    await pool.execute(
        "INSERT INTO kt_events (job_key, pid, event, ts) VALUES ($1, $2, $3, $4)",
        key,
        os.getpid(),
        event,
        time.time(),
    )


async def run_procrastinate_worker(db: str, cfg: dict) -> None:
    import procrastinate

    events = await asyncpg.create_pool(dsn(db), min_size=1, max_size=4)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=f"host={HOST} port={PORT} user={USER} dbname={db}"
        )
    )

    @app.task(name="sleepy")
    async def sleepy(key: str) -> None:
        await record(events, key, "start")
        await asyncio.sleep(JOB_SECONDS)
        await record(events, key, "end")

    if cfg.get("retry_stalled"):
        seconds = cfg["seconds_since_heartbeat"]

        # Documented recipe (docs/howto/production/retry_stalled_jobs.md), faster cron.
        @app.periodic(cron=cfg["cron"])
        @app.task(queueing_lock="retry_stalled_jobs", pass_context=True)
        async def retry_stalled_jobs(context, timestamp):
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds)
            for job in stalled:
                await app.job_manager.retry_job(job)

    worker_kwargs = {"concurrency": CONCURRENCY, "install_signal_handlers": True}
    for k in ("update_heartbeat_interval", "stalled_worker_timeout"):
        if k in cfg:
            worker_kwargs[k] = cfg[k]
    async with app.open_async():
        await app.run_worker_async(**worker_kwargs)
    await events.close()


async def run_pgqueuer_worker(db: str, cfg: dict) -> None:
    from pgqueuer import PgQueuer
    from pgqueuer.models import Job

    events = await asyncpg.create_pool(dsn(db), min_size=1, max_size=4)
    pool = await asyncpg.create_pool(dsn(db), min_size=2, max_size=4)
    pgq = PgQueuer.from_asyncpg_pool(pool)

    @pgq.entrypoint("sleepy")
    async def sleepy(job: Job) -> None:
        key = (job.payload or b"").decode()
        await record(events, key, "start")
        await asyncio.sleep(JOB_SECONDS)
        await record(events, key, "end")

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, pgq.shutdown.set)
    await pgq.run(
        batch_size=1,
        max_concurrent_tasks=CONCURRENCY,  # must be >= 2 * batch_size
        heartbeat_timeout=timedelta(seconds=cfg["heartbeat_timeout"]),
        dequeue_timeout=timedelta(seconds=cfg["dequeue_timeout"]),
    )
    await pool.close()
    await events.close()


def worker_main(scenario: str, db: str) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    cfg = SCENARIOS[scenario]
    runner = run_procrastinate_worker if cfg["lib"] == "procrastinate" else run_pgqueuer_worker
    asyncio.run(runner(db, cfg))


# =========================================================================== orchestrator
async def setup_db(lib: str) -> str:
    db = f"bench_q_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(dsn("postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn(db))
    try:
        await conn.execute(
            "CREATE TABLE kt_events (id bigserial PRIMARY KEY, job_key text, pid int,"
            " event text, ts double precision)"
        )
    finally:
        await conn.close()
    if lib == "procrastinate":
        import procrastinate

        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=f"host={HOST} port={PORT} user={USER} dbname={db}"
            )
        )
        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            for i in range(N_JOBS):
                await app.configure_task("sleepy").defer_async(key=f"job{i}")
    else:
        from pgqueuer import Queries

        conn = await asyncpg.connect(dsn(db))
        try:
            q = Queries.from_asyncpg_connection(conn)
            await q.install()
            for i in range(N_JOBS):
                await q.enqueue("sleepy", f"job{i}".encode())
        finally:
            await conn.close()
    return db


async def drop_db(db: str) -> None:
    admin = await asyncpg.connect(dsn("postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await admin.close()


def spawn(scenario: str, db: str, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker", scenario, "--db", db],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def leftovers(conn: asyncpg.Connection, lib: str) -> str:
    if lib == "procrastinate":
        rows = await conn.fetch(
            "SELECT args->>'key' AS key, status, attempts, worker_id FROM procrastinate_jobs"
            " WHERE task_name = 'sleepy' AND status <> 'succeeded' ORDER BY id"
        )
        return (
            ", ".join(
                f"{r['key']}:status={r['status']},attempts={r['attempts']},worker_id={r['worker_id']}"
                for r in rows
            )
            or "none"
        )
    rows = await conn.fetch(
        "SELECT convert_from(payload, 'UTF8') AS key, status, attempts FROM pgqueuer ORDER BY id"
    )
    return (
        ", ".join(f"{r['key']}:status={r['status']},attempts={r['attempts']}" for r in rows)
        or "none"
    )


async def run_scenario(scenario: str, observe: float) -> dict:
    cfg = SCENARIOS[scenario]
    lib = cfg["lib"]
    db = await setup_db(lib)
    log = tempfile.TemporaryFile(mode="w+")
    conn = await asyncpg.connect(dsn(db))
    w1 = w2 = None
    try:
        w1 = spawn(scenario, db, log)
        deadline = time.time() + 30
        while (
            await conn.fetchval("SELECT count(*) FROM kt_events WHERE event='start'") < CONCURRENCY
        ):
            if time.time() > deadline or w1.poll() is not None:
                raise RuntimeError("worker #1 did not start two jobs")
            await asyncio.sleep(0.02)
        await asyncio.sleep(KILL_AFTER)
        in_flight = [
            r["job_key"]
            for r in await conn.fetch(
                "SELECT job_key FROM kt_events WHERE pid=$1 GROUP BY job_key"
                " HAVING bool_or(event='start') AND NOT bool_or(event='end') ORDER BY 1",
                w1.pid,
            )
        ]
        os.kill(w1.pid, signal.SIGKILL)
        t_kill = time.time()
        w1.wait()
        w2 = spawn(scenario, db, log)
        t_end = t_kill + observe
        while time.time() < t_end:
            finished = await conn.fetchval(
                "SELECT count(DISTINCT job_key) FROM kt_events WHERE event='end'"
            )
            if finished >= N_JOBS:
                break
            await asyncio.sleep(0.1)
        t_observed = time.time() - t_kill
        await asyncio.sleep(0.5)  # let a possible duplicate show up
        events = await conn.fetch("SELECT job_key, pid, event, ts FROM kt_events ORDER BY ts")
        left = await leftovers(conn, lib)
    finally:
        for p in (w2, w1):
            if p is not None:
                stop(p)
        await conn.close()
        await drop_db(db)

    per_job: dict[str, list] = {}
    for e in events:
        per_job.setdefault(e["job_key"], []).append(e)
    recovery = {}
    for key in in_flight:
        restarts = [
            e["ts"] - t_kill
            for e in per_job.get(key, [])
            if e["event"] == "start" and e["pid"] != w1.pid
        ]
        recovery[key] = min(restarts) if restarts else None
    lost = sorted(
        k
        for k in (f"job{i}" for i in range(N_JOBS))
        if not any(e["event"] == "end" for e in per_job.get(k, []))
    )
    twice = sorted(k for k, evs in per_job.items() if sum(e["event"] == "end" for e in evs) > 1)
    starts = {k: sum(e["event"] == "start" for e in evs) for k, evs in sorted(per_job.items())}
    log.seek(0)
    worker_log = log.read()
    return {
        "scenario": scenario,
        "in_flight": in_flight,
        "recovery": recovery,
        "lost": lost,
        "finished_twice": twice,
        "starts": starts,
        "observed": t_observed,
        "leftovers": left,
        "worker_errors": [
            ln for ln in worker_log.splitlines() if "Traceback" in ln or "Error" in ln
        ][:5],
    }


def fmt(r: dict) -> str:
    rec = ", ".join(
        f"{k}: {'NOT re-run' if v is None else f're-started {v:.1f}s after kill'}"
        for k, v in r["recovery"].items()
    )
    lines = [
        f"[{r['scenario']}]",
        f"  killed in-flight jobs : {', '.join(r['in_flight'])}",
        f"  recovery              : {rec}",
        f"  executions (starts)   : {r['starts']}",
        f"  lost (never finished) : {r['lost'] or 'none'}",
        f"  finished twice        : {r['finished_twice'] or 'none'}",
        f"  library leftovers     : {r['leftovers']}",
        f"  observed for          : {r['observed']:.1f}s after kill",
    ]
    if r["worker_errors"]:
        lines.append(f"  worker log errors     : {r['worker_errors']}")
    return "\n".join(lines)


async def orchestrate(scenarios: list[str], observe: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    print(
        f"{N_JOBS} jobs x {JOB_SECONDS:.0f}s sleep, worker concurrency {CONCURRENCY}, "
        f"SIGKILL {KILL_AFTER}s after the 2nd job started, worker #2 started right after the kill, "
        f"observe window {observe:.0f}s"
    )
    for s in scenarios:
        t0 = time.time()
        r = await run_scenario(s, observe)
        print(fmt(r))
        print(f"  (scenario wall time {time.time() - t0:.1f}s)")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    p.add_argument(
        "--observe",
        type=float,
        default=75.0,
        help="seconds to wait after the kill for all jobs to finish",
    )
    p.add_argument("--worker", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        worker_main(a.worker, a.db)
        return
    asyncio.run(orchestrate(a.scenario or list(SCENARIOS), a.observe))


if __name__ == "__main__":
    main()
