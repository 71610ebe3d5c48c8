"""`garment jobs ...` and `garment events ...`: inspect and retry what failed for good."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from garment.cli.base import app, console, err_console, execute
from garment.platform.events import dead_events, outbox_backlog, retry_dead_events
from garment.runtime import Runtime

jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
events_app = typer.Typer(help="Outbox events.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(events_app, name="events")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@jobs_app.command("stats")
def job_stats() -> None:
    """Jobs by status (queued, picked, failed)."""

    async def action(runtime: Runtime) -> dict[str, int]:
        return await runtime.jobs.counts()

    typer.echo(json.dumps(execute(action), indent=2))


@jobs_app.command("failed")
def failed_jobs(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Jobs held after their last retry (newest first)."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        return await runtime.jobs.failed_jobs(limit)

    jobs = execute(action)
    if as_json:
        typer.echo(json.dumps([job_json(job) for job in jobs], indent=2))
        return
    table = Table(title="Failed jobs")
    for column in ("id", "task", "attempts", "updated", "payload"):
        table.add_column(column)
    for job in jobs:
        payload = (job["payload"] or b"").decode(errors="replace")[:80]
        table.add_row(
            str(job["id"]),
            job["entrypoint"],
            str(job["attempts"]),
            f"{job['updated']:%Y-%m-%d %H:%M:%S}",
            payload,
        )
    console.print(table)


def job_json(job: dict[str, Any]) -> dict[str, Any]:
    raw = job["payload"] or b""
    try:
        payload: Any = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")
    return {
        "id": job["id"],
        "task": job["entrypoint"],
        "attempts": job["attempts"],
        "updated": job["updated"].isoformat(),
        "payload": payload,
    }


def report_retried(kind: str, asked: list[int], requeued: list[int], listing: str) -> None:
    """Print what was requeued; an id that was not there is a refusal (exit 1), so a typo in a
    3 a.m. retry is not mistaken for success."""
    if requeued:
        console.print(f"requeued {len(requeued)} {kind}(s): {', '.join(map(str, requeued))}")
    missing = sorted(set(asked) - set(requeued))
    if missing:
        err_console.print(
            f"[red]NOT_FOUND[/red] tidak ada {kind} gagal dengan id / no failed {kind} with id "
            f"{', '.join(map(str, missing))} (see `{listing}`)"
        )
        raise typer.Exit(1)


@jobs_app.command("retry")
def retry_jobs(
    ids: Annotated[list[int], typer.Argument(help="Job ids from `jobs failed`.")],
) -> None:
    """Queue failed jobs again with a fresh attempt count. Exit 1 when an id is not a failed
    job."""

    async def action(runtime: Runtime) -> list[int]:
        return await runtime.jobs.retry_failed(ids)

    report_retried("job", ids, execute(action), "garment jobs failed")


@events_app.command("list")
def list_events(
    dead: Annotated[
        bool, typer.Option("--dead", help="Events that exhausted their attempts.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Outbox backlog, or with --dead the events parked after their last attempt."""

    async def action(runtime: Runtime) -> Any:
        async with runtime.central.transaction() as session:
            if not dead:
                return await outbox_backlog(session)
            return [
                {
                    "id": e.id,
                    "name": e.name,
                    "attempts": e.attempts,
                    "dead_at": e.dead_at.isoformat() if e.dead_at else None,
                    "error": (e.last_error or "")[:200],
                }
                for e in await dead_events(session, limit)
            ]

    typer.echo(json.dumps(execute(action), indent=2))


@events_app.command("retry")
def retry_events(
    ids: Annotated[list[int], typer.Argument(help="Ids from `events list --dead`.")],
) -> None:
    """Deliver dead events again (listeners that already succeeded are not re-run). Exit 1
    when an id is not a dead event."""

    async def action(runtime: Runtime) -> list[int]:
        async with runtime.central.transaction() as session:
            return await retry_dead_events(session, ids)

    report_retried("event", ids, execute(action), "garment events list --dead")
