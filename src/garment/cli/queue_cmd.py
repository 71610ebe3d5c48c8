"""`garment jobs ...` and `garment events ...`: inspect and retry what failed for good."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from garment.cli.base import app, console, execute
from garment.platform.events import dead_events, outbox_backlog, retry_dead_events
from garment.runtime import Runtime

jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
events_app = typer.Typer(help="Outbox events.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(events_app, name="events")


@jobs_app.command("stats")
def job_stats() -> None:
    """Jobs by status (queued, picked, failed)."""

    async def action(runtime: Runtime) -> dict[str, int]:
        return await runtime.jobs.counts()

    typer.echo(json.dumps(execute(action), indent=2))


@jobs_app.command("failed")
def failed_jobs(limit: Annotated[int, typer.Option(min=1, max=1000)] = 50) -> None:
    """Jobs held after their last retry."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        return await runtime.jobs.failed_jobs(limit)

    table = Table(title="Failed jobs")
    for column in ("id", "task", "attempts", "updated", "payload"):
        table.add_column(column)
    for job in execute(action):
        payload = (job["payload"] or b"").decode(errors="replace")[:80]
        table.add_row(
            str(job["id"]),
            job["entrypoint"],
            str(job["attempts"]),
            f"{job['updated']:%Y-%m-%d %H:%M:%S}",
            payload,
        )
    console.print(table)


@jobs_app.command("retry")
def retry_jobs(
    ids: Annotated[list[int], typer.Argument(help="Job ids from `jobs failed`.")],
) -> None:
    """Queue failed jobs again with a fresh attempt count."""

    async def action(runtime: Runtime) -> int:
        return await runtime.jobs.retry_failed(ids)

    console.print(f"requeued {execute(action)} job(s)")


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
    """Deliver dead events again (listeners that already succeeded are not re-run)."""

    async def action(runtime: Runtime) -> int:
        async with runtime.central.transaction() as session:
            return await retry_dead_events(session, ids)

    console.print(f"requeued {execute(action)} event(s)")
