"""`garment incident timeline`: one time-ordered view of everything recorded about a request, a
user or a tenant — the start of an incident record (docs/26-incident-record-template.md).

Sources, each read-only: the services' log file (`log.file`, through `logs_cmd.LogFiles`), auth
activities, the user's sessions, the tenant's row, memberships and invitations, provisioning
steps, jobs (pgqueuer's queue and status log) and outbox events. There is no tenant status
history table: a tenant's stages come from its timestamps (`created_at`, `provisioned_at`,
`suspended_at`, `cancelled_at`, and `updated_at` for the last change of any kind).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from garment.central.auth.service import ActivityFilter
from garment.central.tenancy.jobs import provisioning_dedupe_key
from garment.cli.base import app, execute, load_cli_settings
from garment.cli.incident_queries import (
    JobLogRow,
    QueuedJob,
    job_history,
    jobs_by_id,
    jobs_naming,
    outbox_events_about,
)
from garment.cli.logs_cmd import (
    ENABLE_HINT,
    LINES_SKIPPED,
    RESULTS_TRUNCATED,
    Column,
    LogEntry,
    LogFiles,
    Notice,
    Refused,
    compact,
    level_rank,
    parse_since,
    print_table,
    refuse,
    resolve_tenant,
    resolve_user,
    short_id,
    table_time,
    warn,
)
from garment.platform.i18n import Message
from garment.runtime import Runtime

incident_app = typer.Typer(
    help="Incident investigation: what happened to a request, a user or a tenant.",
    no_args_is_help=True,
)
app.add_typer(incident_app, name="incident")

SUBJECT_REQUIRED = Notice(
    "SUBJECT_REQUIRED",
    Message(
        "Sebutkan tepat satu dari --request-id, --user atau --tenant.",
        "Give exactly one of --request-id, --user or --tenant.",
    ),
)
LOGS_LEFT_OUT = Notice(
    "LOG_FILE_NOT_READ",
    Message(
        "Berkas log tidak dibaca ({reason_id}); linimasa hanya berisi baris dari database.",
        "The log file was not read ({reason_en}); the timeline shows database rows only.",
    ),
    ENABLE_HINT,
)

# A job's log lines carry the request id `job-<job id>-<random>` (platform/jobs.py).
JOB_REQUEST_ID = re.compile(r"^job-(\d+)-")
# Stage timestamps this close together are one change (the row's defaults differ by microseconds).
SAME_CHANGE = timedelta(seconds=1)


class Source(StrEnum):
    LOG = "log"
    ACTIVITY = "activity"
    SESSION = "session"
    TENANT = "tenant"
    PROVISIONING = "provisioning"
    JOB = "job"
    OUTBOX = "outbox"
    # Planned: WEBHOOK = "webhook" (billing webhook receipts, see `webhook_rows` below).


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One thing that happened. `detail` is a one-line summary; `data` keeps the source's
    fields whole for `--json`."""

    at: datetime
    source: Source
    what: str
    request_id: str | None = None
    user: str | None = None
    tenant: str | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "time": iso_utc(self.at),
            "source": self.source.value,
            "what": self.what,
            "request_id": self.request_id,
            "user": self.user,
            "tenant": self.tenant,
            "detail": self.detail,
            "data": self.data,
        }


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: object) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Subject:
    """What the timeline is about, resolved to ids."""

    label: str
    request_id: str | None = None
    user_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None


@dataclass
class Collected:
    rows: list[TimelineRow] = field(default_factory=list)
    request_ids: set[str] = field(default_factory=set)  # seen in database rows
    job_ids: set[int] = field(default_factory=set)

    def add(self, rows: Iterable[TimelineRow]) -> None:
        for row in rows:
            self.rows.append(row)
            if row.request_id:
                self.request_ids.add(row.request_id)


# --- database sources -------------------------------------------------------------------------


