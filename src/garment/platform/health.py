"""Liveness, readiness and metrics endpoints (outside /api/v1: for probes and scrapers)."""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from garment.platform.db import Database, describe_failure, where
from garment.platform.http.dependencies import app_services
from garment.platform.http.routing import Router
from garment.platform.metrics import DB_UP, JOB_OLDEST_QUEUED, MetricsExporter
from garment.platform.supervisor import JOB_WORKER, live_processes, oldest_queued_job_seconds

router = Router(tags=["operations"])

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
    error: str | None = Field(
        None,
        description="The driver's error class and SQLSTATE, e.g. `ConnectionRefusedError` or "
        "`ObjectInUseError [55006]`. Never hosts or messages (this endpoint is public): "
        "`garment doctor` and `garment clusters probe` show the full message and where.",
    )
    detail: str | None = Field(None, exclude=True)  # the operator's view, kept off the wire


class LoopCheck(BaseModel):
    alive: bool
    restarts: int
    last_progress: float | None = Field(None, description="Unix time of the last progress.")
    last_error: str | None = Field(None, description="Why it last stopped, if it did.")


class JobsCheck(BaseModel):
    status: Literal["ok", "waiting", "unknown"] = Field(
        description="`waiting`: a due job has waited longer than `jobs.max_queue_wait_seconds` "
        "(no worker runs anywhere, or every worker is stuck)."
    )
    oldest_queued_seconds: float | None = None
    live_workers: int | None = Field(
        None, description="Processes whose job worker reported itself alive in the last 30 s."
    )


class Readiness(BaseModel):
    status: ReadinessStatus = Field(
        description="`degraded`: the instance keeps serving, but central is up while a cluster "
        "is down (only its tenants are affected), a background loop of this process is down, "
        "or jobs wait too long for a worker."
    )
    central: DatabaseCheck
    clusters: dict[str, DatabaseCheck]
    background: dict[str, LoopCheck] = Field(
        default_factory=dict, description="This process's supervised loops (none with --no-worker)."
    )
    jobs: JobsCheck


def error_class(error: BaseException) -> str:
    """The innermost driver error's class and SQLSTATE (what /readyz may say publicly)."""
    innermost, seen = error, set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        innermost = current
        current = current.__cause__ or current.__context__
    sqlstate = getattr(innermost, "sqlstate", None)
    if isinstance(innermost, TimeoutError):
        return "TimeoutError"
    return type(innermost).__name__ + (f" [{sqlstate}]" if sqlstate else "")


async def check_database(database: Database) -> DatabaseCheck:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(database.ping(), timeout=READINESS_TIMEOUT_SECONDS)
    except Exception as exc:
        DB_UP.labels(database.name).set(0)
        return DatabaseCheck(
            status=ProbeStatus.DOWN,
            error=error_class(exc),
            detail=f"{describe_failure(exc)} (at {where(database.url)})",
        )
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
    supervisor = services.supervisor
    loops = {
        name: LoopCheck(**state)
        for name, state in (supervisor.loops() if supervisor else {}).items()
    }
    jobs = (
        await check_jobs(central_db, services.settings.jobs.max_queue_wait_seconds)
        if central.status is ProbeStatus.UP
        else JobsCheck(status="unknown")
    )
    troubled = (
        clusters_down or any(not loop.alive for loop in loops.values()) or jobs.status == "waiting"
    )
    if central.status is ProbeStatus.DOWN:
        status = ReadinessStatus.NOT_READY
    else:
        status = ReadinessStatus.DEGRADED if troubled else ReadinessStatus.READY
    if status is ReadinessStatus.NOT_READY or (strict and status is ReadinessStatus.DEGRADED):
        response.status_code = 503
    return Readiness(status=status, central=central, clusters=clusters, background=loops, jobs=jobs)


async def check_jobs(database: Database, max_wait_seconds: float) -> JobsCheck:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with database.transaction() as session:
                oldest = await oldest_queued_job_seconds(session)
                workers = [p for p in await live_processes(session) if p.runs_alive(JOB_WORKER)]
    except Exception:  # central answered the ping a moment ago; a slow query is not an outage
        return JobsCheck(status="unknown")
    JOB_OLDEST_QUEUED.set(oldest)
    status: Literal["ok", "waiting"] = "waiting" if oldest > max_wait_seconds else "ok"
    return JobsCheck(
        status=status, oldest_queued_seconds=round(oldest, 1), live_workers=len(workers)
    )


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
