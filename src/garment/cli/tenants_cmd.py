"""`garment tenants ...`: list, show, provision --retry, suspend, resume, export, move."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from garment.central.tenancy.models import Tenant
from garment.central.tenancy.mover import MoveAborted, TenantMover, dumps
from garment.central.tenancy.provisioning import (
    ProvisioningError,
    ProvisioningPipeline,
    provisioning_dedupe_key,
)
from garment.central.tenancy.service import describe_tenant
from garment.cli.base import app, console, err_console, load_cli_settings, run, with_runtime
from garment.platform.errors import AppError
from garment.runtime import Runtime

tenants_app = typer.Typer(help="Tenants (businesses).", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")

TenantArg = Annotated[str, typer.Argument(help="Tenant id or slug.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


async def _find(runtime: Runtime, ref: str) -> Tenant:
    async with runtime.central.transaction() as session:
        tenant = await runtime.tenancy.find(session, ref)
    if tenant is None:
        err_console.print(f"[red]no tenant {ref}[/red]")
        raise typer.Exit(1)
    return tenant


@tenants_app.command("list")
def list_tenants(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Only tenants on this cluster.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Tenants, newest first."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.central.transaction() as session:
            tenants = await runtime.tenancy.list_tenants(session, status=status, cluster=cluster)
        return [describe_tenant(t) for t in tenants]

    rows = run(with_runtime(load_cli_settings(), action))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Tenants")
    for column in ("slug", "name", "status", "cluster", "plan", "id"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["slug"], r["name"], r["status"], r["cluster"] or "-", r["plan"], r["id"])
    console.print(table)


@tenants_app.command("show")
def show(tenant: TenantArg, as_json: JsonOption = False) -> None:
    """One tenant with its provisioning steps."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        found = await _find(runtime, tenant)
        async with runtime.central.transaction() as session:
            steps = await runtime.tenancy.provisioning_steps(session, found.id)
            members = await runtime.tenancy.count_members(session, found.id)
        return {
            **describe_tenant(found),
            "members": members,
            "provisioning": [
                {"step": s.step, "status": s.status, "attempts": s.attempts, "error": s.error}
                for s in steps
            ],
        }

    data = run(with_runtime(load_cli_settings(), action))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key in ("id", "slug", "name", "status", "cluster", "plan", "read_only", "members"):
        console.print(f"[bold]{key:<10}[/bold] {data[key]}")
    table = Table(title="Provisioning")
    for column in ("step", "status", "attempts", "error"):
        table.add_column(column)
    for step in data["provisioning"]:
        table.add_row(step["step"], step["status"], str(step["attempts"]), step["error"] or "")
    console.print(table)


@tenants_app.command("provision")
def provision(
    tenant: TenantArg,
    retry: Annotated[bool, typer.Option("--retry", help="Resume from the failed step.")] = False,
) -> None:
    """Run the provisioning pipeline now, in this process; steps already done are skipped, so
    `--retry` resumes a `provisioning_failed` tenant at the step that failed."""

    async def action(runtime: Runtime) -> str:
        found = await _find(runtime, tenant)
        if found.status == "provisioning_failed" and not retry:
            err_console.print("the tenant's provisioning failed: add --retry to resume it")
            raise typer.Exit(1)
        status = await ProvisioningPipeline(runtime).run(found.id, final=True)
        # The job that gave up is held for inspection; the tenant no longer needs it.
        await runtime.jobs.discard_failed(provisioning_dedupe_key(found.id))
        return status

    try:
        final = run(with_runtime(load_cli_settings(), action))
    except ProvisioningError as error:
        err_console.print(f"[red]step {error.step} failed:[/red] {error.error}")
        raise typer.Exit(1) from error
    console.print(f"tenant {tenant}: {final}")