async def activity_rows(runtime: Runtime, subject: Subject, since: datetime) -> list[TimelineRow]:
    criteria = ActivityFilter(
        user_id=subject.user_id,
        tenant_id=subject.tenant_id,
        request_id=subject.request_id,
        since=since,
    )
    async with runtime.central.transaction() as session:
        activities = await runtime.auth.activities.history(session, criteria, limit=1000)
    rows = []
    for a in activities:
        notes = [f"SUSPICIOUS {a.reason}"] if a.suspicious else []
        if a.session_id:
            notes.append(f"session={a.session_id}")
        if a.ip:
            notes.append(f"ip={a.ip}")
        if a.details:
            notes.append(compact(a.details, skip=()))
        rows.append(
            TimelineRow(
                at=a.occurred_at,
                source=Source.ACTIVITY,
                what=a.type,
                request_id=a.request_id,
                user=_text(a.user_id),
                tenant=_text(a.tenant_id),
                detail=" ".join(notes),
                data={
                    "id": a.id,
                    "session_id": _text(a.session_id),
                    "actor_id": _text(a.actor_id),
                    "suspicious": a.suspicious,
                    "reason": a.reason,
                    "ip": a.ip,
                    "user_agent": a.user_agent,
                    "details": a.details,
                },
            )
        )
    return rows


async def session_rows(runtime: Runtime, subject: Subject, since: datetime) -> list[TimelineRow]:
    if subject.user_id is None:
        return []
    async with runtime.central.transaction() as session:
        sessions = await runtime.auth.sessions.history_of(session, subject.user_id, since)
    rows = []
    for s in sessions:
        data = {
            "session_id": str(s.id),
            "ip": s.ip,
            "user_agent": s.user_agent,
            "amr": s.amr,
            "revoked_at": iso_utc(s.revoked_at) if s.revoked_at else None,
            "revoke_reason": s.revoke_reason,
            "revoked_by": _text(s.revoked_by),
        }
        user = str(s.user_id)
        rows.append(
            TimelineRow(
                at=s.created_at,
                source=Source.SESSION,
                what="session.created",
                user=user,
                detail=f"session={s.id} ip={s.ip or '-'} amr={','.join(s.amr)}",
                data=data,
            )
        )
        if s.revoked_at is not None:
            by = f" by={s.revoked_by}" if s.revoked_by else ""
            rows.append(
                TimelineRow(
                    at=s.revoked_at,
                    source=Source.SESSION,
                    what="session.revoked",
                    user=user,
                    detail=f"session={s.id} reason={s.revoke_reason or '-'}{by}",
                    data=data,
                )
            )
    return rows


async def tenant_rows(runtime: Runtime, subject: Subject, since: datetime) -> list[TimelineRow]:
    """The tenant's stages, provisioning steps, memberships and invitations; for a user, their
    memberships."""
    rows: list[TimelineRow] = []
    async with runtime.central.transaction() as session:
        if subject.tenant_id is not None:
            tenant = subject.tenant_id
            lifecycle = await runtime.tenancy.lifecycle(session, tenant)
            steps = await runtime.tenancy.provisioning_steps(session, tenant)
            members = await runtime.tenancy.membership_history(session, tenant_id=tenant)
            invitations = await runtime.tenancy.invitation_history(session, tenant)
        elif subject.user_id is not None:
            lifecycle, steps, invitations = None, [], []
            members = await runtime.tenancy.membership_history(session, user_id=subject.user_id)
        else:
            return []
    if lifecycle is not None:
        tid = str(lifecycle.id)
        base = {"slug": lifecycle.slug, "status": str(lifecycle.status)}
        stages = [
            ("tenant.created", lifecycle.created_at),
            ("tenant.provisioned", lifecycle.provisioned_at),
            ("tenant.suspended", lifecycle.suspended_at),
            ("tenant.cancelled", lifecycle.cancelled_at),
        ]
        for what, at in stages:
            if at is None:
                continue
            detail = f"slug={lifecycle.slug}"
            if what == "tenant.created":
                detail += f" owner={lifecycle.owner_user_id} cluster={lifecycle.cluster_key or '-'}"
            rows.append(TimelineRow(at, Source.TENANT, what, tenant=tid, detail=detail, data=base))
        if all(abs(lifecycle.updated_at - at) > SAME_CHANGE for _, at in stages if at):
            rows.append(
                TimelineRow(
                    lifecycle.updated_at,
                    Source.TENANT,
                    "tenant.updated",
                    tenant=tid,
                    detail=f"last change of the row; status now {lifecycle.status}",
                    data=base,
                )
            )
        for step in steps:
            data = {"step": step.step, "status": str(step.status), "attempts": step.attempts}
            if step.started_at is not None:
                rows.append(
                    TimelineRow(
                        step.started_at,
                        Source.PROVISIONING,
                        f"provisioning.{step.step}.started",
                        tenant=tid,
                        detail=f"attempt {step.attempts}",
                        data=data,
                    )
                )
            if step.finished_at is not None:
                rows.append(
                    TimelineRow(
                        step.finished_at,
                        Source.PROVISIONING,
                        f"provisioning.{step.step}.{step.status}",
                        tenant=tid,
                        detail=step.error or "",
                        data={**data, "error": step.error},
                    )
                )
        for invitation in invitations:
            data = {
                "invitation_id": str(invitation.id),
                "email": invitation.email,
                "roles": list(invitation.role_keys),
            }
            outcomes = [
                ("invitation.created", invitation.created_at, invitation.invited_by),
                ("invitation.accepted", invitation.accepted_at, invitation.accepted_by),
                ("invitation.revoked", invitation.revoked_at, None),
            ]
            detail = f"{invitation.email} roles={','.join(invitation.role_keys)}"
            for what, at, who in outcomes:
                if at is not None:
                    rows.append(
                        TimelineRow(
                            at,
                            Source.TENANT,
                            what,
                            user=_text(who),
                            tenant=tid,
                            detail=detail,
                            data=data,
                        )
                    )
    for member in members:
        data = {"status": str(member.status), "roles": list(member.role_keys)}
        roles = ",".join(member.role_keys) or "-"
        user, tenant_text = str(member.user_id), str(member.tenant_id)
        rows.append(
            TimelineRow(
                member.created_at,
                Source.TENANT,
                "membership.created",
                user=user,
                tenant=tenant_text,
                detail=f"roles={roles}",
                data=data,
            )
        )
        if member.updated_at - member.created_at > SAME_CHANGE:
            rows.append(
                TimelineRow(
                    member.updated_at,
                    Source.TENANT,
                    "membership.updated",
                    user=user,
                    tenant=tenant_text,
                    detail=f"status now {member.status} roles={roles}",
                    data=data,
                )
            )
    return rows


