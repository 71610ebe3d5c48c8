"""What operators have for a tenant's outbound webhooks: `garment webhooks status` (the backlog
of each endpoint and the message at its head), `garment webhooks replay`, the attempt metrics
and each cluster's backlog, measured by the sweep and exported by every process."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url

from garment.config import WebhookSettings
from garment.platform.errors import CLUSTER_UNAVAILABLE, AppError
from garment.platform.jobs import JobContext
from garment.runtime import Runtime
from garment.tenant.webhooks.jobs import sweep
from tests.conftest import garment
from tests.tenancy.conftest import tenant_setup
from tests.tenant.conftest import owner_of
from tests.webhooks.conftest import Receiver, create_endpoint, deliver_all, emit, order_created


def attempts_counted(outcome: str) -> float:
    value = REGISTRY.get_sample_value("garment_webhook_attempts_total", {"outcome": outcome})
    return value or 0.0


async def status_of(tenant: str) -> list[dict[str, Any]]:
    result = await garment("webhooks", "status", tenant, "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


@pytest.mark.usefixtures("cli_env")
async def test_status_shows_the_backlog_and_an_operator_replay_delivers_the_same_bytes(
    runtime: Runtime,
    client: httpx.AsyncClient,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    fast_retries: WebhookSettings,
) -> None:
    setup = await tenant_setup(runtime, client)
    endpoint = await create_endpoint(client, owner_of(setup), receiver, "/erp", ["order.created"])
    failed_before = attempts_counted("failed")
    receiver.scripts["/erp"] = [503] * fast_retries.max_attempts
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id))
    await deliver_all(runtime)  # every attempt refused: the message is given up
    assert attempts_counted("failed") - failed_before == fast_retries.max_attempts

    [row] = await status_of(setup.slug)
    assert (row["id"], row["status"], row["pending"], row["failed"]) == (
        endpoint["id"],
        "enabled",
        0,
        1,
    )
    assert row["head_webhook_id"] is None and row["last_delivered_at"] is None
    given_up = receiver.at("/erp")[0]

    replayed = await garment(
        "webhooks", "replay", setup.slug, endpoint["id"], given_up.webhook_id, "--json"
    )
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["status"] == "pending"
    await deliver_all(runtime)
    delivered = receiver.at("/erp")[-1]
    assert (delivered.answered, delivered.body, delivered.webhook_id) == (
        200,
        given_up.body,
        given_up.webhook_id,
    )
    [row] = await status_of(setup.slug)
    assert (row["pending"], row["failed"]) == (0, 0) and row["last_delivered_at"] is not None

    # A message waiting for its next attempt is the head: every later message waits behind it.
    slow = WebhookSettings(retry_base_seconds=3600, max_attempts=5, timeout_seconds=5)
    monkeypatch.setattr(runtime.webhooks, "settings", slow)
    receiver.scripts["/erp"] = [500]
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, "SO-2026-00002"))
    await runtime.relay.drain()  # the message exists; one delivery run, as the job makes it
    wait = await runtime.webhooks.deliver_endpoint(
        runtime.cluster_manager.tenant_transaction,
        setup.cluster,
        setup.tenant_id,
        uuid.UUID(endpoint["id"]),
    )
    assert wait is not None and wait.total_seconds() > 3000  # the next attempt is an hour away
    [row] = await status_of(setup.slug)
    assert row["pending"] == 1 and row["oldest_pending_at"].endswith("Z")
    assert row["head_event_type"] == "order.created" and row["head_attempts"] == 1
    assert row["head_last_error"] and "500" in row["head_last_error"]

    table = await garment("webhooks", "status", setup.slug)
    assert table.exit_code == 0, table.output
    assert "1 tries" in table.stdout


@pytest.mark.usefixtures("cli_env")
async def test_unknown_or_unprovisioned_tenants_and_messages_are_refused_in_one_line(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    unknown = await garment("webhooks", "status", "no-such-tenant")
    assert unknown.exit_code == 1
    assert "TENANT_NOT_FOUND" in unknown.output
    setup = await tenant_setup(runtime, client)
    missing = await garment(
        "webhooks",
        "replay",
        setup.slug,
        "00000000-0000-4000-8000-000000000000",
        "msg_2Dpz8yq1R3m0Wc4BZk5Nf7aTe9x",
    )
    assert missing.exit_code == 1
    assert "RESOURCE_NOT_FOUND" in missing.output


async def pending_on(superuser_url: str, runtime: Runtime, cluster: str) -> tuple[int, float]:
    """The cluster's pending messages over every tenant, counted as a superuser (past RLS)."""
    database = make_url(runtime.targets.clusters[cluster].app_url).database
    url = make_url(superuser_url).set(drivername="postgresql", database=database)
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        count, oldest = await connection.fetchrow(
            "SELECT count(*), min(created_at) FROM webhook_messages WHERE status = 'pending'"
        )
    finally:
        await connection.close()
    return int(count), oldest.timestamp() if oldest else 0.0


async def test_the_sweep_measures_each_clusters_backlog_for_every_processs_metrics(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver, pg_superuser_url: str
) -> None:
    setup = await tenant_setup(runtime, client)
    await create_endpoint(client, owner_of(setup), receiver, "/erp", ["order.created"])
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id))
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id, "SO-2026-00002"))
    await runtime.relay.drain()  # the listener turns each event into a pending message

    await sweep({}, JobContext(job_id=0, attempt=1, services=runtime))
    await runtime.metrics.render()  # any process's scrape exports what the sweep stored

    clusters = runtime.cluster_manager.configured_keys()
    for cluster in clusters:
        pending, oldest = await pending_on(pg_superuser_url, runtime, cluster)
        labels = {"cluster": cluster}
        assert REGISTRY.get_sample_value("garment_webhook_messages_pending", labels) == pending
        assert REGISTRY.get_sample_value(
            "garment_webhook_oldest_pending_timestamp_seconds", labels
        ) == pytest.approx(oldest, abs=0.001)
    assert (await pending_on(pg_superuser_url, runtime, setup.cluster))[0] >= 2
    assert time.time() - taken_at(setup.cluster) < 60


def taken_at(cluster: str) -> float:
    taken = REGISTRY.get_sample_value(
        "garment_measurement_timestamp_seconds",
        {"measurement": "webhook_messages_pending", "series": cluster},
    )
    assert taken is not None
    return taken


async def test_a_cluster_the_sweep_cannot_reach_keeps_its_last_measurement_and_the_rest_go_on(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = await tenant_setup(runtime, client)
    await sweep({}, JobContext(job_id=0, attempt=1, services=runtime))
    await runtime.metrics.render()
    labels = {"cluster": setup.cluster}
    before = REGISTRY.get_sample_value("garment_webhook_messages_pending", labels)
    first_taken = taken_at(setup.cluster)
    manager = runtime.cluster_manager
    reachable = manager.tenant_transaction

    def down_for_this_cluster(key: str, tenant_id: uuid.UUID) -> Any:
        if key == setup.cluster:
            raise AppError(CLUSTER_UNAVAILABLE)
        return reachable(key, tenant_id)

    monkeypatch.setattr(manager, "tenant_transaction", down_for_this_cluster)
    await sweep({}, JobContext(job_id=0, attempt=1, services=runtime))  # no error
    await runtime.metrics.render()

    assert REGISTRY.get_sample_value("garment_webhook_messages_pending", labels) == before
    assert taken_at(setup.cluster) == first_taken  # the alert sees this series age
    for other in set(manager.configured_keys()) - {setup.cluster}:
        assert taken_at(other) > first_taken  # every other cluster was measured again
