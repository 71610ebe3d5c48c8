"""`garment billing ...`: plans, webhook forensics (list, show, replay), the sandbox payment
simulator, dunning (with --explain), reconciliation and the monthly report."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from garment.central.billing.invoice_states import ReceiptStatus
from garment.central.billing.providers.sandbox import build_simulated_delivery, sandbox_secret
from garment.cli.base import app, console, err_console, execute, print_rows, refusal_text
from garment.cli.logs_cmd import Notice, Refused, parse_since, refuse
from garment.platform.errors import AppError, CommandError
from garment.platform.i18n import Message
from garment.runtime import Runtime

billing_app = typer.Typer(
    help="Central billing: plans, webhooks, payments, dunning, reconciliation, reports.",
    no_args_is_help=True,
)
webhooks_app = typer.Typer(
    help="The forensic record of provider webhooks (every delivery, forged ones included).",
    no_args_is_help=True,
)
app.add_typer(billing_app, name="billing")
billing_app.add_typer(webhooks_app, name="webhooks")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

RECEIPT_NOT_FOUND = Notice(
    "RECEIPT_NOT_FOUND",
    Message("Tidak ada tanda terima webhook {ref}.", "No webhook receipt {ref}."),
)
INVOICE_NOT_FOUND = Notice(
    "INVOICE_NOT_FOUND",
    Message(
        "Tidak ada tagihan {ref} (beri id atau nomornya, mis. INV/2026/11/000123).",
        "No invoice {ref} (give its id or number, e.g. INV/2026/11/000123).",
    ),
)
SANDBOX_UNAVAILABLE = Notice(
    "SANDBOX_UNAVAILABLE",
    Message(
        "Penyedia sandbox tidak punya rahasia (di produksi ia dimatikan): atur "
        "GARMENT_BILLING__SANDBOX__SECRET.",
        "The sandbox provider has no secret (it is off in production): set "
        "GARMENT_BILLING__SANDBOX__SECRET.",
    ),
)
SERVER_UNREACHABLE = Notice(
    "SERVER_UNREACHABLE",
    Message(
        "Server {url} tidak bisa dihubungi ({error}). Jalankan `garment serve` atau beri --server.",
        "The server {url} cannot be reached ({error}). Start `garment serve` or pass --server.",
    ),
)
REFUSED = Notice("REFUSED", Message("Ditolak: {reason}", "Refused: {reason}"))


def _since(value: str | None) -> datetime | None:
    try:
        return parse_since(value)
    except Refused as error:
        raise refuse(error) from error


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def _say(error: Exception) -> str:
    return error.render() if isinstance(error, Refused) else refusal_text(error)


def _run(action: Any) -> Any:
    try:
        return execute(action, refusals=(Refused, AppError), say=_say)
    except CommandError as error:
        if isinstance(error, Refused):
            raise
        raise refuse(Refused(REFUSED, reason=str(error))) from error


# --- plans -------------------------------------------------------------------------------------


@billing_app.command("seed-plans")
def seed_plans(as_json: JsonOption = False) -> None:
    """Write the catalogue's plans (starter, growth, enterprise) into the database again:
    prices, trial days and entitlements; every process reloads them."""

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.central.transaction() as session:
            await runtime.plans.seed(session)
            plans = await runtime.plans.stored(session)
        return [
            {
                "code": p.code,
                "name": p.name,
                "monthly_price": p.monthly_price,
                "yearly_price": p.yearly_price,
                "trial_days": p.trial_days,
                "limits": p.limits,
                "features": p.features,
            }
            for p in plans
        ]

    rows = _run(action)
    print_rows(
        rows,
        as_json=as_json,
        title="Plans",
        columns=[
            ("code", lambda r: r["code"]),
            ("monthly", lambda r: str(r["monthly_price"])),
            ("yearly", lambda r: str(r["yearly_price"])),
            ("trial days", lambda r: str(r["trial_days"])),
            ("limits", lambda r: json.dumps(r["limits"])),
        ],
    )


# --- webhooks ----------------------------------------------------------------------------------


@webhooks_app.command("list")
def list_webhooks(
    provider: Annotated[
        str | None, typer.Option(help="xendit, midtrans, standard, sandbox (or any name).")
    ] = None,
    status: Annotated[ReceiptStatus | None, typer.Option(help="Receipt status.")] = None,
    since: Annotated[str | None, typer.Option(help="30m, 12h, 2d, 1w or an ISO 8601 time.")] = None,
    reference: Annotated[str | None, typer.Option(help="Invoice reference (its id).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Webhook receipts, newest first: who sent what, whether it verified, what it did."""
    moment = _since(since)

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.central.transaction() as session:
            records = await runtime.billing_webhooks.list(
                session,
                provider=provider,
                status=status,
                since=moment,
                reference=reference,
                limit=limit,
            )
        return [record.summary() for record in records]

    print_rows(
        _run(action),
        as_json=as_json,
        title="Webhook receipts",
        columns=[
            ("id", lambda r: str(r["id"])),
            ("received", lambda r: r["received_at"][:19]),
            ("provider", lambda r: r["provider"]),
            ("status", lambda r: r["status"]),
            (
                "verification",
                lambda r: r["verification_reason"] or ("ok" if r["verified"] else "-"),
            ),
            ("event", lambda r: f"{r['event_kind'] or '-'} {r['provider_event_id'] or ''}"),
            ("reference", lambda r: r["reference"] or "-"),
            ("outcome", lambda r: r["outcome"] or "-"),
        ],
    )


