"""Billing webhook ingest over real HTTP: acknowledged deliveries per second and the p50/p99
acknowledgement latency under concurrent delivery, against a bare insert of the same bodies.

```
python -m bench.webhook_ingest [--workers 1] [--connections 8] [--duration 8] [--rounds 3]
                               [--compare SRC] [--load wrk|python] [--with-worker] [--keep]
```

- **ours**: `garment serve [--workers N]` on the embedded default in a fresh data dir, without
  its in-process job worker (receipts wait for `garment worker`, production's shape;
  `--with-worker` processes them in the same process meanwhile). Each delivery is a distinct,
  correctly signed sandbox webhook (its own `webhook-id`), POSTed to
  `/api/v1/billing/webhooks/sandbox`: stored, verified, deduplicated, enqueued, acknowledged.
  The load comes from another process: `wrk` (`webhook_ingest.lua`, deliveries signed just
  before each round and read from a file) when it is installed, else httpx.
- **compare** (`--compare SRC`, optional): the same server run from another source tree (e.g.
  `git archive <commit> src | tar -x -C /tmp/old`), its own data dir, measured in alternation
  with ours: an A/B on a machine shared with other work, where only ratios mean much.
- **bare**: the same bodies inserted one per transaction into a table of the same shape on the
  same PostgreSQL, at the same concurrency, over asyncpg (the floor: one durable write).

Rounds alternate ours / compare / bare so load from elsewhere falls on all of them alike.
Target (issue 10): p99 < 100 ms at >= 300 acknowledged deliveries/s on the development machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.http.servers import (
    ProcessTree,
    Service,
    embedded_targets,
    free_port,
    garment_executable,
    postgres_tree,
    server_environment,
)
from garment.central.billing.providers.sandbox import SECRET_FILE, build_simulated_delivery
from garment.platform.db import plain_url

PATH = "/api/v1/billing/webhooks/sandbox"
LUA_SCRIPT = Path(__file__).with_name("webhook_ingest.lua")
# Enough distinct deliveries for a round at well above the target rate.
RATE_CEILING = 1500


@dataclass(frozen=True)
class Round:
    name: str
    acknowledged: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: dict[str, int]
    server_cpu: float = 0.0
    postgres_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0


def deliveries(secret: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Distinct signed deliveries for invoices we do not have (processing marks them ignored:
    the ingest path is the same)."""
    return [
        build_simulated_delivery(str(uuid.uuid4()), 149_000, fail=False, secret=secret)
        for _ in range(count)
    ]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


# --- load: wrk --------------------------------------------------------------------------------


def wrk_round(
    base: str, secret: str, *, threads: int, connections: int, duration: float
) -> dict[str, Any]:
    items = deliveries(secret, int(RATE_CEILING * duration))
    with tempfile.TemporaryDirectory(prefix="gbench-wrk-") as directory:
        path = Path(directory) / "deliveries"
        with path.open("w") as out:
            for body, headers in items:
                text = body.decode()
                assert "\t" not in text and "\n" not in text
                out.write(
                    f"{headers['webhook-id']}\t{headers['webhook-timestamp']}\t"
                    f"{headers['webhook-signature']}\t{text}\n"
                )
        env = {**os.environ, "BENCH_DELIVERIES": str(path), "BENCH_THREADS": str(threads)}
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout=10s",
            "-s",
            str(LUA_SCRIPT),
            base + PATH,
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH-RESULT "))
    failed = sum(int(v) for v in data["codes"].values())
    failures = {f"http {k}": int(v) for k, v in data["codes"].items()}
    for kind in ("connect", "read", "write", "timeout", "exhausted"):
        if data[kind]:
            failures[kind] = int(data[kind])
    return {
        "acknowledged": int(data["requests"]) - failed,
        "seconds": data["duration_us"] / 1e6,
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "failures": failures,
    }


# --- load: httpx (no wrk) ---------------------------------------------------------------------