async def outbox_rows(runtime: Runtime, subject: Subject, since: datetime) -> list[TimelineRow]:
    mentioning = subject.user_id or subject.tenant_id
    async with runtime.central.transaction() as session:
        events = await outbox_events_about(
            session, since=since, request_id=subject.request_id, mentioning=mentioning
        )
    rows = []
    for event in events:
        payload = event.payload or {}
        if event.dead_at is not None:
            state = f"DEAD after {event.attempts} attempt(s): {(event.last_error or '')[:200]}"
        elif event.delivered_at is not None:
            seconds = (event.delivered_at - event.occurred_at).total_seconds()
            state = f"delivered {seconds:.1f}s later"
        else:
            state = f"pending, {event.attempts} attempt(s)"
        rows.append(
            TimelineRow(
                at=event.occurred_at,
                source=Source.OUTBOX,
                what=event.name,
                request_id=event.request_id,
                user=_text(payload.get("user_id") or payload.get("owner_user_id")),
                tenant=_text(payload.get("tenant_id")),
                detail=f"event #{event.id} {state}",
                data={
                    "id": event.id,
                    "event_id": str(event.event_id),
                    "payload": payload,
                    "attempts": event.attempts,
                    "delivered_at": iso_utc(event.delivered_at) if event.delivered_at else None,
                    "dead_at": iso_utc(event.dead_at) if event.dead_at else None,
                    "last_error": event.last_error,
                },
            )
        )
    return rows


async def queued_jobs(runtime: Runtime, subject: Subject) -> list[QueuedJob]:
    """Jobs in the queue table naming the user or tenant (succeeded jobs have left it)."""
    if subject.tenant_id is not None:
        keys = [provisioning_dedupe_key(subject.tenant_id)]
        return await jobs_naming(runtime.jobs, str(subject.tenant_id), keys)
    if subject.user_id is not None:
        return await jobs_naming(runtime.jobs, str(subject.user_id), [])
    return []


