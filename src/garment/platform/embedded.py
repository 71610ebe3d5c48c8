"""The embedded PostgreSQL that makes a fresh checkout run with no configuration.

`pgserver` ships a real PostgreSQL 16 in a wheel. It listens on a Unix socket inside the data
directory only (no TCP port to collide with), and as root it runs the server as an unprivileged
`pgserver` user. Several of our processes (server, worker, CLI) may share one data directory: the
last one to detach stops the server.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import psutil

logger = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: Any = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def server_is_up(self) -> bool:
        """Whether a PostgreSQL runs on this data directory now (its postmaster is alive), as
        opposed to one this object could start."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return False
        return bool(psutil.pid_exists(pid))

    def start(self) -> str:
        """Start (or attach to) the server and return a superuser URL."""
        if self._server is None:
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            self._forget_dead_handles()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from pgserver import postgres_server

                self._server = postgres_server.get_server(self.pgdata, cleanup_mode="stop")
        return str(self._server.get_uri("postgres"))

    def stop(self) -> None:
        """Detach; stops PostgreSQL cleanly (fast shutdown) when no other process uses it."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.cleanup()
        if self._other_handles_alive() or not self.server_is_up():
            return
        # pgserver stops only the postmaster it saw start. One restarted underneath us (after
        # an outage drill, by hand) would outlive Ctrl-C; we were the last user, so stop it.
        logger.info("embedded postgres restarted underneath us; stopping it at %s", self.pgdata)
        self._stop_postmaster(getattr(server, "system_user", None))

    def _other_handles_alive(self) -> bool:
        handles = self.pgdata / ".handle_pids.json"
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return False
        return any(pid != os.getpid() and psutil.pid_exists(pid) for pid in pids)

    def _stop_postmaster(self, system_user: str | None) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=system_user, timeout=30)
        except Exception as exc:  # already stopping or gone: nothing left to stop
            logger.warning("embedded postgres stop failed at %s: %s", self.pgdata, exc)

    def _forget_dead_handles(self) -> None:
        """pgserver counts attached processes in a file; a crashed process never detaches, and
        would keep the server from ever stopping. Drop pids that no longer run."""
        handles = self.pgdata / ".handle_pids.json"
        if not handles.exists():
            return
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            pids = []
        alive = [pid for pid in pids if pid != os.getpid() and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