@webhooks_app.command("show")
def show_webhook(
    receipt_id: Annotated[int, typer.Argument(help="Receipt id from `billing webhooks list`.")],
    as_json: JsonOption = False,
) -> None:
    """The full forensic record of one receipt: headers (secrets redacted), the body
    pretty-printed, verification, dedupe and processing."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        async with runtime.central.transaction() as session:
            record = await runtime.billing_webhooks.show(session, receipt_id)
        if record is None:
            raise Refused(RECEIPT_NOT_FOUND, ref=receipt_id)
        return record.detail()

    detail = _run(action)
    if as_json:
        _json(detail)
        return
    body = detail.pop("body")
    headers = detail.pop("headers")
    table = Table(title=f"Webhook receipt {receipt_id}", show_header=False)
    for key, value in detail.items():
        table.add_row(key, "-" if value is None else str(value))
    console.print(table)
    console.print("[bold]headers[/bold]")
    for name, value in sorted(headers.items()):
        console.print(f"  {name}: {value}", markup=False)
    console.print("[bold]body[/bold]")
    console.print(body, markup=False, highlight=False)


@webhooks_app.command("replay")
def replay_webhook(
    receipt_id: Annotated[int, typer.Argument(help="Receipt id from `billing webhooks list`.")],
    as_json: JsonOption = False,
) -> None:
    """Run processing of a stored, verified receipt again. Idempotent: an invoice already paid
    stays paid once; the receipt records the new outcome."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        status = await runtime.billing_webhooks.replay(receipt_id)
        async with runtime.central.transaction() as session:
            record = await runtime.billing_webhooks.show(session, receipt_id)
        assert record is not None
        return {"receipt_id": receipt_id, "status": status, "outcome": record.outcome}

    result = _run(action)
    if as_json:
        _json(result)
    else:
        console.print(f"receipt {receipt_id}: {result['status']} ({result['outcome']})")


# --- the sandbox ---------------------------------------------------------------------------------


