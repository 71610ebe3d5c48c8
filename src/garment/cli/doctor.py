"""`garment doctor`: readiness checks plus configuration sanity, with one verdict."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Annotated, Literal

import typer
from rich.table import Table
from sqlalchemy import text

from garment.cli.base import app, console, load_cli_settings, run, with_runtime
from garment.config import Environment, MailBackend, Settings
from garment.platform.db import describe_failure, where
from garment.platform.events import outbox_backlog
from garment.platform.health import ProbeStatus, check_database
from garment.platform.migrations import Tree, current_revision, head_revision
from garment.platform.supervisor import JOB_WORKER, live_processes, oldest_queued_job_seconds
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
    if settings.uses_embedded_database and (settings.clusters or settings.cluster_migration_urls):
        findings.append(
            Finding(
                "clusters",
                "warn",
                "GARMENT_CLUSTERS is set but ignored: without GARMENT_DATABASE_URL the embedded "
                "server holds central and the `default` cluster. Set GARMENT_DATABASE_URL to use "
                "configured clusters, or unset GARMENT_CLUSTERS",
            )
        )
    if not settings.uses_embedded_database and not settings.clusters:
        findings.append(Finding("clusters", "fail", "no cluster configured (GARMENT_CLUSTERS)"))
    if settings.rate_limit.storage_url.startswith("memory://") and production:
        findings.append(Finding("rate limits", "warn", "memory storage: counters are per process"))
    if not settings.http.trusted_proxies:
        findings.append(
            Finding(
                "trusted proxies",
                "warn" if production else "ok",
                "none: the client address is the TCP peer. Behind a reverse proxy every client "
                "shares the proxy's address (one rate-limit bucket for all): set "
                "http.trusted_proxies to the proxy's addresses",
            )
        )
    return findings


async def runtime_findings(runtime: Runtime) -> list[Finding]:
    findings = []
    databases = {
        "central": runtime.central,
        **{f"cluster {k}": v for k, v in runtime.cluster_databases.items()},
    }
    central_up = False
    for name, database in databases.items():
        check = await check_database(database)
        up = check.status is ProbeStatus.UP
        central_up = central_up or (name == "central" and up)
        level: Level = "ok" if up else "fail"
        detail = f"up ({check.latency_ms} ms)" if up else f"down: {check.detail or check.error}"
        findings.append(Finding(f"{name} reachable", level, detail))
    findings.extend(await migration_findings(runtime))
    findings.extend(await role_findings(runtime))
    if not central_up:
        findings.append(
            Finding(
                "outbox, jobs, workers, registry",
                "fail",
                "not checked: central is down (incident playbook 5 and chapter 10)",
            )
        )
        return findings
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
            ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + ("; held failures: `garment jobs failed`" if counts.get("failed") else ""),
        )
    )
    findings.extend(await worker_findings(runtime))
    findings.extend(await registry_findings(runtime))
    return findings


async def migration_findings(runtime: Runtime) -> list[Finding]:
    findings = []
    targets = [(Tree.CENTRAL, "central", runtime.targets.central.owner_url)]
    targets += [
        (Tree.TENANT, f"cluster {key}", target.owner_url)
        for key, target in runtime.targets.clusters.items()
    ]
    for tree, name, url in targets:
        try:
            current = await asyncio.to_thread(current_revision, tree, url)
        except Exception as exc:
            findings.append(
                Finding(f"{name} migrations", "fail", f"{describe_failure(exc)} (at {where(url)})")
            )
            continue
        head = head_revision(tree)
        if current == head:
            findings.append(Finding(f"{name} migrations", "ok", f"at head {head}"))
        else:
            at = current or "nothing (never migrated)"
            detail = f"at {at}, head {head}: run `garment migrate`"
            findings.append(Finding(f"{name} migrations", "fail", detail))
    return findings


async def worker_findings(runtime: Runtime) -> list[Finding]:
    """Is a job worker alive anywhere, and do due jobs get picked up in time?"""
    async with runtime.central.transaction() as session:
        processes = await live_processes(session)
        oldest = await oldest_queued_job_seconds(session)
    workers = [p for p in processes if p.runs_alive(JOB_WORKER)]
    findings = [
        Finding(
            "job workers",
            "ok" if workers else "fail",
            f"{len(workers)} alive: " + ", ".join(f"{p.process_id} ({p.role})" for p in workers)
            if workers
            else "no process runs a job worker: start `garment worker` (or `garment serve` "
            "without --no-worker); provisioning and mail wait until one runs",
        )
    ]
    for process in processes:
        for loop, state in process.loops.items():
            if not state.get("alive"):
                findings.append(
                    Finding(
                        f"{loop} in {process.process_id}",
                        "fail",
                        f"down after {state.get('restarts', 0)} restarts: "
                        f"{state.get('last_error') or 'no error recorded'}",
                    )
                )
    limit = runtime.settings.jobs.max_queue_wait_seconds
    findings.append(
        Finding(
            "job queue wait",
            "fail" if oldest > limit else "ok",
            f"oldest due job waited {oldest:.0f} s "
            f"(limit {limit:.0f} s, jobs.max_queue_wait_seconds)",
        )
    )
    return findings


async def registry_findings(runtime: Runtime) -> list[Finding]:
    """Registered clusters the configuration cannot reach (no URL for their key)."""
    async with runtime.central.transaction() as session:
        rows = await runtime.cluster_registry.rows(session)
    return [
        Finding(
            f"cluster {row.key} configured",
            "fail",
            "registered (" + row.status + ") but no URL in GARMENT_CLUSTERS: add it, or "
            f"`garment clusters update {row.key} --status disabled`",
        )
        for row in rows
        if not row.configured and row.status != "disabled"
    ]


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
            findings.append(Finding(f"{name} app role", "fail", describe_failure(exc)))
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
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Findings as JSON.")] = False,
) -> None:
    """Check databases, migrations, roles, outbox, jobs, workers and configuration; exit 1 on
    failure. Observes only: it never starts a database, migrates, or creates anything."""
    settings = load_cli_settings()
    findings = config_findings(settings)
    findings += run(with_runtime(settings, runtime_findings, observe=True))
    failed = [f for f in findings if f.level == "fail"]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "healthy": not failed,
                    "findings": [
                        {"check": f.check, "level": f.level, "detail": f.detail} for f in findings
                    ],
                },
                indent=2,
            )
        )
        if failed:
            raise typer.Exit(1)
        return
    table = Table(title="garment doctor")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    style = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    for finding in findings:
        table.add_row(finding.check, style[finding.level], finding.detail)
    console.print(table)
    if failed:
        console.print(f"[red]Verdict: {len(failed)} check(s) failed.[/red]")
        raise typer.Exit(1)
    console.print("[green]Verdict: healthy.[/green]")
