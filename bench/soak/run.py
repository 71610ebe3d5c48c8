"""`python -m bench.soak [--minutes 10] [--fraction 0.7]`: the soak test of issue 9.

The real `garment serve` on the embedded default (a fresh temporary data directory, as
`bench.http` starts it, with every rate limit raised out of the way but still enforced) gets
a mix of tenant reads, tenant writes and refreshes over real HTTP from a load generator in
another process (`bench.soak.loadgen`): first as fast as it answers for `--max-seconds` (the
maximum), then at `--fraction` of that rate, on a fixed schedule, for `--minutes`. Every
`--window` seconds a row: requests, errors by status, p50 and p99, and the RSS of the server's
processes (psutil, the server and its workers, not PostgreSQL). The verdict compares the last
window's RSS with the first's. Exit 1 when the goal (no errors, RSS growth under 10%) is missed.

Run by hand, not in `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.http.scenarios import settle, system_busy_seconds
from bench.http.servers import (
    REPO,
    ProcessTree,
    Service,
    free_port,
    garment_executable,
    postgres_tree,
    server_environment,
)
from garment.config import AuthSettings

API = "/api/v1"
FINGERPRINT = "bench-soak-device"
TENANT = "demo"
# Shares of operations (a write is two requests: the invitation and its revocation).
MIX = {"me": 0.30, "permissions": 0.15, "list": 0.25, "refresh": 0.15, "write": 0.15}
LIMITS_OUT_OF_THE_WAY = {
    "GARMENT_RATE_LIMIT__PER_SESSION": "100000000/minute",
    "GARMENT_RATE_LIMIT__REFRESH_PER_IP": "100000000/minute",
}
RSS_GOAL = 10.0  # percent


@dataclass(frozen=True, slots=True)
class Options:
    minutes: float
    fraction: float
    max_seconds: float
    warmup_seconds: float
    window: float
    clients: int
    connections: int
    workers: int
    keep: bool


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="constant-rate phase (10)")
    parser.add_argument("--fraction", type=float, default=0.7, help="share of the maximum (0.7)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="maximum phase (20 s)")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="first seconds of the maximum not counted (5)"
    )
    parser.add_argument("--window", type=float, default=30.0, help="sampling window (30 s)")
    parser.add_argument("--clients", type=int, default=32, help="signed-in sessions (32)")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections (32)")
    parser.add_argument("--workers", type=int, default=1, help="garment serve --workers (1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not 0 < args.fraction <= 1:
        parser.error("--fraction must be in (0, 1]")
    return Options(
        minutes=args.minutes,
        fraction=args.fraction,
        max_seconds=args.max_seconds,
        warmup_seconds=args.warmup,
        window=args.window,
        clients=args.clients,
        connections=args.connections,
        workers=args.workers,
        keep=args.keep,
    )


def start_server(data_dir: Path, workers: int) -> Service:
    """`garment serve` as `bench.http.servers.start_garment` starts it, plus the limits that
    `bench.http` predates (per session, refreshes per address)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / "soak-server.log"
    handle = log.open("ab")
    popen = subprocess.Popen(
        [
            garment_executable(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=server_environment(data_dir) | LIMITS_OUT_OF_THE_WAY,
        cwd=data_dir.parent,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    service = Service("soak", f"http://127.0.0.1:{port}", popen, log, [handle], data_dir)
    try:
        service.wait_ready("/readyz")
    except BaseException:
        service.stop()
        raise
    return service


def sign_in(client: httpx.Client, base_url: str, password: str) -> dict[str, str]:
    """A session of the demo admin with the demo tenant selected: its tenant token and the
    head of its refresh chain (a refresh keeps the selection, so it answers tenant tokens)."""
    email = AuthSettings().demo_admin_email
    login = client.post(
        f"{base_url}{API}/auth/login",
        json={"email": email, "password": password},
        headers={"X-Device-Fingerprint": FINGERPRINT},
    )
    login.raise_for_status()
    signed_in = login.json()
    tenant_id = next(t["id"] for t in signed_in["tenants"] if t["slug"] == TENANT)
    selected = client.post(
        f"{base_url}{API}/auth/tenant-token",
        json={"tenant_id": tenant_id},
        headers={"Authorization": f"Bearer {signed_in['access_token']}"},
    )
    selected.raise_for_status()
    return {"access": selected.json()["access_token"], "refresh": signed_in["refresh_token"]}


def rss_mib(service: Service) -> float:
    return service.tree.rss_bytes() / 2**20


def server_pids(service: Service) -> list[int]:
    return [service.popen.pid] + [
        child.pid
        for child in psutil.Process(service.popen.pid).children(recursive=True)
        if child.name() != "postgres"
    ]


def codes_text(window: dict[str, Any]) -> str:
    parts = [f"{status}:{count}" for status, count in window["codes"].items()]
    if window["socket_errors"]:
        parts.append(f"socket:{window['socket_errors']}")
    if window["timeouts"]:
        parts.append(f"timeout:{window['timeouts']}")
    return " ".join(parts) or "-"


HEADER = (
    f"{'window':>6} {'t s':>6} {'req/s':>7} {'target':>7} {'p50 ms':>7} {'p99 ms':>8} "
    f"{'lag ms':>7} {'errors':>6} {'by status':<16} {'rss MiB':>8} {'pg MiB':>7} "
    f"{'srv cores':>9} {'other':>6}"
)


def row(
    number: int,
    elapsed: float,
    window: dict[str, Any],
    rss: float,
    pg: float,
    server_cores: float,
    other_cores: float,
) -> str:
    return (
        f"{number:>6} {elapsed:>6.0f} {window['rps']:>7.1f} {window.get('rate', 0):>7.1f} "
        f"{window['p50_ms']:>7.1f} {window['p99_ms']:>8.1f} {window['max_lag_ms']:>7.1f} "
        f"{window['errors']:>6} {codes_text(window):<16} {rss:>8.1f} {pg:>7.1f} "
        f"{server_cores:>9.2f} {other_cores:>6.2f}"
    )


class Meter:
    """CPU per window: the server's processes, and everything else on the machine (not the
    server, its PostgreSQL or the load generator), as `bench.http` reports it."""

    def __init__(self, server: Service, pg: ProcessTree, generator_pid: int) -> None:
        self.server, self.pg = server.tree, pg
        self.generator = ProcessTree(generator_pid)
        self.last = self._read()

    def _read(self) -> tuple[float, float, float, float, float]:
        return (
            time.perf_counter(),
            system_busy_seconds(),
            self.server.cpu_seconds(),
            self.pg.cpu_seconds(),
            self.generator.cpu_seconds(),
        )

    def sample(self) -> tuple[float, float]:
        """Cores the server used since the last sample, and cores anything else used."""
        now = self._read()
        wall, busy, server, pg, generator = (b - a for a, b in zip(self.last, now, strict=True))
        self.last = now
        if wall <= 0:
            return 0.0, 0.0
        return server / wall, max(0.0, busy - server - pg - generator) / wall


def soak(options: Options, root: Path) -> int:
    data_dir = root / "data"
    started = time.perf_counter()
    server = start_server(data_dir, options.workers)
    try:
        print(
            f"  garment serve ready in {time.perf_counter() - started:.1f} s "
            f"(pids {', '.join(map(str, server_pids(server)))}; log {server.log})",
            flush=True,
        )
        pg = postgres_tree(data_dir / "pgdata")
        password = (data_dir / "demo-admin-password").read_text().strip()
        with (
            httpx.Client(timeout=60, trust_env=False) as client,
            ThreadPoolExecutor(4) as pool,
        ):
            clients = list(
                pool.map(
                    lambda _: sign_in(client, server.base_url, password), range(options.clients)
                )
            )
        port = int(server.base_url.rsplit(":", 1)[1])
        job = {
            "host": "127.0.0.1",
            "port": port,
            "tenant": TENANT,
            "fingerprint": FINGERPRINT,
            "clients": clients,
            "mix": MIX,
            "connections": options.connections,
            "writers": 4,
            "timeout": 10.0,
            "max_seconds": options.max_seconds,
            "warmup_seconds": options.warmup_seconds,
            "fraction": options.fraction,
            "minutes": options.minutes,
            "window_seconds": options.window,
        }
        rss_start = rss_mib(server)
        print(f"  {len(clients)} sessions signed in; server RSS {rss_start:.1f} MiB", flush=True)
        return drive(server, pg, job, options)
    finally:
        server.stop()


def drive(server: Service, pg: ProcessTree, job: dict[str, Any], options: Options) -> int:
    generator = subprocess.Popen(
        [sys.executable, "-m", "bench.soak.loadgen"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert generator.stdin is not None and generator.stdout is not None
    generator.stdin.write(json.dumps(job) + "\n")
    generator.stdin.flush()
    meter = Meter(server, pg, generator.pid)
    windows: list[tuple[dict[str, Any], float]] = []
    done: dict[str, Any] = {}
    busy: list[float] = []
    phase_started = time.perf_counter()
    for line in generator.stdout:
        event = json.loads(line)
        rss, pg_rss = rss_mib(server), pg.rss_bytes() / 2**20
        if event["event"] == "max":
            print(
                f"  maximum: {event['rps']:.1f} req/s over {event['seconds']:.0f} s "
                f"(p50 {event['p50_ms']:.1f} ms, p99 {event['p99_ms']:.1f} ms, "
                f"errors {event['errors']} {codes_text(event)}; ops {event['ops']}); "
                f"server RSS {rss:.1f} MiB",
                flush=True,
            )
            print(
                f"  constant rate: {options.fraction:.0%} of it = "
                f"{event['rps'] * options.fraction:.1f} req/s for {options.minutes:g} min, "
                f"a row every {options.window:g} s",
                flush=True,
            )
            settle([server], timeout=120)
            generator.stdin.write("go\n")
            generator.stdin.close()
            print(HEADER, flush=True)
            phase_started = time.perf_counter()
            meter.sample()
        elif event["event"] == "window":
            windows.append((event, rss))
            elapsed = time.perf_counter() - phase_started
            server_cores, other_cores = meter.sample()
            busy.append(other_cores)
            print(
                row(len(windows), elapsed, event, rss, pg_rss, server_cores, other_cores),
                flush=True,
            )
        elif event["event"] == "done":
            done = event
    if generator.wait() != 0 or not windows:
        print(f"the load generator failed (exit {generator.returncode})", flush=True)
        return 2
    errors = sum(window["errors"] for window, _ in windows)
    by_status: dict[str, int] = {}
    for window, _ in windows:
        for status, count in window["codes"].items():
            by_status[status] = by_status.get(status, 0) + count
        for kind in ("socket_errors", "timeouts"):
            by_status[kind] = by_status.get(kind, 0) + window[kind]
    first, last = windows[0][1], windows[-1][1]
    growth = (last - first) / first * 100 if first else 0.0
    requests = sum(window["requests"] for window, _ in windows)
    worst_p99 = max(window["p99_ms"] for window, _ in windows)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()) if v) or "none"
    print(
        f"  {requests} requests at constant rate; errors by kind: {detail}; worst window p99 "
        f"{worst_p99:.1f} ms; RSS {first:.1f} -> {last:.1f} MiB (first window to last); "
        f"sessions retired after a failed refresh: {done.get('retired', '?')}",
        flush=True,
    )
    behind = [n for n, (w, _) in enumerate(windows, 1) if w["rps"] < 0.95 * w.get("rate", 0)]
    if behind:
        print(
            f"  WARNING: windows {behind} fell behind the target rate (the server, or the "
            "machine, could not keep up: see `other`, CPU used by anything else); their "
            "latencies include the backlog",
            flush=True,
        )
    if busy and max(busy) > 0.3:
        print(
            f"  WARNING: up to {max(busy):.2f} cores were used by other processes on this "
            "machine during a window: the numbers are not trustworthy",
            flush=True,
        )
    print(f"errors={errors} rss_growth={growth:.1f}% (goal: 0 errors, < {RSS_GOAL:g}%)", flush=True)
    return 0 if errors == 0 and growth < RSS_GOAL else 1


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    print(
        f"bench.soak {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: mix {MIX}, "
        f"{options.connections} connections, {options.clients} sessions, cpu_count "
        f"{os.cpu_count()}",
        flush=True,
    )
    root = Path(tempfile.mkdtemp(prefix="gsoak-"))
    if options.keep:
        print(f"  keeping {root} (server log, data)")
    try:
        return soak(options, root)
    finally:
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
