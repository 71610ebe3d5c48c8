"""/healthz, /readyz (central and every cluster, per-cluster detail) and /metrics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from garment.app import create_app
from garment.platform.dbsetup import DatabaseTarget, Targets, ensure_layout
from garment.runtime import Runtime
from tests.conftest import StoppableServer, make_client, settings_for, unique_layout


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_central_and_each_cluster(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["central"]["status"] == "up"
    assert set(body["clusters"]) == {"default", "secondary"}
    assert all(check["status"] == "up" for check in body["clusters"].values())


async def test_metrics_exposes_request_and_queue_series(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'garment_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "garment_outbox_events" in text
    assert "garment_jobs" in text
    assert "garment_db_pool_connections" in text


async def test_a_stopped_cluster_degrades_readiness_without_failing_it(
    targets: Targets,
    tmp_path: Path,
    stoppable_server_factory: Callable[[], StoppableServer],
) -> None:
    server = stoppable_server_factory()
    remote = ensure_layout(server.superuser_url, unique_layout("gr"))
    flaky = remote.clusters["default"]
    clusters = {
        **targets.clusters,
        "flaky": DatabaseTarget("flaky", flaky.app_url, flaky.owner_url),
    }
    settings = settings_for(Targets(targets.central, clusters), tmp_path)
    runtime = await Runtime.create(settings, migrate=False)
    try:
        async with make_client(create_app(runtime=runtime)) as http:
            assert (await http.get("/readyz")).json()["status"] == "ready"
            server.stop()
            degraded = await http.get("/readyz")
            assert degraded.status_code == 200
            body = degraded.json()
            assert body["status"] == "degraded"
            assert body["clusters"]["flaky"]["status"] == "down"
            assert body["clusters"]["default"]["status"] == "up"
            assert "postgresql://" not in degraded.text
            strict = await http.get("/readyz", params={"strict": "true"})
            assert strict.status_code == 503
            server.start()
            assert (await http.get("/readyz")).json()["status"] == "ready"
    finally:
        await runtime.close()