def _lifecycle(tenant: str, operation: str) -> None:
    async def action(runtime: Runtime) -> str:
        found = await _find(runtime, tenant)
        async with runtime.central.transaction() as session:
            if operation == "suspend":
                changed = await runtime.tenancy.suspend(session, found.id, reason="operator")
            else:
                changed = await runtime.tenancy.resume(session, found.id)
            return changed.status

    try:
        status = run(with_runtime(load_cli_settings(), action))
    except AppError as error:
        err_console.print(f"[red]{error.code}[/red] {error.params}")
        raise typer.Exit(1) from error
    console.print(f"tenant {tenant}: {status}")


@tenants_app.command("suspend")
def suspend(tenant: TenantArg) -> None:
    """Suspend: the Tenant API answers 402 TENANT_SUSPENDED to its members."""
    _lifecycle(tenant, "suspend")


@tenants_app.command("resume")
def resume(tenant: TenantArg) -> None:
    """Resume a suspended tenant."""
    _lifecycle(tenant, "resume")


@tenants_app.command("export")
def export(
    tenant: TenantArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout).")
    ] = None,
) -> None:
    """Every row of the tenant on its cluster as JSON lines: {"table": ..., "row": {...}}."""

    async def action(runtime: Runtime) -> int:
        found = await _find(runtime, tenant)
        handle = output.open("w", encoding="utf-8") if output else sys.stdout
        count = 0
        try:
            async for record in TenantMover(runtime).export(found):
                handle.write(dumps(record) + "\n")
                count += 1
        finally:
            if output:
                handle.close()
        return count

    count = run(with_runtime(load_cli_settings(), action))
    if output:
        console.print(f"wrote {count} rows to {output}")


@tenants_app.command("purge")
def purge(
    tenant: TenantArg,
    cluster: Annotated[str, typer.Option("--cluster", help="A cluster the tenant left.")],
) -> None:
    """Delete a tenant's rows from a cluster it no longer lives on (leftovers of a move whose
    final clean-up failed). Refuses the tenant's current cluster."""

    async def action(runtime: Runtime) -> int:
        found = await _find(runtime, tenant)
        return await TenantMover(runtime).purge(found.id, cluster)

    try:
        removed = run(with_runtime(load_cli_settings(), action))
    except MoveAborted as error:
        err_console.print(f"[red]refused:[/red] {error}")
        raise typer.Exit(1) from error
    console.print(f"removed {removed} rows of {tenant} from {cluster}")


@tenants_app.command("unlock")
def unlock(tenant: TenantArg) -> None:
    """Lift read-only from a tenant whose `move` was killed before it finished. The tenant keeps
    the cluster the registry names; remove copies elsewhere with `tenants purge`."""

    async def action(runtime: Runtime) -> str | None:
        found = await _find(runtime, tenant)
        await TenantMover(runtime).unlock(found.id)
        return found.cluster_key

    cluster = run(with_runtime(load_cli_settings(), action))
    console.print(f"{tenant} is writable again on {cluster}")


@tenants_app.command("move")
def move(
    tenant: TenantArg,
    to: Annotated[str, typer.Option("--to", help="Target cluster key.")],
    as_json: JsonOption = False,
) -> None:
    """Copy the tenant's rows to another cluster, verify counts and checksums of every table,
    switch the registry, delete the source rows. The tenant is read-only meanwhile; any
    difference aborts the move and leaves the tenant where it was."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        found = await _find(runtime, tenant)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
        ) as progress:
            task = progress.add_task("starting")

            def say(message: str) -> None:
                progress.update(task, description=message)
                if message.startswith("  ") and not as_json:
                    progress.console.print(message)

            report = await TenantMover(runtime).move(found.id, to, say)
        return {
            "tenant_id": str(report.tenant_id),
            "from": report.source,
            "to": report.target,
            "rows": report.rows,
            "tables": {
                name: {"rows": fp.rows, "checksum": fp.checksum}
                for name, fp in report.tables.items()
            },
        }

    try:
        report = run(with_runtime(load_cli_settings(), action))
    except (MoveAborted, AppError) as error:
        err_console.print(f"[red]move aborted:[/red] {error}")
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    console.print(
        f"moved tenant {tenant} from {report['from']} to {report['to']}: "
        f"{report['rows']} rows verified"
    )
