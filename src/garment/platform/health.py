"""Liveness, readiness and metrics endpoints (outside /api/v1: for probes and scrapers)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from garment.platform.db import Database
from garment.platform.http.dependencies import RuntimeDep
from garment.platform.metrics import DB_UP

router = APIRouter(tags=["operations"])

READINESS_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class DatabaseCheck(BaseModel):
    status: Literal["up", "down"]
    latency_ms: float | None = None
    error: str | None = Field(None, description="Error class only; never connection details.")


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "not_ready"] = Field(
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
        return DatabaseCheck(status="down", error=type(exc).__name__)
    DB_UP.labels(database.name).set(1)
    return DatabaseCheck(status="up", latency_ms=round((time.perf_counter() - started) * 1000, 2))


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
    runtime: RuntimeDep,
    response: Response,
    strict: Annotated[
        bool, Query(description="Answer 503 when any cluster is down, not only central.")
    ] = False,
) -> Readiness:
    keys = sorted(runtime.clusters)
    results = await asyncio.gather(
        check_database(runtime.central),
        *(check_database(runtime.clusters[key]) for key in keys),
    )
    central, clusters = results[0], dict(zip(keys, results[1:], strict=True))
    clusters_down = any(check.status == "down" for check in clusters.values())
    if central.status == "down":
        status: Literal["ready", "degraded", "not_ready"] = "not_ready"
    else:
        status = "degraded" if clusters_down else "ready"
    if status == "not_ready" or (strict and status == "degraded"):
        response.status_code = 503
    return Readiness(status=status, central=central, clusters=clusters)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    body, content_type = await runtime.metrics.render()
    return Response(content=body, media_type=content_type)
