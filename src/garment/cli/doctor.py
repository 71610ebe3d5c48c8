"""`garment doctor`: readiness checks plus configuration sanity, with one verdict."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

import typer
from rich.table import Table
from sqlalchemy import text

from garment.cli.base import app, console, load_cli_settings, run, with_runtime
from garment.config import Environment, MailBackend, Settings
from garment.platform.events import outbox_backlog
from garment.platform.health import ProbeStatus, check_database
from garment.platform.migrations import Tree, current_revision, head_revision
from garment.runtime import Runtime

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    level: Level
    detail: str


def config_findings(settings: Settings) -> list[Finding]:
    findings = []
    production = settings.environment is Environment.PRODUCTION
    if settings.uses_embedded_database:
        level: Level = "fail" if production else "ok"
        findings.append(Finding("database", level, "embedded PostgreSQL (development only)"))
    if settings.mail.backend is MailBackend.FILE:
        findings.append(
            Finding(
                "mail",
                "fail" if production else "ok",
                f"file backend writing to {settings.mail_directory}",
            )
        )
    if not settings.uses_embedded_database and not settings.clusters:
        findings.append(Finding("clusters", "fail", "no cluster configured (GARMENT_CLUSTERS)"))
    if settings.rate_limit.storage_url.startswith("memory://") and production:
        findings.append(Finding("rate limits", "warn", "memory storage: counters are per process"))
    return findings


async def runtime_findings(runtime: Runtime) -> list[Finding]:
    findings = []
    databases = {
        "central": runtime.central,
        **{f"cluster {k}": v for k, v in runtime.cluster_databases.items()},
    }
    for name, database in databases.items():
        check = await check_database(database)
        up = check.status is ProbeStatus.UP
        level: Level = "ok" if up else "fail"
        detail = f"up ({check.latency_ms} ms)" if up else f"down: {check.error}"
        findings.append(Finding(f"{name} reachable", level, detail))
    targets = [(Tree.CENTRAL, "central", runtime.targets.central.owner_url)]
    targets += [
        (Tree.TENANT, f"cluster {key}", target.owner_url)
        for key, target in runtime.targets.clusters.items()
    ]
    for tree, name, url in targets:
        try:
            current = await asyncio.to_thread(current_revision, tree, url)
        except Exception as exc:
            findings.append(Finding(f"{name} migrations", "fail", type(exc).__name__))
            continue
        head = head_revision(tree)
        level = "ok" if current == head else "fail"
        findings.append(Finding(f"{name} migrations", level, f"at {current}, head {head}"))
    findings.extend(await role_findings(runtime))
    async with runtime.central.transaction() as session:
        backlog = await outbox_backlog(session)
    findings.append(
        Finding(
            "outbox",
            "warn" if backlog["dead"] else "ok",
            f"{backlog['pending']} pending, {backlog['dead']} dead",
        )
    )
    counts = await runtime.jobs.counts()
    findings.append(
        Finding(
            "jobs",
            "warn" if counts.get("failed") else "ok",
            ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
        )
    )
    return findings


async def role_findings(runtime: Runtime) -> list[Finding]:
    findings = []
    for name, database in {"central": runtime.central, **runtime.cluster_databases}.items():
        try:
            async with database.engine.connect() as connection:
                row = (
                    await connection.execute(
                        text(
                            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                            "WHERE rolname = current_user"
                        )
                    )
                ).one()
        except Exception as exc:
            findings.append(Finding(f"{name} app role", "fail", type(exc).__name__))
            continue
        unsafe = row.rolsuper or row.rolbypassrls
        findings.append(
            Finding(
                f"{name} app role",
                "fail" if unsafe else "ok",
                f"{row.current_user}: "
                + (
                    "SUPERUSER/BYPASSRLS defeats row-level security"
                    if unsafe
                    else "no superuser, no BYPASSRLS"
                ),
            )
        )
    return findings


@app.command()
def doctor() -> None:
    """Check databases, migrations, roles, outbox, jobs and configuration; exit 1 on failure."""
    settings = load_cli_settings()
    findings = config_findings(settings)
    findings += run(with_runtime(settings, runtime_findings))
    table = Table(title="garment doctor")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    style = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    for finding in findings:
        table.add_row(finding.check, style[finding.level], finding.detail)
    console.print(table)
    failed = [f for f in findings if f.level == "fail"]
    if failed:
        console.print(f"[red]Verdict: {len(failed)} check(s) failed.[/red]")
        raise typer.Exit(1)
    console.print("[green]Verdict: healthy.[/green]")
