"""The embedded PostgreSQL: starts with no configuration, stops cleanly, keeps its data."""

from __future__ import annotations

from pathlib import Path

import psutil
import psycopg
import pytest

from garment.platform.embedded import EmbeddedPostgres

pytestmark = pytest.mark.slow


def test_start_stop_and_reuse_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    pgdata = tmp_path_factory.mktemp("emb") / "d"
    server = EmbeddedPostgres(pgdata)
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE kept")
        version = conn.execute("SHOW server_version").fetchone()
    assert version is not None and version[0].startswith("16")
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    server.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not (pgdata / "postmaster.pid").exists()

    again = EmbeddedPostgres(pgdata)
    url = again.start()
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'kept'").fetchone()
        assert row == (1,)
    finally:
        again.stop()


def test_a_crashed_owner_does_not_keep_the_server_alive(tmp_path: Path) -> None:
    pgdata = tmp_path / "d"
    server = EmbeddedPostgres(pgdata)
    server.start()
    server.stop()
    # A process that died without detaching left its pid behind.
    (pgdata / ".handle_pids.json").write_text("[999999999]")
    server = EmbeddedPostgres(pgdata)
    server.start()
    server.stop()
    assert not (pgdata / "postmaster.pid").exists()
