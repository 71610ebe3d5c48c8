"""`garment tenants ...`: list, show, provision --retry, suspend, resume, export, move."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from garment.central.tenancy.jobs import provisioning_dedupe_key
from garment.central.tenancy.mover import MoveAborted, dumps
from garment.central.tenancy.provisioning import ProvisioningError
from garment.central.tenancy.service import describe_tenant
from garment.central.tenancy.states import TenantStatus
from garment.cli.base import (
    JsonOption,
    TenantArg,
    app,
    console,
    err_console,
    execute,
    find_tenant,
    print_rows,
)
from garment.platform.errors import AppError, CommandError
from garment.runtime import Runtime

tenants_app = typer.Typer(help="Tenants (businesses).", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")


@tenants_app.command("list")
def list_tenants(
    status: Annotated[TenantStatus | None, typer.Option(help="Only this status.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Only tenants on this cluster.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Tenants, newest first."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.central.transaction() as session:
            if cluster is not None:
                known = [c.key for c in await runtime.tenancy.cluster_overview(session)]
                if cluster not in known:
                    raise CommandError(
                        f"CLUSTER_NOT_FOUND klaster {cluster!r} tidak terdaftar / cluster "
                        f"{cluster!r} is not registered (registered: {', '.join(known) or '-'})"
                    )
            tenants = await runtime.tenancy.list_tenants(session, status=status, cluster=cluster)
        return [describe_tenant(t) for t in tenants]

    print_rows(
        execute(action),
        as_json=as_json,
        title="Tenants",
        columns=(
            ("slug", lambda r: r["slug"]),
            ("name", lambda r: r["name"]),
            ("status", lambda r: r["status"]),
            ("cluster", lambda r: r["cluster"] or "-"),
            ("plan", lambda r: r["plan"]),
            ("id", lambda r: r["id"]),
        ),
    )


@tenants_app.command("show")
def show(tenant: TenantArg, as_json: JsonOption = False) -> None:
    """One tenant with its provisioning steps."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        found = await find_tenant(runtime, tenant)
        async with runtime.central.transaction() as session:
            steps = await runtime.tenancy.provisioning_steps(session, found.id)
            members = await runtime.tenancy.count_members(session, found.id)
            suspension = await runtime.tenancy.suspension(session, found.id)
        return {
            **describe_tenant(found),
            "members": members,
            "suspension": suspension,
            "provisioning": [
                {"step": s.step, "status": str(s.status), "attempts": s.attempts, "error": s.error}
                for s in steps
            ],
        }

    data = execute(action)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key in ("id", "slug", "name", "status", "cluster", "plan", "read_only", "members"):
        console.print(f"[bold]{key:<10}[/bold] {data[key]}")
    if data["suspension"]:
        held = data["suspension"]
        # A payment lifts only billing's suspension (chapter 20).
        console.print(
            f"[bold]{'suspended':<10}[/bold] by {held['source']} since {held['since']}: "
            f"{held['reason']}"
        )
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
        found = await find_tenant(runtime, tenant)
        if found.status is TenantStatus.PROVISIONING_FAILED and not retry:
            err_console.print("the tenant's provisioning failed: add --retry to resume it")
            raise typer.Exit(1)
        status = await runtime.provisioning.run(found.id, final=True)
        # The job that gave up is held for inspection; the tenant no longer needs it.
        await runtime.jobs.discard_failed(provisioning_dedupe_key(found.id))
        return status

    final = execute(
        action,
        refusals=(ProvisioningError,),
        say=lambda e: f"[red]step {e.step} failed:[/red] {e.error}",
    )
    console.print(f"tenant {tenant}: {final}")


def _lifecycle(tenant: str, operation: str, reason: str = "operator") -> None:
    async def action(runtime: Runtime) -> str:
        found = await find_tenant(runtime, tenant)
        async with runtime.central.transaction() as session:
            if operation == "suspend":
                changed = await runtime.tenancy.suspend(session, found.id, reason=reason)
            else:
                changed = await runtime.tenancy.resume(session, found.id)
            return str(changed.status)

    status = execute(
        action,
        refusals=(AppError,),
        say=lambda e: f"[red]{e.code}[/red] {e.params}",
    )
    console.print(f"tenant {tenant}: {status}")


@tenants_app.command("suspend")
def suspend(
    tenant: TenantArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (recorded on the tenant, e.g. abuse).")
    ] = "operator",
) -> None:
    """Suspend: the Tenant API answers 402 TENANT_SUSPENDED to its members. An operator's
    suspension is lifted only by `resume`, never by a payment (a suspension by billing's
    dunning, taken over by this command, no longer is either)."""
    _lifecycle(tenant, "suspend", reason)


@tenants_app.command("resume")
def resume(tenant: TenantArg) -> None:
    """Resume a suspended tenant, whoever suspended it."""
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
        found = await find_tenant(runtime, tenant)
        handle = output.open("w", encoding="utf-8") if output else sys.stdout
        count = 0
        try:
            async for record in runtime.mover.export(found):
                handle.write(dumps(record) + "\n")
                count += 1
        finally:
            if output:
                handle.close()
        return count

    count = execute(action)
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
        found = await find_tenant(runtime, tenant)
        return await runtime.mover.purge(found.id, cluster)

    removed = execute(
        action,
        refusals=(MoveAborted,),
        say=lambda e: f"[red]refused:[/red] {e}",
    )
    console.print(f"removed {removed} rows of {tenant} from {cluster}")


@tenants_app.command("unlock")
def unlock(tenant: TenantArg) -> None:
    """Lift read-only from a tenant whose `move` was killed before it finished. The tenant keeps
    the cluster the registry names; remove copies elsewhere with `tenants purge`."""

    async def action(runtime: Runtime) -> str | None:
        found = await find_tenant(runtime, tenant)
        await runtime.mover.unlock(found.id)
        return found.cluster_key

    cluster = execute(action)
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
        found = await find_tenant(runtime, tenant)
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

            report = await runtime.mover.move(found.id, to, say)
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

    report = execute(
        action,
        refusals=(MoveAborted, AppError),
        say=lambda e: f"[red]move aborted:[/red] {e}",
    )
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    console.print(
        f"moved tenant {tenant} from {report['from']} to {report['to']}: "
        f"{report['rows']} rows verified"
    )
