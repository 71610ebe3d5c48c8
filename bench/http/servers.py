"""The processes under test: the real `garment serve` on the embedded default, the bare
Starlette baseline, and the embedded PostgreSQL they share; CPU time and RSS of each."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import asyncpg
import httpx
import psutil

from garment.platform.db import plain_url
from garment.platform.dbsetup import EMBEDDED_LAYOUT, Targets, targets_for_layout
from garment.platform.embedded import EmbeddedPostgres
from garment.platform.secretbox import SECRET_FILE

REPO = Path(__file__).resolve().parents[2]
RATE_LIMITS = {
    "GARMENT_AUTH__IP_RATE_LIMIT": "100000000/minute",
    "GARMENT_AUTH__EMAIL_RATE_LIMIT": "100000000/hour",
    # A refresh round sends thousands a minute from one address and one session's chain.
    "GARMENT_RATE_LIMIT__REFRESH_PER_IP": "100000000/minute",
    "GARMENT_RATE_LIMIT__PER_SESSION": "100000000/minute",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ProcessTree:
    """A process and its descendants, measured together (CPU of exited children included)."""

    pid: int
    exclude: tuple[str, ...] = ()

    def _members(self) -> list[psutil.Process]:
        root = psutil.Process(self.pid)
        members = [root]
        for child in root.children(recursive=True):
            try:
                if child.name() not in self.exclude:
                    members.append(child)
            except psutil.NoSuchProcess:
                continue
        return members

    def cpu_seconds(self) -> float:
        total = 0.0
        for index, member in enumerate(self._members()):
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
            if index == 0:  # reaped children (exited workers, backends) count for the root
                total += times.children_user + times.children_system
        return total

    def cpu_by_pid(self) -> dict[int, float]:
        """CPU seconds of each live member (to see how work splits between workers)."""
        split = {}
        for member in self._members():
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            split[member.pid] = times.user + times.system
        return split

    def rss_bytes(self) -> int:
        total = 0
        for member in self._members():
            try:
                total += member.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total


@dataclass
class Service:
    """A server process we started, with its log files."""

    name: str
    base_url: str
    popen: subprocess.Popen[bytes]
    log: Path
    logs: list[IO[bytes]] = field(default_factory=list)
    data_dir: Path | None = None  # garment servers: GARMENT_DATA_DIR

    @property
    def tree(self) -> ProcessTree:
        return ProcessTree(self.popen.pid, exclude=("postgres",))

    def wait_ready(self, path: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.tail()}")
            try:
                if httpx.get(self.base_url + path, timeout=5, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM (the server stops its workers, then the embedded PostgreSQL), then wait."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        for handle in self.logs:
            handle.close()


def garment_executable() -> str:
    """The `garment` console script of the interpreter running the benchmark (the venv's)."""
    candidate = Path(sys.executable).with_name("garment")
    return str(candidate) if candidate.exists() else "garment"


def server_environment(data_dir: Path) -> dict[str, str]:
    """The embedded default (no GARMENT_DATABASE_URL), fresh data dir, quiet, no rate limits
    in the way; nothing from the caller's GARMENT_* configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    env |= {
        "GARMENT_DATA_DIR": str(data_dir),
        "GARMENT_CONFIG_FILE": "/nonexistent",
        "GARMENT_LOG__LEVEL": "WARNING",
        **RATE_LIMITS,
    }
    return env


# Three servers share one embedded PostgreSQL in the floor scenario (ours, bare, floor), each
# with pools of 20 per database it reaches: more than PostgreSQL's default 100 connections once
# ours' pools have grown, and requests then fail with "too many clients" instead of measuring.
BENCH_MAX_CONNECTIONS = 300


def prepare_postgres(pgdata: Path) -> None:
    """Create the embedded PostgreSQL of a new data directory with room for every server of
    the run (`BENCH_MAX_CONNECTIONS`); the garment server then starts it as it is."""
    if pgdata.exists():
        return
    embedded = EmbeddedPostgres(pgdata)
    url = embedded.start()
    try:
        sql = f"ALTER SYSTEM SET max_connections = {int(BENCH_MAX_CONNECTIONS)}"
        asyncio.run(execute_on([url], sql))
    finally:
        embedded.stop()


def analyze_databases(pgdata: Path) -> None:
    """ANALYZE every database of the embedded PostgreSQL of `pgdata`. A run's tables grow from
    nothing within seconds, faster than autovacuum's first look (a minute), and plans cached
    on the old statistics (a sequential scan of a table that was one page) then cost more with
    every row: after this, rounds measure the steady state a deployment's statistics give."""
    targets = embedded_targets(pgdata)
    urls = [targets.central.owner_url] + [c.owner_url for c in targets.clusters.values()]
    asyncio.run(execute_on(urls, "ANALYZE"))


async def execute_on(urls: list[str], sql: str) -> None:
    """One statement on each database, over a connection of its own."""
    for url in urls:
        connection = await asyncpg.connect(plain_url(url))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


def start_garment(name: str, data_dir: Path, workers: int = 1) -> Service:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    prepare_postgres(data_dir / "pgdata")
    log = data_dir.parent / f"{name}.log"
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
        env=server_environment(data_dir),
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


def embedded_targets(pgdata: Path) -> Targets:
    """The URLs the server resolved for the embedded PostgreSQL it started: the socket directory
    and port from `postmaster.pid`, the embedded layout's roles and databases."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    port, socket_dir = lines[3].strip(), lines[4].strip()
    server_url = f"postgresql://postgres@/postgres?host={socket_dir}&port={port}"
    return targets_for_layout(server_url, EMBEDDED_LAYOUT)


def postgres_tree(pgdata: Path) -> ProcessTree:
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return ProcessTree(int(lines[0]))


def start_bare(
    targets: Targets, log_dir: Path, data_dir: Path, name: str = "bare", app: str = "bare"
) -> Service:
    """The bare baseline on the same PostgreSQL as the server of `data_dir`, with that server's
    secret key file (the bare refresh hashes tokens with the key ours derives from it). `app`
    picks the module under `bench.http` (`floor`: the same endpoints through FastAPI)."""
    port = free_port()
    log = log_dir / f"{name}.log"
    handle = log.open("ab")
    env = {
        **os.environ,
        "BENCH_CENTRAL_URL": plain_url(targets.central.app_url),
        "BENCH_CLUSTER_URL": plain_url(targets.clusters["default"].app_url),
        "BENCH_SECRET_KEY_FILE": str(data_dir / SECRET_FILE),
    }
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"bench.http.{app}:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--no-server-header",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=REPO,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    service = Service(name, f"http://127.0.0.1:{port}", popen, log, [handle])
    try:
        service.wait_ready("/healthz")
    except BaseException:
        service.stop()
        raise
    return service
