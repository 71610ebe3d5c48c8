"""The embedded PostgreSQL: starts with no configuration, stops cleanly, keeps its data."""

from __future__ import annotations

import psutil
import psycopg
import pytest

from garment.platform.embedded import EmbeddedPostgres
from tests.conftest import pg_data_dir

pytestmark = pytest.mark.slow


def test_start_stop_and_reuse_data() -> None:
    pgdata = pg_data_dir("emb") / "d"
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


def test_a_crashed_owner_does_not_keep_the_server_alive() -> None:
    pgdata = pg_data_dir("emb") / "d"
    server = EmbeddedPostgres(pgdata)
    server.start()
    server.stop()
    # A process that died without detaching left its pid behind.
    (pgdata / ".handle_pids.json").write_text("[999999999]")
    server = EmbeddedPostgres(pgdata)
    server.start()
    server.stop()
    assert not (pgdata / "postmaster.pid").exists()


def test_a_server_restarted_underneath_still_stops_with_us() -> None:
    """The outage drill: the embedded PostgreSQL is stopped, then started again by someone
    else (here a process that starts it and leaves it running). When our process, its last
    user, stops, that server stops too instead of outliving Ctrl-C."""
    import subprocess
    import sys

    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    pgdata = pg_data_dir("emb") / "d"
    server = EmbeddedPostgres(pgdata)
    server.start()
    first_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    user = getattr(server._server, "system_user", None)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata.resolve(), user=user)
    assert not server.server_is_up()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pgserver import postgres_server as p; "
            "p.get_server(sys.argv[1], cleanup_mode=None)",
            str(pgdata),
        ],
        check=True,
        timeout=60,
    )
    assert server.server_is_up()
    restarted_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    assert restarted_pid != first_pid
    server.stop()
    assert not server.server_is_up()
    assert not psutil.pid_exists(restarted_pid) or (
        psutil.Process(restarted_pid).status() == psutil.STATUS_ZOMBIE
    )