@billing_app.command("simulate-payment")
def simulate_payment(
    invoice: Annotated[str, typer.Argument(help="Invoice id or number (INV/2026/11/000123).")],
    fail: Annotated[bool, typer.Option("--fail", help="Simulate a failed payment.")] = False,
    server: Annotated[
        str | None, typer.Option(help="Base URL of the running server (default http.public_url).")
    ] = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the receipt to be processed (0: don't).")
    ] = 15.0,
    as_json: JsonOption = False,
) -> None:
    """Send a correctly signed sandbox webhook paying (or failing) the invoice to the running
    server, as a provider would, and print what became of it."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        async with runtime.central.transaction() as session:
            found = await runtime.billing.invoice_of(session, invoice)
        if found is None:
            raise Refused(INVOICE_NOT_FOUND, ref=invoice)
        secret = sandbox_secret(runtime.settings)
        if secret is None:
            raise Refused(SANDBOX_UNAVAILABLE)
        body, headers = build_simulated_delivery(
            found.reference, found.total, fail=fail, secret=secret
        )
        base = (server or runtime.settings.http.public_url).rstrip("/")
        url = f"{base}/api/v1/billing/webhooks/sandbox"
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                answer = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise Refused(SERVER_UNREACHABLE, url=base, error=type(error).__name__) from error
        result: dict[str, Any] = {
            "invoice": found.number,
            "http_status": answer.status_code,
            "answer": answer.json() if answer.content else None,
        }
        receipt_id = (result["answer"] or {}).get("receipt_id")
        deadline = asyncio.get_running_loop().time() + wait
        while receipt_id and wait > 0:
            async with runtime.central.transaction() as session:
                record = await runtime.billing_webhooks.show(session, int(receipt_id))
                current = await runtime.billing.invoice_of(session, str(found.id))
            if record is not None:
                result["receipt_status"], result["outcome"] = record.status, record.outcome
            if current is not None:
                result["invoice_status"] = current.status
            done = record is None or record.status not in ("verified", "processing", "received")
            if done or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.25)
        return result

    result = _run(action)
    if as_json:
        _json(result)
        return
    answer = result["answer"] or {}
    console.print(
        f"{result['invoice']}: HTTP {result['http_status']} receipt {answer.get('receipt_id')} "
        f"{answer.get('status') or answer.get('code')}"
    )
    if "receipt_status" in result:
        console.print(
            f"processing: {result['receipt_status']} ({result.get('outcome') or '-'}); "
            f"invoice {result.get('invoice_status')}"
        )
    if result["http_status"] != 200:
        raise typer.Exit(1)


# --- dunning -------------------------------------------------------------------------------------


@billing_app.command("dunning")
def dunning(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be done; change nothing.")
    ] = False,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="Say why one invoice (id or number) is or is not acted on."),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Pretend it is this ISO 8601 time (diagnosis).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run dunning now (the `billing.dunning` job runs hourly): renewals, past due, reminders,
    retried charges, suspension after the grace period, cancellation. Twice in a row does
    nothing twice."""
    now = _moment(at)

    if explain is not None:
        reference = explain

        async def explain_action(runtime: Runtime) -> dict[str, Any]:
            return (await runtime.dunning.explain(reference, now=now)).as_dict()

        explanation = _run(explain_action)
        if as_json:
            _json(explanation)
            return
        console.print(
            f"{explanation['number']}: invoice {explanation['status']}, subscription "
            f"{explanation['subscription_status']}"
        )
        for line in explanation["reasons"]:
            console.print(f"  - {line}", markup=False)
        for step in explanation["would_do"]:
            console.print(f"  due now: {step['step']}", markup=False)
        for entry in explanation["log"]:
            console.print(f"  log: {entry['at'][:19]} {entry['step']}", markup=False)
        return

    async def action(runtime: Runtime) -> dict[str, Any]:
        return (await runtime.dunning.run(now=now, dry_run=dry_run)).as_dict()

    result = _run(action)
    if as_json:
        _json(result)
        return
    for line in result["renewals"]:
        console.print(f"renewal: {line}", markup=False)
    print_rows(
        result["actions"],
        as_json=False,
        title="Dunning (dry run)" if dry_run else "Dunning",
        columns=[
            ("invoice", lambda r: r["number"] or r["invoice_id"]),
            ("tenant", lambda r: r["tenant_id"]),
            ("action", lambda r: r["action"]),
            ("step", lambda r: r["step"]),
        ],
    )


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise refuse(Refused(REFUSED, reason=f"--at {value}: not an ISO 8601 time")) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- reconciliation and reports ------------------------------------------------------------------


@billing_app.command("reconcile")
def reconcile(
    provider: Annotated[str | None, typer.Option(help="One provider (default: every one).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Invoices issued since (30m, 12h, 2d, 1w, ISO 8601).")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Apply the provider's truth through the state machine.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare open and paid invoices with each provider's remote state: paid remotely but
    open here, amounts that differ, remote payments we do not know."""
    moment = _since(since)

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        found = await runtime.reconciler.run(provider=provider, since=moment, fix=fix)
        return [mismatch.as_dict() for mismatch in found]

    rows = _run(action)
    print_rows(
        rows,
        as_json=as_json,
        title="Reconciliation mismatches",
        columns=[
            ("kind", lambda r: r["kind"]),
            ("provider", lambda r: r["provider"]),
            ("invoice", lambda r: r["number"] or r["reference"]),
            ("here", lambda r: f"{r['local_status'] or '-'} {r['local_amount'] or ''}"),
            ("remote", lambda r: f"{r['remote_status'] or '-'} {r['remote_amount'] or ''}"),
            ("fixed", lambda r: "yes" if r["fixed"] else "-"),
        ],
    )
    if not as_json and not rows:
        err_console.print("no mismatches")


class ReportFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


@billing_app.command("report")
def report(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (UTC).")],
    output_format: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.TABLE,
) -> None:
    """Invoices issued, paid and outstanding (with sums), MRR, subscriptions by state,
    receivables ageing (0-30, 31-60, 61-90, 90+ days) and churned tenants of one month."""

    async def action(runtime: Runtime) -> Any:
        return await runtime.billing_report.month(month)

    result = _run(action)
    if output_format is ReportFormat.JSON:
        _json(result.as_dict())
        return
    if output_format is ReportFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["metric", "value"])
        writer.writerows(result.rows())
        typer.echo(buffer.getvalue().rstrip("\n"))
        return
    table = Table(title=f"Billing {month}")
    table.add_column("metric")
    table.add_column("value")
    for name, value in result.rows():
        table.add_row(name, value)
    console.print(table)
