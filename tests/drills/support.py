"""What the drills share: a real `garment serve` process and the documented `garment ...`
commands run as processes of their own, exactly as an operator types them, against this run's
databases. The command processes are forked from a process that has imported garment once
(`tests/drills/zygote.py`), so each starts in milliseconds instead of seconds of imports."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from garment.config import Settings
from garment.platform.dbsetup import Targets
from tests.conftest import free_port, garment_env

VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


class Zygote:
    """`tests/drills/zygote.py` in a process of its own, started on first use (one per test
    process); `run` forks a command from it and waits for its exit status."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            base = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.drills.zygote"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=REPO,
                env={**base, "PYTHONPATH": str(REPO)},
            )
        return self._process

    def run(
        self, args: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with self._lock, tempfile.TemporaryDirectory(prefix="drill-cmd-") as folder:
            out, err = Path(folder) / "stdout", Path(folder) / "stderr"
            process = self._started()
            assert process.stdin is not None and process.stdout is not None
            job = {"args": args, "env": env, "stdout": str(out), "stderr": str(err)}
            process.stdin.write(json.dumps(job).encode() + b"\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], timeout)
            if not ready:
                process.kill()
                raise subprocess.TimeoutExpired(["garment", *args], timeout)
            code = json.loads(process.stdout.readline())["code"]
            return subprocess.CompletedProcess(
                ["garment", *args], code, out.read_text(), err.read_text()
            )


ZYGOTE = Zygote()


def environment(targets: Targets, data_dir: Path) -> dict[str, str]:
    """A `garment` process on `targets` (a layout of the drill's own), quiet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    clusters = targets.clusters
    env.update(
        {
            "GARMENT_ENVIRONMENT": "test",
            "GARMENT_DATABASE_URL": targets.central.app_url,
            "GARMENT_DATABASE_MIGRATION_URL": targets.central.owner_url,
            "GARMENT_CLUSTERS": json.dumps({k: t.app_url for k, t in clusters.items()}),
            "GARMENT_CLUSTER_MIGRATION_URLS": json.dumps(
                {k: t.owner_url for k, t in clusters.items()}
            ),
            "GARMENT_DATA_DIR": str(data_dir),
            "GARMENT_CONFIG_FILE": "/nonexistent/garment.toml",
            "GARMENT_AUTH__SECRET_KEY": "drill-secret-key-0123456789abcdef",
            "GARMENT_LOG__LEVEL": "WARNING",
        }
    )
    return env


async def wait_ready(http: httpx.AsyncClient, timeout: float = 60) -> None:
    """Until `/readyz` answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        await asyncio.sleep(0.2)


def stop(serve: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as an operator stops it; killed if it does not stop within 20 s."""
    serve.send_signal(signal.SIGINT)
    try:
        serve.wait(timeout=20)
    except subprocess.TimeoutExpired:
        serve.kill()


@dataclass(frozen=True)
class Drill:
    """A running `garment serve` on the session's databases, logging INFO into `log_file`, and
    the environment an operator's shell would have on the same host (the same configuration,
    so `garment logs` reads that file)."""

    http: httpx.AsyncClient
    env: dict[str, str]
    log_file: Path

    def command(self, line: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """One documented command line (`garment ...`), split on spaces, run as a process."""
        words = line.split()
        assert words[0] == "garment", line
        return ZYGOTE.run(words[1:], self.env, timeout)

    def ok(self, line: str) -> str:
        """The command's stdout; it must exit 0."""
        result = self.command(line)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
        return result.stdout

    def json(self, line: str) -> Any:
        return json.loads(self.ok(line))


@asynccontextmanager
async def running_server(settings: Settings, tmp_path: Path) -> AsyncIterator[Drill]:
    """`garment serve` (no in-process worker: the suite's queued jobs are the tests' own) on the
    session's databases, ready, with a client for it."""
    log_file = tmp_path / "logs" / "garment.log"
    shared = {
        "GARMENT_LOG__FILE": str(log_file),
        "GARMENT_CONFIG_FILE": "/nonexistent/garment.toml",
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    server_env = {**base, **garment_env(settings, GARMENT_LOG__LEVEL="INFO", **shared)}
    cli_env = {**base, **garment_env(settings, **shared)}
    port = free_port()
    serve = subprocess.Popen(
        [str(VENV_BIN / "garment"), "serve", "--port", str(port), "--no-worker"],
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await wait_ready(http)
            yield Drill(http, cli_env, log_file)
    finally:
        await asyncio.to_thread(stop, serve)
