"""Liveness, readiness and metrics endpoints (outside /api/v1: for probes and scrapers)."""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from garment.platform.db import Database
from garment.platform.http.dependencies import app_services
from garment.platform.metrics import DB_UP, MetricsExporter

router = APIRouter(tags=["operations"])

READINESS_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class ProbeStatus(StrEnum):
    UP = "up"
    DOWN = "down"


class ReadinessStatus(StrEnum):
    READY = "ready"
    DEGRADED = "degraded"  # central up, a cluster down: only its tenants are affected
    NOT_READY = "not_ready"


class DatabaseCheck(BaseModel):
    status: ProbeStatus
    latency_ms: float | None = None
    error: str | None = Field(None, description="Error class only; never connection details.")


class Readiness(BaseModel):
    status: ReadinessStatus = Field(
        description="`degraded`: central is up but a cluster is down; only that cluster's "
        "tenants are affected, so the instance keeps serving."
    )
    central: DatabaseCheck
    clusters: dict[str, DatabaseCheck]


async def check_database(database: Database) -> DatabaseCheck:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(database.ping(), timeout=READINESS_TIMEOUT_SECONDS)
    except Exception as exc:
        DB_UP.labels(database.name).set(0)
        return DatabaseCheck(status=ProbeStatus.DOWN, error=type(exc).__name__)
    DB_UP.labels(database.name).set(1)
    latency = round((time.perf_counter() - started) * 1000, 2)
    return DatabaseCheck(status=ProbeStatus.UP, latency_ms=latency)


@router.get("/healthz", response_model=Liveness, summary="The process is alive")
async def healthz() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Central database and every cluster reachable",
    responses={
        503: {
            "model": Readiness,
            "description": "Central is down (or strict and a cluster is down).",
        }
    },
)
async def readyz(
    request: Request,
    response: Response,
    strict: Annotated[
        bool, Query(description="Answer 503 when any cluster is down, not only central.")
    ] = False,
) -> Readiness:
    services = app_services(request)
    central_db: Database = services.central
    cluster_dbs: dict[str, Database] = services.cluster_databases
    keys = sorted(cluster_dbs)
    results = await asyncio.gather(
        check_database(central_db), *(check_database(cluster_dbs[key]) for key in keys)
    )
    central, clusters = results[0], dict(zip(keys, results[1:], strict=True))
    clusters_down = any(check.status is ProbeStatus.DOWN for check in clusters.values())
    if central.status is ProbeStatus.DOWN:
        status = ReadinessStatus.NOT_READY
    else:
        status = ReadinessStatus.DEGRADED if clusters_down else ReadinessStatus.READY
    if status is ReadinessStatus.NOT_READY or (strict and status is ReadinessStatus.DEGRADED):
        response.status_code = 503
    return Readiness(status=status, central=central, clusters=clusters)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    exporter: MetricsExporter = app_services(request).metrics
    body, content_type = await exporter.render()
    return Response(content=body, media_type=content_type)
