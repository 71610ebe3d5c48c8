"""`garment incident timeline`: one merged, time-ordered view per request, user or tenant, built
from real requests, a provoked refresh replay, a provisioned tenant and a job run."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from garment.central.tenancy.jobs import PROVISION_TASK
from garment.central.tenancy.states import PROVISIONING_STEPS
from garment.platform.jobs import JobContext, JobQueue, TaskRegistry, WorkerOptions
from garment.runtime import Runtime
from tests.auth.conftest import login, make_user
from tests.conftest import garment
from tests.ops.test_logs import logging_to, point_cli_at, request_id
from tests.tenancy.conftest import create_tenant

ROW_KEYS = {"time", "source", "what", "request_id", "user", "tenant", "detail", "data"}
REFRESH = "/api/v1/auth/refresh"


def rows_of(output: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(output)
    assert isinstance(rows, list)
    for row in rows:
        assert set(row) == ROW_KEYS, row
        assert row["time"].endswith("Z")
    times = [row["time"] for row in rows]
    assert times == sorted(times), "rows are in time order"
    return rows


def index_of(rows: list[dict[str, Any]], source: str, what: str, **match: Any) -> int:
    for index, row in enumerate(rows):
        same = row["source"] == source and row["what"] == what
        if same and all(row.get(key) == value for key, value in match.items()):
            return index
    raise AssertionError(
        f"no {source} row {what} {match} in {[(r['source'], r['what']) for r in rows]}"
    )


async def refresh(client: httpx.AsyncClient, token: str, rid: str | None = None) -> httpx.Response:
    headers = {"X-Device-Fingerprint": "device-A", **({"X-Request-ID": rid} if rid else {})}
    return await client.post(REFRESH, json={"refresh_token": token}, headers=headers)


@pytest.mark.usefixtures("cli_env")
async def test_a_users_timeline_shows_login_replay_revocation_and_log_lines_in_order(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "garment.log"
    replay_id = request_id("replay")
    with logging_to(path):
        user = await make_user(runtime)
        gen0 = await login(client, user)
        gen1 = (await refresh(client, gen0["refresh_token"])).json()
        await refresh(client, gen1["refresh_token"])
        # A grandparent token is a replay even inside the grace window: the family dies.
        replay = await refresh(client, gen0["refresh_token"], replay_id)
        assert replay.json()["code"] == "AUTH_REFRESH_REPLAYED"
    point_cli_at(monkeypatch, path)

    result = await garment("incident", "timeline", "--user", user.email, "--json")
    assert result.exit_code == 0, result.output
    rows = rows_of(result.stdout)
    session_id = gen0["session_id"]

    login_activity = index_of(rows, "activity", "login_succeeded")
    created = index_of(rows, "session", "session.created")
    replayed = index_of(rows, "activity", "refresh_replay", request_id=replay_id)
    revoked = index_of(rows, "session", "session.revoked")
    replay_line = index_of(rows, "log", "request", request_id=replay_id)
    warning = index_of(rows, "log", "auth.suspicious_activity", request_id=replay_id)
    # The replay ends the session and records the activity in one transaction; the request's
    # own line is written once it has answered.
    assert created < login_activity < min(replayed, revoked)
    assert max(replayed, revoked) < warning < replay_line
    assert rows[replayed]["data"]["suspicious"] is True
    assert rows[replayed]["data"]["session_id"] == session_id
    assert "SUSPICIOUS refresh_replay" in rows[replayed]["detail"]
    assert "reason=refresh_replay" in rows[revoked]["detail"]
    assert rows[replay_line]["data"]["status"] == 401
    # The login request line carries no user id; it is found through the activity's request id.
    login_request = rows[login_activity]["request_id"]
    index_of(rows, "log", "request", request_id=login_request)
    assert {row["user"] for row in rows if row["source"] != "log"} == {str(user.id)}

    # The same timeline as a table, for reading.
    table = await garment("incident", "timeline", "--user", str(user.id))
    assert table.exit_code == 0, table.output
    assert "refresh_replay" in table.stdout and "session.revoked" in table.stdout
    assert replay_id in table.stdout


@pytest.mark.usefixtures("cli_env")
async def test_a_tenants_timeline_shows_its_stages_provisioning_steps_and_job(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "garment.log"
    with logging_to(path):
        owner = await make_user(runtime)
        tenant = await create_tenant(runtime, owner)
    point_cli_at(monkeypatch, path)

    result = await garment("incident", "timeline", "--tenant", tenant.slug, "--json")
    assert result.exit_code == 0, result.output
    rows = rows_of(result.stdout)
    tid = str(tenant.id)

    created = index_of(rows, "tenant", "tenant.created")
    job = index_of(rows, "job", "job.queued")
    assert rows[job]["data"]["task"] == PROVISION_TASK
    assert rows[job]["tenant"] == tid
    for step in PROVISIONING_STEPS:
        started = index_of(rows, "provisioning", f"provisioning.{step}.started")
        done = index_of(rows, "provisioning", f"provisioning.{step}.done")
        assert created < started < done
        index_of(rows, "log", "provisioning.step_done", tenant=tid)
    provisioned = index_of(rows, "tenant", "tenant.provisioned")
    assert created < provisioned
    owner_joined = index_of(rows, "tenant", "membership.created", user=str(owner.id))
    assert "roles=owner" in rows[owner_joined]["detail"]
    assert any(row["source"] == "outbox" and row["tenant"] == tid for row in rows)
    assert {row["tenant"] for row in rows} == {tid}

    by_id = await garment("incident", "timeline", "--tenant", tid, "--since", "1h", "--json")
    assert [row["what"] for row in rows_of(by_id.stdout)] == [row["what"] for row in rows]

    # `garment logs --tenant SLUG` finds the same provisioning lines by the slug.
    lines = await garment("logs", "--tenant", tenant.slug, "--json")
    assert lines.exit_code == 0, lines.output
    steps = [json.loads(line)["step"] for line in lines.stdout.splitlines()]
    assert steps == list(PROVISIONING_STEPS)


@pytest.mark.usefixtures("cli_env")
async def test_a_request_id_merges_log_lines_and_activities(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "garment.log"
    rid = request_id("login")
    with logging_to(path):
        user = await make_user(runtime)
        response = await client.post(
            "/api/v1/auth/login",
            json={"email": user.email, "password": user.password},
            headers={"X-Request-ID": rid, "X-Device-Fingerprint": "device-A"},
        )
        assert response.status_code == 200, response.text
        await login(client, user)  # another request of the same user: not in this timeline
    point_cli_at(monkeypatch, path)

    result = await garment("incident", "timeline", "--request-id", rid, "--json")
    assert result.exit_code == 0, result.output
    rows = rows_of(result.stdout)
    assert {row["request_id"] for row in rows} == {rid}
    assert {row["source"] for row in rows} >= {"log", "activity"}
    assert index_of(rows, "activity", "login_succeeded") < index_of(rows, "log", "request")
    assert index_of(rows, "activity", "login_succeeded", user=str(user.id)) >= 0


@pytest.mark.usefixtures("cli_env")
async def test_a_job_runs_request_id_shows_its_log_lines_and_status_changes(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job's lines carry `job-<id>-…`; the timeline adds the job's recorded status changes."""
    task = f"ops.timeline_{uuid.uuid4().hex[:8]}"
    registry = TaskRegistry()

    @registry.task(task, retries=0)
    async def noted(payload: dict[str, Any], job: JobContext) -> None:
        structlog.get_logger("tests.ops").info("ops.job_work", note=payload["note"])

    queue = JobQueue(
        runtime.targets.central.app_url,
        registry=registry,
        options=WorkerOptions(dequeue_timeout=timedelta(seconds=0.2)),
    )
    path = tmp_path / "garment.log"
    await queue.open()
    try:
        with logging_to(path):
            job_id = await queue.enqueue(task, {"note": "hello"})
            await queue.run_worker(concurrency=1, drain=True)
    finally:
        await queue.close()
    assert job_id is not None
    point_cli_at(monkeypatch, path)

    lines = await garment("logs", "--event", "ops.job_work", "--json")
    [work] = [json.loads(line) for line in lines.stdout.splitlines()]
    job_request = work["request_id"]
    assert job_request.startswith(f"job-{job_id}-")

    result = await garment("incident", "timeline", "--request-id", job_request, "--json")
    assert result.exit_code == 0, result.output
    rows = rows_of(result.stdout)
    queued = index_of(rows, "job", "job.queued")
    worked = index_of(rows, "log", "ops.job_work")
    succeeded = index_of(rows, "log", "job.succeeded")
    finished = index_of(rows, "job", "job.successful")
    assert queued < worked < succeeded
    assert queued < finished
    assert all(row["data"]["job_id"] == job_id for row in rows if row["source"] == "job")