def job_rows(
    history: list[JobLogRow], current: list[QueuedJob], since: datetime
) -> list[TimelineRow]:
    """A row per recorded status change of each job, and one for a job held as failed."""
    payloads = {job.id: job.payload for job in current}
    rows = []
    for change in history:
        payload = payloads.get(change.job_id, {})
        detail = f"{change.task} #{change.job_id}"
        if change.traceback:
            detail += " " + compact(change.traceback, skip=(), width=200)
        rows.append(
            TimelineRow(
                at=change.at,
                source=Source.JOB,
                what=f"job.{change.status}",
                user=_text(payload.get("user_id")),
                tenant=_text(payload.get("tenant_id")),
                detail=detail,
                data={
                    "job_id": change.job_id,
                    "task": change.task,
                    "payload": payload,
                    "traceback": change.traceback,
                },
            )
        )
    logged = {change.job_id for change in history}
    for job in current:
        held = job.status == "failed"
        if job.id in logged and not held:
            continue
        at = job.updated if held else job.created
        if at < since:
            continue
        detail = f"{job.task} #{job.id} attempts={job.attempts}"
        if held:
            detail += f"; held after its last retry: `garment jobs retry {job.id}`"
        rows.append(
            TimelineRow(
                at=at,
                source=Source.JOB,
                what="job.held" if held else f"job.{job.status}",
                user=_text(job.payload.get("user_id")),
                tenant=_text(job.payload.get("tenant_id")),
                detail=detail,
                data={
                    "job_id": job.id,
                    "task": job.task,
                    "status": job.status,
                    "attempts": job.attempts,
                    "payload": job.payload,
                },
            )
        )
    return rows


# Billing webhook receipts (playbook 3) are the next source, once central billing records them
# (no such table exists yet): a `webhook_rows(runtime, subject, since)` reading them through the
# billing service, with `Source.WEBHOOK`, appended here. Nothing stands in for it meanwhile.
DATABASE_SOURCES: tuple[
    Callable[[Runtime, Subject, datetime], Awaitable[list[TimelineRow]]], ...
] = (activity_rows, session_rows, tenant_rows, outbox_rows)


# --- log lines ----------------------------------------------------------------------------------


def related_log_entries(
    files: LogFiles, subject: Subject, since: datetime, request_ids: set[str]
) -> list[LogEntry]:
    """Lines naming the subject or one of `request_ids`, then every other line of the requests
    (and jobs) those lines belong to."""
    wanted_ids = set(request_ids)
    if subject.request_id:
        wanted_ids.add(subject.request_id)
    user = str(subject.user_id) if subject.user_id else None
    tenant = str(subject.tenant_id) if subject.tenant_id else None
    needles = wanted_ids | {value for value in (user, tenant) if value}

    def names_subject(entry: LogEntry) -> bool:
        fields = entry.fields
        return (
            entry.request_id in wanted_ids
            or (user is not None and fields.get("user_id") == user)
            or (tenant is not None and fields.get("tenant_id") == tenant)
        )

    found = [e for e in files.entries(since=since, needles=needles) if names_subject(e)]
    more = {e.request_id for e in found if e.request_id} - wanted_ids
    if more:
        seen = {e.position for e in found}
        found += [
            e
            for e in files.entries(since=since, needles=more)
            if e.request_id in more and e.position not in seen
        ]
    return found


def job_ids_in(entries: Iterable[LogEntry]) -> set[int]:
    ids = set()
    for entry in entries:
        job_id = entry.fields.get("job_id")
        if isinstance(job_id, int):
            ids.add(job_id)
        matched = JOB_REQUEST_ID.match(entry.request_id or "")
        if matched:
            ids.add(int(matched.group(1)))
    return ids


def log_row(entry: LogEntry) -> TimelineRow:
    fields = entry.fields
    level = str(fields.get("level", ""))
    prefix = f"{level.upper()} " if level_rank(level) >= level_rank("warning") else ""
    return TimelineRow(
        at=entry.at or datetime.min.replace(tzinfo=UTC),
        source=Source.LOG,
        what=str(fields.get("event", "")),
        request_id=entry.request_id,
        user=_text(fields.get("user_id")),
        tenant=_text(fields.get("tenant_id")),
        detail=prefix + compact(fields),
        data=fields,
    )


# --- putting it together ----------------------------------------------------------------------


