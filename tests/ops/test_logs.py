"""The services' log file (`log.file`) and `garment logs`: JSON lines written by the server-side
configuration, rotation, and each search criterion against lines real requests produced."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from garment.cli.logs_cmd import LogFiles
from garment.config import LogSettings, get_settings, load_settings
from garment.platform.logging import configure_logging
from garment.runtime import Runtime
from tests.auth.conftest import login, make_user
from tests.conftest import garment

# What tests/conftest.py configures for the whole session (restored after each test here).
SUITE_LOGGING = LogSettings(level="WARNING", json_output=True)


@contextmanager
def logging_to(
    path: Path, *, max_bytes: int = 10 * 1024 * 1024, backups: int = 3, json_output: bool = True
) -> Iterator[Path]:
    """Log like `garment serve` does (INFO, not quiet) into `path` for the block. The session's
    app and runtime are shared, so the suite's logging is restored afterwards."""
    settings = LogSettings(
        level="INFO",
        json_output=json_output,
        file=path,
        file_max_bytes=max_bytes,
        file_backups=backups,
    )
    configure_logging(settings)
    try:
        yield path
    finally:
        configure_logging(SUITE_LOGGING)


def point_cli_at(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Make the `garment` commands of this test read `path` as `log.file` (after `cli_env`)."""
    monkeypatch.setenv("GARMENT_LOG__FILE", str(path))
    get_settings.cache_clear()


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def request_id(prefix: str = "ops") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


# --- the file ---------------------------------------------------------------------------------


def test_the_service_configuration_writes_json_lines_to_a_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "garment.log"  # the directory does not exist yet
    # Readable lines on stdout; the file still gets JSON.
    with logging_to(path, max_bytes=4096, backups=2, json_output=False):
        log = structlog.get_logger("tests.ops")
        for number in range(300):
            log.info("ops.numbered", n=number, padding="x" * 40)
    files = LogFiles(path).files()
    assert [file.name for file in files] == ["garment.log.2", "garment.log.1", "garment.log"]
    assert all(file.stat().st_size <= 4096 for file in files)
    lines = [json.loads(line) for file in files for line in file.read_text().splitlines()]
    numbers = [line["n"] for line in lines]
    assert numbers == sorted(numbers), "oldest file first, each in write order"
    assert numbers[-1] == 299 and numbers[0] > 0, "the oldest backups were dropped"
    assert {line["event"] for line in lines} == {"ops.numbered"}
    assert all(line["level"] == "info" and line["timestamp"].endswith("Z") for line in lines)


def test_operator_commands_do_not_write_the_file(tmp_path: Path) -> None:
    path = tmp_path / "garment.log"
    configure_logging(LogSettings(level="INFO", file=path), quiet=True)
    try:
        structlog.get_logger("tests.ops").warning("ops.from_a_command")
    finally:
        configure_logging(SUITE_LOGGING)
    assert not path.exists()


def test_an_unwritable_log_file_does_not_stop_the_process(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with logging_to(blocker / "garment.log"):
        structlog.get_logger("tests.ops").info("ops.still_logging")  # stdout only
    assert blocker.is_file()


def test_the_embedded_default_logs_under_data_dir(tmp_path: Path) -> None:
    embedded = load_settings(data_dir=tmp_path)
    assert embedded.uses_embedded_database
    assert embedded.log.file == tmp_path / "logs" / "garment.log"
    configured = load_settings(data_dir=tmp_path, database_url="postgresql://app@db/central")
    assert configured.log.file is None
    chosen = load_settings(data_dir=tmp_path, log={"file": str(tmp_path / "mine.log")})
    assert chosen.log.file == tmp_path / "mine.log"


# --- garment logs ------------------------------------------------------------------------------


@pytest.mark.usefixtures("cli_env")
async def test_logs_by_request_id_finds_exactly_that_request(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "garment.log"
    ids = [request_id() for _ in range(3)]
    with logging_to(path):
        user = await make_user(runtime)
        for rid in ids:
            response = await client.get("/healthz", headers={"X-Request-ID": rid})
            assert response.headers["X-Request-ID"] == rid
        await login(client, user)
    point_cli_at(monkeypatch, path)

    result = await garment("logs", "--request-id", ids[1], "--json")
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stdout)
    assert [(line["event"], line["request_id"], line["path"]) for line in lines] == [
        ("request", ids[1], "/healthz")
    ]

    table = await garment("logs", "--request-id", ids[2])
    assert table.exit_code == 0, table.output
    assert ids[2] in table.stdout and ids[1] not in table.stdout


@pytest.mark.usefixtures("cli_env")
async def test_logs_filters_by_user_since_level_and_event(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "garment.log"
    with logging_to(path):
        user, other = await make_user(runtime), await make_user(runtime)
        mine = await login(client, user)
        await login(client, other)
        me_id = request_id("me")
        me = await client.get(
            "/api/v1/auth/me",
            headers={"Authorization": f"Bearer {mine['access_token']}", "X-Request-ID": me_id},
        )
        assert me.status_code == 200
        structlog.get_logger("tests.ops").warning("ops.user_warning", user_id=str(user.id))
    # What a crash or a foreign writer leaves behind, and a line older than any --since below.
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat().replace("+00:00", "Z")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(
            json.dumps(
                {"timestamp": old, "level": "info", "event": "ops.old", "user_id": str(user.id)}
            )
            + "\n"
        )
        handle.write("not json at all\n")
        handle.write('{"timestamp": "2026-12-01T00:00:00Z", "event": "cut off')
    point_cli_at(monkeypatch, path)

    by_email = await garment("logs", "--user", user.email, "--json")
    assert by_email.exit_code == 0, by_email.output
    lines = json_lines(by_email.stdout)
    assert {line["user_id"] for line in lines} == {str(user.id)}
    assert [line["event"] for line in lines] == ["ops.old", "request", "ops.user_warning"]
    assert lines[1]["request_id"] == me_id and lines[1]["path"] == "/api/v1/auth/me"

    by_id = await garment("logs", "--user", str(user.id), "--since", "1h", "--json")
    assert [line["event"] for line in json_lines(by_id.stdout)] == ["request", "ops.user_warning"]

    warnings = await garment("logs", "--user", user.email, "--level", "warning", "--json")
    assert [line["event"] for line in json_lines(warnings.stdout)] == ["ops.user_warning"]

    events = await garment("logs", "--event", "ops.*", "--since", "1h", "--json")
    assert {line["event"] for line in json_lines(events.stdout)} == {"ops.user_warning"}
    # Lines that are not JSON objects are skipped and counted (a search by id never parses
    # lines without the id, so only unfiltered reads count them).
    assert events.exit_code == 0
    assert "LOG_LINES_SKIPPED" in events.stderr and "2 line(s)" in events.stderr

    newest = await garment("logs", "--event", "request", "--limit", "1", "--json")
    [last] = json_lines(newest.stdout)
    assert last["request_id"] == me_id
    assert "RESULTS_TRUNCATED" in newest.stderr

    unknown = await garment("logs", "--user", "nobody-here@example.com")
    assert unknown.exit_code == 1
    assert "USER_NOT_FOUND" in unknown.stderr and "Tidak ada pengguna" in unknown.stderr

    bad_level = await garment("logs", "--level", "loud")
    assert bad_level.exit_code == 2


@pytest.mark.usefixtures("cli_env")
async def test_logs_without_a_log_file_says_where_it_looked_and_how_to_enable_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite's settings name a database and no log file.
    unset = await garment("logs")
    assert unset.exit_code == 1
    assert "LOG_FILE_NOT_CONFIGURED" in unset.stderr
    assert "GARMENT_LOG__FILE" in unset.stderr

    missing = tmp_path / "nowhere" / "garment.log"
    point_cli_at(monkeypatch, missing)
    result = await garment("logs", "--request-id", "abc")
    assert result.exit_code == 1
    flat = " ".join(result.stderr.split())  # rich wraps long lines
    assert "LOG_FILE_MISSING" in flat
    assert str(missing) in flat
    assert "tidak ada" in flat and "does not exist" in flat  # Indonesian and English
    assert "GARMENT_LOG__FILE" in flat and "log.file" in flat
    assert result.stdout == ""


@pytest.mark.usefixtures("cli_env")
async def test_logs_reads_the_backups_oldest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "garment.log"
    marker = uuid.uuid4().hex
    with logging_to(path, max_bytes=2048, backups=5):
        for number in range(60):
            structlog.get_logger("tests.ops").info("ops.rotated", n=number, marker=marker)
    assert len(LogFiles(path).files()) > 2
    point_cli_at(monkeypatch, path)
    result = await garment("logs", "--event", "ops.rotated", "--limit", "100", "--json")
    assert result.exit_code == 0, result.output
    numbers = [line["n"] for line in json_lines(result.stdout) if line.get("marker") == marker]
    assert numbers == sorted(numbers) and numbers[-1] == 59
    # --file reads another family (here the same one) whatever log.file says.
    monkeypatch.delenv("GARMENT_LOG__FILE")
    get_settings.cache_clear()
    direct = await garment("logs", "--file", str(path), "--event", "ops.rotated", "--limit", "1")
    assert direct.exit_code == 0, direct.output
    assert "ops.rotated" in direct.stdout
