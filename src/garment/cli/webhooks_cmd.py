"""`garment webhooks ...`: a tenant's outbound webhooks as operators see them (status) and a
replay on the integrator's behalf (chapter 28, incident playbook 5)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer

from garment.central.tenancy.service import TenantRef
from garment.cli.base import JsonOption, TenantArg, app, console, execute, find_tenant
from garment.platform.errors import AppError, CommandError
from garment.runtime import Runtime

webhooks_app = typer.Typer(
    help="A tenant's outbound webhooks: endpoint backlog and replays.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")


async def _provisioned(runtime: Runtime, ref: str) -> TenantRef:
    tenant = await find_tenant(runtime, ref)
    if tenant.cluster_key is None:
        raise CommandError(
            f"TENANT_NOT_PROVISIONED tenant {tenant.slug} belum punya klaster, jadi belum punya "
            f"webhook / tenant {tenant.slug} has no cluster yet, so no webhooks"
        )
    return tenant


def _age(row: dict[str, Any]) -> str:
    return row["oldest_pending_at"][:19] if row["oldest_pending_at"] else "-"


def _status(row: dict[str, Any]) -> str:
    reason = row["disabled_reason"]
    return f"{row['status']} ({reason})" if reason else str(row["status"])


def _head(row: dict[str, Any]) -> str:
    if row["head_webhook_id"] is None:
        return "-"
    error = f", {row['head_last_error']}" if row["head_last_error"] else ""
    tries = f"{row['head_attempts']} tries"
    return f"{row['head_webhook_id']} ({row['head_event_type']}, {tries}{error})"


@webhooks_app.command("status")
def status(tenant: TenantArg, as_json: JsonOption = False) -> None:
    """Each endpoint of the tenant: enabled or disabled (and why), how many messages wait and
    since when, how many were given up, the last delivery, and the message at the head of the
    queue (every later message waits behind it) with its attempts and last error."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        found = await _provisioned(runtime, tenant)
        assert found.cluster_key is not None
        async with runtime.cluster_manager.tenant_transaction(found.cluster_key, found.id) as db:
            endpoints = await runtime.webhooks.health(db, found.id)
        return [endpoint.summary() for endpoint in endpoints]

    rows = execute(action)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(f"tenant {tenant}: no webhook endpoints")
        return
    # One block per endpoint, not a wide table: every value stays whole in an 80-column
    # terminal (the ids are what `garment webhooks replay` takes).
    for row in rows:
        console.print(f"endpoint {row['id']}  {_status(row)}", markup=False, highlight=False)
        for label, value in (
            ("url", row["url"]),
            ("events", ", ".join(row["event_types"])),
            ("pending", f"{row['pending']} (oldest {_age(row)})"),
            ("given up", str(row["failed"])),
            ("last delivered", (row["last_delivered_at"] or "-")[:19]),
            ("head", _head(row)),
        ):
            console.print(f"  {label:<15}{value}", markup=False, highlight=False)


@webhooks_app.command("replay")
def replay(
    tenant: TenantArg,
    endpoint: Annotated[uuid.UUID, typer.Argument(help="Endpoint id (`garment webhooks status`).")],
    webhook_id: Annotated[str, typer.Argument(help="The message's webhook-id (`msg_...`).")],
    as_json: JsonOption = False,
) -> None:
    """Send one message again, as the tenant's `.../messages/{webhook_id}/replay` does: the
    identical body and webhook-id, after the endpoint's earlier pending messages. Audited as an
    operator's replay."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        found = await _provisioned(runtime, tenant)
        assert found.cluster_key is not None
        # The cluster commits first, then the central transaction that holds the delivery job.
        async with (
            runtime.central.transaction() as central,
            runtime.cluster_manager.tenant_transaction(found.cluster_key, found.id) as db,
        ):
            message = await runtime.webhooks.replay(
                db, central, found.id, None, endpoint, webhook_id
            )
            result = {
                "tenant": found.slug,
                "endpoint_id": str(endpoint),
                "webhook_id": message.webhook_id,
                "status": message.status,
                "sequence": message.sequence,
            }
        return result

    result = execute(action, refusals=(AppError,))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        console.print(
            f"{result['webhook_id']}: {result['status']}, sequence {result['sequence']} "
            f"on endpoint {result['endpoint_id']}"
        )
