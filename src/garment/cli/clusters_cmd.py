"""`garment clusters ...`: the registry joined with config, probes, registration, migrations
(incident playbook 4: ListClustersCommand and ProbeClusterCommand of the seed)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from garment.central.clusters.service import ProbeResult
from garment.central.clusters.states import ClusterStatus
from garment.cli.base import app, console, err_console, execute, print_rows, progress_bar
from garment.platform.errors import AppError
from garment.platform.migrations import (
    ClusterMigration,
    Tree,
    current_revision,
    head_revision,
    migrate_cluster,
)
from garment.runtime import Runtime

clusters_app = typer.Typer(help="Tenant database clusters.", no_args_is_help=True)
app.add_typer(clusters_app, name="clusters")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


async def _revision(runtime: Runtime, key: str) -> str | None:
    target = runtime.targets.clusters.get(key)
    if target is None:
        return None
    try:
        return await asyncio.to_thread(current_revision, Tree.TENANT, target.owner_url)
    except Exception:
        return "unreachable"


@clusters_app.command("list")
def list_clusters(as_json: JsonOption = False) -> None:
    """Registry joined with config: status, tenants/capacity, URL configured, revision."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.central.transaction() as session:
            rows = await runtime.tenancy.cluster_overview(session)
        return [
            {
                "key": r.key,
                "status": r.status,
                "tenants": r.tenants,
                "capacity": r.capacity,
                "region": r.region,
                "configured": r.configured,
                "revision": await _revision(runtime, r.key),
                "head": head_revision(Tree.TENANT),
            }
            for r in rows
        ]

    def revision(row: dict[str, Any]) -> str:
        style = "green" if row["revision"] == row["head"] else "yellow"
        return f"[{style}]{row['revision'] or '-'}[/{style}]"

    print_rows(
        execute(action),
        as_json=as_json,
        title="Clusters",
        columns=(
            ("key", lambda r: r["key"]),
            ("status", lambda r: r["status"]),
            ("tenants/capacity", lambda r: f"{r['tenants']}/{r['capacity']}"),
            ("region", lambda r: r["region"] or "-"),
            ("URL configured", lambda r: "yes" if r["configured"] else "[red]no[/red]"),
            ("revision", revision),
        ),
    )


def _print_probe(result: ProbeResult) -> None:
    verdict = "[green]OK[/green]" if result.ok else "[red]FAILED[/red]"
    console.print(
        f"cluster [bold]{result.key}[/bold] {verdict}  latency {result.latency_ms} ms  "
        f"PostgreSQL {result.server_version or '?'}  tenants {result.tenants}"
    )
    table = Table()
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for check in result.checks:
        table.add_row(
            check.name, "[green]ok[/green]" if check.ok else "[red]FAIL[/red]", check.detail
        )
    console.print(table)


