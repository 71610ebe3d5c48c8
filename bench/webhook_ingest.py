"""Billing webhook ingest over real HTTP: acknowledged deliveries per second and the p99
acknowledgement latency under concurrent delivery, against a bare insert of the same bodies.

`python -m bench.webhook_ingest [--deliveries 3000] [--concurrency 32] [--keep]`

- **ours**: `garment serve` on the embedded default in a fresh data dir, without its in-process
  job worker (receipts wait for `garment worker`, production's shape; `--with-worker` processes
  them in the same process meanwhile). Each delivery is a distinct, correctly
  signed sandbox webhook (its own `webhook-id`), POSTed to `/api/v1/billing/webhooks/sandbox`:
  stored, verified, deduplicated, enqueued, acknowledged. The load comes from a separate
  process (httpx, keep-alive connections).
- **bare**: the same bodies inserted one per transaction into a table of the same shape on the
  same PostgreSQL, at the same concurrency, over asyncpg (the floor: one durable write).

Target (issue 10): p99 < 100 ms at >= 300 acknowledged deliveries/s on the development machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.http.servers import (
    Service,
    embedded_targets,
    free_port,
    garment_executable,
    server_environment,
)
from garment.central.billing.providers.sandbox import SECRET_FILE, build_simulated_delivery
from garment.platform.db import plain_url

PATH = "/api/v1/billing/webhooks/sandbox"


def deliveries(secret: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Distinct signed deliveries for invoices we do not have (processing marks them ignored:
    the ingest path is the same)."""
    return [
        build_simulated_delivery(str(uuid.uuid4()), 149_000, fail=False, secret=secret)
        for _ in range(count)
    ]


async def _load(
    base: str, items: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> dict[str, Any]:
    queue = iter(items)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, trust_env=False) as http:

        async def worker() -> None:
            for body, headers in queue:
                started = time.perf_counter()
                answer = await http.post(PATH, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "latencies": latencies, "statuses": statuses}


def load_process(
    base: str, items: list[tuple[bytes, dict[str, str]]], concurrency: int, out: Any
) -> None:
    out.put(asyncio.run(_load(base, items, concurrency)))


async def bare_inserts(
    central_url: str, items: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> tuple[float, list[float]]:
    pool = await asyncpg.create_pool(central_url, min_size=concurrency, max_size=concurrency)
    try:
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bench_webhook_bare (id bigserial PRIMARY KEY, "
            "provider text, received_at timestamptz DEFAULT now(), body bytea, headers jsonb, "
            "size bigint)"
        )
        queue = iter(items)
        latencies: list[float] = []

        async def worker() -> None:
            for body, headers in queue:
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
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(items) / (time.perf_counter() - started), latencies
    finally:
        await pool.close()


def start_server(data_dir: Path, *, worker: bool) -> Service:
    """`garment serve` on the embedded default; without `worker` the receipts wait for a
    `garment worker` (production's shape), so only the ingest is measured."""
    import subprocess

    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / "ours.log"
    handle = log.open("ab")
    env = server_environment(data_dir) | {"GARMENT_JOBS__IN_PROCESS_WORKER": str(worker).lower()}
    popen = subprocess.Popen(
        [garment_executable(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=data_dir.parent,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    service = Service("ours", f"http://127.0.0.1:{port}", popen, log, [handle], data_dir)
    try:
        service.wait_ready("/readyz")
    except BaseException:
        service.stop()
        raise
    return service


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--with-worker",
        action="store_true",
        help="process the receipts in the same server process meanwhile (default: ingest only)",
    )
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gbench-webhooks-"))
    service = start_server(root / "data", worker=args.with_worker)
    try:
        secret = (root / "data" / SECRET_FILE).read_text().strip()
        warmup = deliveries(secret, 200)
        items = deliveries(secret, args.deliveries)
        context = multiprocessing.get_context("spawn")
        cpu_before = 0.0
        for index, batch in enumerate((warmup, items)):
            if index == 1:
                cpu_before = service.tree.cpu_seconds()
            out = context.Queue()
            process = context.Process(
                target=load_process, args=(service.base_url, batch, args.concurrency, out)
            )
            process.start()
            result = out.get()
            process.join()
        server_cpu = service.tree.cpu_seconds() - cpu_before
        acknowledged = result["statuses"].get(200, 0)
        ours_rate = acknowledged / result["elapsed"]
        targets = embedded_targets(root / "data" / "pgdata")
        bare_rate, bare_latencies = asyncio.run(
            bare_inserts(plain_url(targets.central.owner_url), items, args.concurrency)
        )
        ours_p99 = p99(result["latencies"]) * 1000
        print(f"\nwebhook ingest, {args.deliveries} deliveries, {args.concurrency} concurrent")
        print(f"  statuses                    {result['statuses']}")
        print(f"  ours: acknowledged/s        {ours_rate:10.0f}")
        print(
            f"  ours: p50 / p99 ms          {statistics.median(result['latencies']) * 1000:10.1f} / {ours_p99:.1f}"
        )
        print(f"  ours: server CPU ms/delivery {server_cpu * 1000 / len(items):9.1f}")
        print(f"  bare insert/s               {bare_rate:10.0f}")
        print(f"  bare p99 ms                 {p99(bare_latencies) * 1000:10.1f}")
        print(f"  ours / bare                 {ours_rate / bare_rate:10.2f}x")
        verdict = "met" if ours_p99 < 100 and ours_rate >= 300 else "NOT met"
        print(f"  target p99 < 100 ms at >= 300/s: {verdict}")
    finally:
        service.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