async def build_timeline(
    runtime: Runtime,
    *,
    request_id: str | None,
    user: str | None,
    tenant: str | None,
    since: datetime,
    files: LogFiles | None,
) -> tuple[Subject, list[TimelineRow]]:
    if request_id is not None:
        subject = Subject(f"request {request_id}", request_id=request_id)
    elif user is not None:
        subject = Subject(f"user {user}", user_id=await resolve_user(runtime, user))
    else:
        assert tenant is not None
        subject = Subject(f"tenant {tenant}", tenant_id=await resolve_tenant(runtime, tenant))
    collected = Collected()
    for source in DATABASE_SOURCES:
        collected.add(await source(runtime, subject, since))
    current = await queued_jobs(runtime, subject)
    collected.job_ids.update(job.id for job in current)
    if subject.request_id and (matched := JOB_REQUEST_ID.match(subject.request_id)):
        collected.job_ids.add(int(matched.group(1)))
    if files is not None:
        entries = await asyncio.to_thread(
            related_log_entries, files, subject, since, collected.request_ids
        )
        collected.rows += [log_row(entry) for entry in entries]
        collected.job_ids |= job_ids_in(entries)
    job_ids = sorted(collected.job_ids)
    known = {job.id for job in current}
    current += await jobs_by_id(runtime.jobs, [i for i in job_ids if i not in known])
    collected.rows += job_rows(await job_history(runtime.jobs, job_ids, since), current, since)
    rows = [row for row in collected.rows if row.at >= since]
    rows.sort(key=lambda row: row.at)  # stable: rows of one moment keep their source order
    return subject, rows


TIMELINE_COLUMNS = (
    Column("time", lambda r: table_time(datetime.fromisoformat(r["time"]))),
    Column("source", lambda r: str(r["source"]), width=12),
    Column("what", lambda r: str(r["what"]), width=36),
    Column("request id", lambda r: r["request_id"] or "-"),
    Column("user", lambda r: short_id(r["user"]) or "-", width=8),
    Column("tenant", lambda r: short_id(r["tenant"]) or "-", width=8),
    Column("detail", lambda r: str(r["detail"])),
)


def _log_files(path: Path | None) -> LogFiles | None:
    """The log files to merge in, or None (with a warning saying why) when there are none."""
    if path is None:
        warn(LOGS_LEFT_OUT, reason_id="`log.file` tidak diatur", reason_en="`log.file` is unset")
        return None
    files = LogFiles(path)
    if not files.files():
        warn(LOGS_LEFT_OUT, reason_id=f"{path} tidak ada", reason_en=f"{path} does not exist")
        return None
    return files


@incident_app.command("timeline")
def timeline(
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            help="Everything carrying this request id (X-Request-ID "
            "from a response or a log line; `job-<id>-…` for a job run).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(help="Everything about this user: an email or a user id."),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(help="Everything about this tenant: a slug or a tenant id."),
    ] = None,
    since: Annotated[
        str, typer.Option(help="How far back: 30m, 12h, 2d, 1w or an ISO 8601 time.")
    ] = "24h",
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Show the newest N rows.")] = 500,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON array of rows (time, source, what, "
            "request_id, user, tenant, detail, data).",
        ),
    ] = False,
) -> None:
    """One time-ordered view of log lines, auth activities, sessions, tenant stages,
    provisioning steps, jobs and outbox events for one request, user or tenant (UTC). Give
    exactly one of --request-id, --user, --tenant. Reads the central database and the log
    file (`log.file`); without a log file it shows the database rows and says so."""
    if sum(value is not None for value in (request_id, user, tenant)) != 1:
        raise refuse(Refused(SUBJECT_REQUIRED), exit_code=2)
    settings = load_cli_settings()
    try:
        cutoff = parse_since(since)
    except Refused as error:
        raise refuse(error) from error
    assert cutoff is not None
    files = _log_files(settings.log.file)

    async def action(runtime: Runtime) -> tuple[Subject, list[TimelineRow]]:
        return await build_timeline(
            runtime, request_id=request_id, user=user, tenant=tenant, since=cutoff, files=files
        )

    try:
        subject, rows = execute(action)
    except Refused as error:
        raise refuse(error) from error
    shown = rows[-limit:]
    if as_json:
        typer.echo(json.dumps([row.as_json() for row in shown], indent=2, default=str))
    else:
        print_table(
            [row.as_json() for row in shown],
            title=f"Timeline of {subject.label} since {iso_utc(cutoff)} (UTC)",
            columns=TIMELINE_COLUMNS,
        )
    if files is not None and files.skipped:
        warn(LINES_SKIPPED, count=files.skipped)
    if len(rows) > len(shown):
        warn(RESULTS_TRUNCATED, shown=len(shown), total=len(rows))
