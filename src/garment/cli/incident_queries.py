"""Read-only queries of `garment incident timeline` over the platform's own tables: the job queue
(pgqueuer's `pgqueuer` and `pgqueuer_log`) and the outbox (`outbox_events`).

The contexts' data (activities, sessions, tenants, provisioning steps, memberships) is read
through their services; these two tables belong to the platform layer, which has no operator
read API for them, so their SQL lives here, next to the one command that needs it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.events import OutboxEvent
from garment.platform.jobs import JobQueue, decode_payload

JOBS_NAMING = (
    "SELECT id, entrypoint, status::text AS status, attempts, created, updated, dedupe_key, "
    "payload FROM pgqueuer "
    "WHERE position(convert_to($1::text, 'UTF8') IN coalesce(payload, ''::bytea)) > 0 "
    "OR dedupe_key = ANY($2::text[]) "
    "ORDER BY id DESC LIMIT $3"
)
JOBS_BY_ID = (
    "SELECT id, entrypoint, status::text AS status, attempts, created, updated, dedupe_key, "
    "payload FROM pgqueuer WHERE id = ANY($1::bigint[])"
)
JOB_HISTORY = (
    "SELECT id, job_id, status::text AS status, created, entrypoint, traceback "
    "FROM pgqueuer_log WHERE job_id = ANY($1::bigint[]) AND created >= $2 "
    "ORDER BY created, id LIMIT $3"
)


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A job still in the queue table (queued, running, or held as failed)."""

    id: int
    task: str
    status: str
    attempts: int
    created: datetime
    updated: datetime
    dedupe_key: str | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class JobLogRow:
    """One status change of a job in pgqueuer's log (kept after the job row is gone)."""

    id: int
    job_id: int
    status: str
    at: datetime
    task: str
    traceback: dict[str, Any] | None


def _queued(row: Any) -> QueuedJob:
    return QueuedJob(
        id=int(row["id"]),
        task=str(row["entrypoint"]),
        status=str(row["status"]),
        attempts=int(row["attempts"]),
        created=row["created"],
        updated=row["updated"],
        dedupe_key=row["dedupe_key"],
        payload=decode_payload(row["payload"]),
    )


async def jobs_naming(
    jobs: JobQueue, needle: str, dedupe_keys: list[str], limit: int = 200
) -> list[QueuedJob]:
    """Jobs in the queue table whose payload contains `needle` (a user or tenant id) or whose
    dedupe key is one of `dedupe_keys`. Succeeded jobs leave this table: their history stays in
    `pgqueuer_log`, found through the job ids their log lines name."""
    rows = await jobs.pool.fetch(JOBS_NAMING, needle, dedupe_keys, limit)
    return [_queued(row) for row in rows]


async def jobs_by_id(jobs: JobQueue, job_ids: list[int]) -> list[QueuedJob]:
    rows = await jobs.pool.fetch(JOBS_BY_ID, job_ids)
    return [_queued(row) for row in rows]


async def job_history(
    jobs: JobQueue, job_ids: list[int], since: datetime, limit: int = 2000
) -> list[JobLogRow]:
    """Every recorded status change (queued, picked, successful, exception, …) of these jobs."""
    if not job_ids:
        return []
    rows = await jobs.pool.fetch(JOB_HISTORY, job_ids, since, limit)
    return [
        JobLogRow(
            id=int(row["id"]),
            job_id=int(row["job_id"]),
            status=str(row["status"]),
            at=row["created"],
            task=str(row["entrypoint"]),
            traceback=_json_object(row["traceback"]),
        )
        for row in rows
    ]


def _json_object(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    decoded = json.loads(value) if isinstance(value, str | bytes) else value
    return decoded if isinstance(decoded, dict) else {"value": decoded}


async def outbox_events_about(
    session: AsyncSession,
    *,
    since: datetime,
    request_id: str | None = None,
    mentioning: uuid.UUID | None = None,
    limit: int = 500,
) -> list[OutboxEvent]:
    """Outbox events since `since` published in request `request_id`, or whose payload names
    `mentioning` (any member: `user_id`, `tenant_id`, `owner_user_id`, …), newest first.
    Delivered events are purged after `jobs.outbox_retention_days`."""
    criteria = []
    if request_id is not None:
        criteria.append(OutboxEvent.request_id == request_id)
    if mentioning is not None:
        criteria.append(cast(OutboxEvent.payload, Text).contains(str(mentioning)))
    if not criteria:
        return []
    statement = (
        select(OutboxEvent)
        .where(OutboxEvent.occurred_at >= since, or_(*criteria))
        .order_by(OutboxEvent.occurred_at.desc(), OutboxEvent.id.desc())
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars().all())
