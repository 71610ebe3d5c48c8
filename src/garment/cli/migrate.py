"""`garment migrate`: the central tree, then the tenant tree on every configured cluster."""

from __future__ import annotations

import asyncio

import typer
from rich.table import Table

from garment.cli.base import app, console, err_console, load_cli_settings, progress_bar, run
from garment.config import Settings
from garment.platform.migrations import (
    ClusterMigration,
    MigrationReport,
    migrate_central,
    migrate_cluster,
)
from garment.runtime import resolve_targets


async def migrate_everything(settings: Settings) -> MigrationReport:
    targets, embedded = await resolve_targets(settings)
    try:
        with progress_bar() as progress:
            overall = progress.add_task("migrating", total=1 + len(targets.clusters))
            progress.update(overall, description="central")
            central = await asyncio.to_thread(migrate_central, targets.central)
            progress.advance(overall)
            clusters: list[ClusterMigration] = []
            for key, target in targets.clusters.items():
                progress.update(overall, description=f"cluster {key}")
                clusters.append(await asyncio.to_thread(migrate_cluster, target))
                progress.advance(overall)
            progress.update(overall, description="done")
        return MigrationReport(central=central, clusters=clusters)
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def print_report(report: MigrationReport) -> None:
    table = Table(title="Migrations")
    table.add_column("database")
    table.add_column("before")
    table.add_column("after")
    table.add_column("result")
    central = report.central
    table.add_row(
        "central",
        central.before or "-",
        central.after or "-",
        "[green]migrated[/green]" if central.changed else "up to date",
    )
    for cluster in report.clusters:
        if cluster.result is None:
            table.add_row(f"cluster {cluster.key}", "?", "?", f"[red]{cluster.error}[/red]")
        else:
            result = cluster.result
            table.add_row(
                f"cluster {cluster.key}",
                result.before or "-",
                result.after or "-",
                "[green]migrated[/green]" if result.changed else "up to date",
            )
    console.print(table)


@app.command()
def migrate() -> None:
    """Migrate the central database and every configured cluster to head (idempotent). One
    failing cluster does not stop the others; the exit code is 1 if any failed."""
    settings = load_cli_settings()
    try:
        report = run(migrate_everything(settings))
    except Exception as exc:
        err_console.print(f"[red]Central migration failed:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from exc
    print_report(report)
    if not report.ok:
        raise typer.Exit(1)