@pytest.mark.usefixtures("cli_env")
async def test_timeline_refusals_and_a_missing_log_file(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    none_given = await garment("incident", "timeline")
    assert none_given.exit_code == 2
    assert "SUBJECT_REQUIRED" in none_given.stderr and "tepat satu" in none_given.stderr
    two_given = await garment("incident", "timeline", "--user", "a@example.com", "--tenant", "x")
    assert two_given.exit_code == 2

    point_cli_at(monkeypatch, tmp_path / "missing.log")
    unknown_user = await garment("incident", "timeline", "--user", "nobody-here@example.com")
    assert unknown_user.exit_code == 1
    assert "USER_NOT_FOUND" in unknown_user.stderr
    unknown_tenant = await garment("incident", "timeline", "--tenant", "no-such-tenant-here")
    assert unknown_tenant.exit_code == 1
    assert "TENANT_NOT_FOUND" in unknown_tenant.stderr

    # Without a log file the timeline still shows the database rows, and says what is missing.
    user = await make_user(runtime)
    result = await garment("incident", "timeline", "--user", user.email, "--json")
    assert result.exit_code == 0, result.output
    assert "LOG_FILE_NOT_READ" in result.stderr and "missing.log" in result.stderr
    assert all(row["source"] != "log" for row in rows_of(result.stdout))
