"""`garment jobs ...` / `garment events ...` and CLI filters: a typo is a refusal, not silence."""

from __future__ import annotations

import json

import pytest

from tests.conftest import garment

pytestmark = pytest.mark.usefixtures("cli_env")


async def test_jobs_failed_json_is_a_list() -> None:
    result = await garment("jobs", "failed", "--json")
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.output), list)


async def test_retrying_an_unknown_job_or_event_exits_1_and_names_it() -> None:
    jobs = await garment("jobs", "retry", "987654321")
    assert jobs.exit_code == 1, jobs.output
    assert "987654321" in jobs.output and "garment jobs failed" in jobs.output
    events = await garment("events", "retry", "987654321")
    assert events.exit_code == 1, events.output
    assert "987654321" in events.output


async def test_unknown_filter_values_are_refused_with_the_known_ones() -> None:
    cluster = await garment("tenants", "list", "--cluster", "no-such-cluster")
    assert cluster.exit_code == 1, cluster.output
    assert "CLUSTER_NOT_FOUND" in cluster.output and "registered:" in cluster.output
    reason = await garment("auth", "activities", "--reason", "no_such_reason")
    assert reason.exit_code == 2, reason.output
    assert "refresh_replay" in reason.output  # the error lists the valid values
    status = await garment("tenants", "list", "--status", "sleeping")
    assert status.exit_code == 2
    assert "active" in status.output