@clusters_app.command("probe")
def probe(
    key: Annotated[str | None, typer.Argument(help="Cluster key (omit with --all).")] = None,
    all_clusters: Annotated[
        bool, typer.Option("--all", help="Every configured or registered cluster.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Connect, measure latency, compare the migration revision with head, and check that
    every tenant table has RLS enabled and forced with its policy and tenant_id index, that the
    app role lacks SUPERUSER/BYPASSRLS and owns no tenant table, that views are security_invoker
    and no SECURITY DEFINER function reads tenant tables. Exit 1 on any failure."""
    if not key and not all_clusters:
        err_console.print("give a cluster key or --all")
        raise typer.Exit(2)

    async def action(runtime: Runtime) -> list[ProbeResult]:
        async with runtime.central.transaction() as session:
            keys = [key or ""]
            if all_clusters:
                # Registered keys too: a registered cluster without a URL is exactly the one
                # whose tenants get 503, so `--all` must not skip it.
                registered = [c.key for c in await runtime.tenancy.cluster_overview(session)]
                keys = sorted(set(runtime.cluster_manager.configured_keys()) | set(registered))
            return [await runtime.tenancy.probe_cluster(session, k) for k in keys]

    results = execute(action)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=2, default=str))
    else:
        for result in results:
            _print_probe(result)
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@clusters_app.command("register")
def register(
    key: Annotated[str, typer.Argument(help="Cluster key, e.g. jkt-2 (its URL goes in config).")],
    capacity: Annotated[int, typer.Option(min=0, help="Maximum tenants.")],
    region: Annotated[str | None, typer.Option(help="Region for placement hints.")] = None,
) -> None:
    """Add a cluster to the registry (active; new tenants may be placed on it)."""

    async def action(runtime: Runtime) -> bool:
        async with runtime.central.transaction() as session:
            row = await runtime.cluster_registry.register(session, key, capacity, region)
        return row.configured

    configured = execute(
        action,
        refusals=(AppError,),
        say=lambda e: f"[red]{e.code}[/red]: cluster {key} is already registered",
    )
    console.print(f"registered {key} (capacity {capacity})")
    if not configured:
        err_console.print(f"[yellow]warning:[/yellow] no URL for {key} in GARMENT_CLUSTERS yet")


@clusters_app.command("update")
def update(
    key: Annotated[str, typer.Argument(help="Cluster key.")],
    capacity: Annotated[int | None, typer.Option(min=0, help="Maximum tenants.")] = None,
    region: Annotated[str | None, typer.Option(help="Region for placement hints.")] = None,
    status: Annotated[
        ClusterStatus | None,
        typer.Option(help="active (takes tenants), draining (no new tenants) or disabled."),
    ] = None,
) -> None:
    """Change a registered cluster's capacity, region or status (e.g. reactivate a drained one)."""

    async def action(runtime: Runtime) -> str:
        async with runtime.central.transaction() as session:
            cluster = await runtime.cluster_registry.update(
                session, key, capacity=capacity, region=region, status=status
            )
            return f"{cluster.key}: {cluster.status}, capacity {cluster.capacity}"

    console.print(
        execute(action, refusals=(AppError,), say=lambda e: f"[red]{e.code}[/red]: {key}")
    )


@clusters_app.command("drain")
def drain(key: Annotated[str, typer.Argument(help="Cluster key.")]) -> None:
    """Stop placing new tenants on a cluster; its tenants keep working."""

    async def action(runtime: Runtime) -> None:
        async with runtime.central.transaction() as session:
            await runtime.cluster_registry.drain(session, key)

    execute(
        action,
        refusals=(AppError,),
        say=lambda e: f"[red]{e.code}[/red]: {key}",
    )
    console.print(f"{key} is draining: no new tenants")


@clusters_app.command("migrate")
def migrate(
    key: Annotated[str | None, typer.Argument(help="Cluster key (omit with --all).")] = None,
    all_clusters: Annotated[bool, typer.Option("--all")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the tenant migration tree on clusters (idempotent). One failing cluster does not
    stop the others; exit 1 if any failed."""
    if not key and not all_clusters:
        err_console.print("give a cluster key or --all")
        raise typer.Exit(2)

    async def action(runtime: Runtime) -> list[ClusterMigration]:
        keys = runtime.cluster_manager.configured_keys() if all_clusters else [key or ""]
        outcomes = []
        with progress_bar(disable=as_json) as progress:
            task = progress.add_task("migrating", total=len(keys))
            for k in keys:
                progress.update(task, description=f"cluster {k}")
                target = runtime.targets.clusters.get(k)
                if target is None:
                    outcomes.append(ClusterMigration(k, None, "no configured URL"))
                else:
                    outcomes.append(await asyncio.to_thread(migrate_cluster, target))
                progress.advance(task)
        return outcomes

    outcomes = execute(action)
    rows = [
        {
            "cluster": o.key,
            "before": o.result.before if o.result else None,
            "after": o.result.after if o.result else None,
            "error": o.error,
        }
        for o in outcomes
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        table = Table(title="Cluster migrations")
        for column in ("cluster", "before", "after", "result"):
            table.add_column(column)
        for row in rows:
            result = (
                f"[red]{row['error']}[/red]"
                if row["error"]
                else "migrated"
                if row["before"] != row["after"]
                else "up to date"
            )
            table.add_row(row["cluster"], row["before"] or "-", row["after"] or "-", result)
        console.print(table)
    if any(row["error"] for row in rows):
        raise typer.Exit(1)