async def _httpx_load(base: str, secret: str, connections: int, duration: float) -> dict[str, Any]:
    items = iter(deliveries(secret, int(RATE_CEILING * duration)))
    latencies: list[float] = []
    failures: dict[str, int] = {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, trust_env=False) as http:
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            for body, headers in items:
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                answer = await http.post(PATH, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    key = f"http {answer.status_code}"
                    failures[key] = failures.get(key, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return {
        "acknowledged": len(latencies) - sum(failures.values()),
        "seconds": elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": p99(latencies) * 1000,
        "failures": failures,
    }


def httpx_round(base: str, secret: str, *, connections: int, duration: float) -> dict[str, Any]:
    """The httpx load in its own process (the server's CPU is not shared with the client's
    event loop)."""
    code = (
        "import asyncio, json, sys; from bench.webhook_ingest import _httpx_load; "
        "a = json.load(sys.stdin); print(json.dumps(asyncio.run(_httpx_load(*a))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([base, secret, connections, duration]),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


# --- the bare insert --------------------------------------------------------------------------


async def bare_inserts(
    central_url: str, secret: str, connections: int, duration: float
) -> dict[str, Any]:
    items = iter(deliveries(secret, int(RATE_CEILING * 4 * duration)))
    pool = await asyncpg.create_pool(central_url, min_size=connections, max_size=connections)
    try:
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bench_webhook_bare (id bigserial PRIMARY KEY, "
            "provider text, received_at timestamptz DEFAULT now(), body bytea, headers jsonb, "
            "size bigint)"
        )
        latencies: list[float] = []
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            for body, headers in items:
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                await pool.execute(
                    "INSERT INTO bench_webhook_bare (provider, body, headers, size) "
                    "VALUES ('sandbox', $1, $2::jsonb, $3)",
                    body,
                    json.dumps(headers),
                    len(body),
                )
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    finally:
        await pool.close()
    return {
        "acknowledged": len(latencies),
        "seconds": elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": p99(latencies) * 1000,
        "failures": {},
    }


# --- servers ----------------------------------------------------------------------------------


def start_server(
    data_dir: Path, *, workers: int, worker: bool, source: Path | None = None
) -> Service:
    """`garment serve` on the embedded default; without `worker` the receipts wait for a
    `garment worker` (production's shape), so only the ingest is measured. `source`: run the
    code of another tree (its `src` first on the path)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    name = data_dir.name
    log = data_dir.parent / f"{name}.log"
    handle = log.open("ab")
    env = server_environment(data_dir) | {"GARMENT_JOBS__IN_PROCESS_WORKER": str(worker).lower()}
    if source is not None:
        env["PYTHONPATH"] = str(source.resolve() / "src")
    popen = subprocess.Popen(
        [
            garment_executable(),
            *("serve", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", str(workers)),
        ],
        env=env,
        cwd=data_dir.parent,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    service = Service(name, f"http://127.0.0.1:{port}", popen, log, [handle], data_dir)
    try:
        service.wait_ready("/readyz")
    except BaseException:
        service.stop()
        raise
    return service


@dataclass
class Target:
    name: str
    service: Service
    secret: str
    postgres: ProcessTree


def measure(target: Target, args: argparse.Namespace, duration: float) -> Round:
    cpu_before = target.service.tree.cpu_seconds()
    pg_before = target.postgres.cpu_seconds()
    if args.resolved_load == "wrk":
        data = wrk_round(
            target.service.base_url,
            target.secret,
            threads=args.threads,
            connections=args.connections,
            duration=duration,
        )
    else:
        data = httpx_round(
            target.service.base_url,
            target.secret,
            connections=args.connections,
            duration=duration,
        )
    return Round(
        name=target.name,
        server_cpu=target.service.tree.cpu_seconds() - cpu_before,
        postgres_cpu=target.postgres.cpu_seconds() - pg_before,
        **data,
    )


def summary(rounds: list[Round]) -> dict[str, float]:
    acknowledged = sum(r.acknowledged for r in rounds)
    return {
        "rate": statistics.median(r.rate for r in rounds),
        "p50": statistics.median(r.p50_ms for r in rounds),
        "p99": statistics.median(r.p99_ms for r in rounds),
        "cpu_ms": 1000 * sum(r.server_cpu for r in rounds) / max(1, acknowledged),
        "pg_ms": 1000 * sum(r.postgres_cpu for r in rounds) / max(1, acknowledged),
    }


def report(by_name: dict[str, list[Round]], args: argparse.Namespace) -> None:
    print(
        f"\nwebhook ingest: --workers {args.workers}, {args.connections} connections, "
        f"{args.rounds} x {args.duration:.0f} s rounds, load {args.resolved_load}"
    )
    for round_ in (r for rounds in by_name.values() for r in rounds):
        failures = f"  failures {round_.failures}" if round_.failures else ""
        print(
            f"  {round_.name:8} {round_.rate:7.0f}/s  p50 {round_.p50_ms:7.1f}  "
            f"p99 {round_.p99_ms:7.1f} ms{failures}"
        )
    figures = {name: summary(rounds) for name, rounds in by_name.items()}
    print(
        f"\n  {'':8} {'deliv/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'srv CPU ms':>11} {'pg CPU ms':>10}"
    )
    for name, f in figures.items():
        cpu = (
            f"{f['cpu_ms']:11.2f} {f['pg_ms']:10.2f}" if name != "bare" else f"{'-':>11} {'-':>10}"
        )
        print(f"  {name:8} {f['rate']:8.0f} {f['p50']:8.1f} {f['p99']:8.1f} {cpu}")
    bare = figures["bare"]["rate"]
    for name, f in figures.items():
        if name != "bare":
            print(f"  {name}/bare throughput {f['rate'] / bare:.2f}x")
    if "compare" in figures:
        print(
            f"  ours/compare throughput {figures['ours']['rate'] / figures['compare']['rate']:.2f}x"
        )
    ours = figures["ours"]
    verdict = "met" if ours["p99"] < 100 and ours["rate"] >= 300 else "NOT met"
    print(f"  target p99 < 100 ms at >= 300/s (ours): {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="garment serve --workers")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--duration", type=float, default=8, help="seconds per round")
    parser.add_argument("--warmup", type=float, default=3, help="seconds per server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--compare", type=Path, help="another source tree, measured alternately")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--with-worker",
        action="store_true",
        help="process the receipts in the same server process meanwhile (default: ingest only)",
    )
    args = parser.parse_args(argv)
    args.resolved_load = (
        "wrk" if args.load == "wrk" or (args.load == "auto" and shutil.which("wrk")) else "python"
    )
    root = Path(tempfile.mkdtemp(prefix="gbench-webhooks-"))
    targets: list[Target] = []
    try:
        sources: list[tuple[str, Path | None]] = [("ours", None)]
        if args.compare is not None:
            sources.append(("compare", args.compare))
        for name, source in sources:
            data = root / name
            service = start_server(
                data, workers=args.workers, worker=args.with_worker, source=source
            )
            targets.append(
                Target(
                    name,
                    service,
                    (data / SECRET_FILE).read_text().strip(),
                    postgres_tree(data / "pgdata"),
                )
            )
        for target in targets:
            measure(target, args, args.warmup)
        central = plain_url(embedded_targets(root / "ours" / "pgdata").central.owner_url)
        by_name: dict[str, list[Round]] = {
            name: [] for name in [t.name for t in targets] + ["bare"]
        }
        for _ in range(args.rounds):
            for target in targets:
                by_name[target.name].append(measure(target, args, args.duration))
            bare = asyncio.run(
                bare_inserts(central, targets[0].secret, args.connections, args.duration)
            )
            by_name["bare"].append(Round(name="bare", **bare))
        report(by_name, args)
    finally:
        for target in targets:
            target.service.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
