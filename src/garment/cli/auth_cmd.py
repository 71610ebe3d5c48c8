"""`garment auth ...`: keys, tokens, admins, sessions and activities (incident playbook 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from garment.central.auth.ports import AUDIENCE_CORE, AUDIENCE_TENANT
from garment.central.auth.service import ActivityFilter
from garment.cli.base import app, console, err_console, execute
from garment.platform.errors import AppError
from garment.platform.pagination import PageParams
from garment.runtime import Runtime

auth_app = typer.Typer(help="Central auth operations.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
auth_app.add_typer(keys_app, name="keys")
app.add_typer(auth_app, name="auth")


@keys_app.command("rotate")
def rotate_keys(
    revoke_previous: Annotated[
        bool,
        typer.Option(
            "--revoke-previous",
            help="The previous key leaked: stop accepting its tokens now, in every process "
            "(clients refresh and get tokens from the new key).",
        ),
    ] = False,
) -> None:
    """Add a new signing key; the previous one keeps verifying until its tokens expire."""

    async def action(runtime: Runtime) -> str:
        async with runtime.central.transaction() as session:
            return await runtime.auth.keys.rotate(session, revoke_previous=revoke_previous)

    kid = execute(action)
    previous = "no longer verifies" if revoke_previous else "verifies until its tokens expire"
    console.print(f"new signing key [bold]{kid}[/bold]; the previous key {previous}")


@keys_app.command("list")
def list_keys() -> None:
    """Keys published in the JWKS (the active one signs)."""

    async def action(runtime: Runtime) -> list[Any]:
        await runtime.auth.keys.reload()
        return runtime.auth.keys.loaded_keys()

    table = Table(title="Signing keys")
    for column in ("kid", "created", "signing", "verifies until"):
        table.add_column(column)
    for key in execute(action):
        table.add_row(
            key.kid,
            f"{key.created_at:%Y-%m-%d %H:%M}",
            "yes" if key.retired_at is None else "no",
            str(key.verify_until or "-"),
        )
    console.print(table)


@auth_app.command("inspect-token")
def inspect_token(
    token: Annotated[str, typer.Argument(help="An access token (JWT).")],
) -> None:
    """Verify an access token against our keys and print its claims (playbook 2: compare the
    token's `tid` with the client's X-Tenant-ID)."""

    async def action(runtime: Runtime) -> dict[str, Any]:
        tokens = runtime.auth.tokens
        decoded = tokens.inspect(token)
        audience = decoded["claims"].get("aud", AUDIENCE_CORE)
        verdict = "valid"
        try:
            await tokens.verify(
                token, audience if audience in (AUDIENCE_CORE, AUDIENCE_TENANT) else AUDIENCE_CORE
            )
        except AppError as error:
            verdict = error.code
        claims = decoded["claims"]
        for name in ("iat", "exp", "nbf"):
            if name in claims:
                claims[f"{name}_utc"] = datetime.fromtimestamp(claims[name], UTC).isoformat()
        return {"verdict": verdict, **decoded}

    try:
        result = execute(action)
    except Exception as exc:
        err_console.print(f"[red]not a JWT:[/red] {type(exc).__name__}")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result, indent=2, default=str))
    if result["verdict"] != "valid":
        raise typer.Exit(1)


@auth_app.command("make-admin")
def make_admin(email: Annotated[str, typer.Argument(help="Email of an existing user.")]) -> None:
    """Grant platform-admin rights (unlocks /api/v1/admin/*)."""

    async def action(runtime: Runtime) -> bool:
        async with runtime.central.transaction() as session:
            return await runtime.auth.accounts.make_admin(session, email) is not None

    if not execute(action):
        err_console.print(f"[red]no user with email {email}[/red]")
        raise typer.Exit(1)
    console.print(f"{email} is now a platform admin")


@auth_app.command("revoke-sessions")
def revoke_sessions(
    user: Annotated[str, typer.Option("--user", help="Email of the user to sign out.")],
) -> None:
    """Force logout: revoke every session of a user; takes effect on their next request."""

    async def action(runtime: Runtime) -> int | None:
        async with runtime.central.transaction() as session:
            account = await runtime.auth.accounts.find_by_email(session, user)
            if account is None:
                return None
            return await runtime.auth.sessions.force_logout(session, account.id, by=None, via="cli")

    count = execute(action)
    if count is None:
        err_console.print(f"[red]no user with email {user}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {count} session(s) of {user}")


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@auth_app.command("activities")
def activities(
    suspicious: Annotated[bool, typer.Option("--suspicious", help="Only suspicious.")] = False,
    since: Annotated[str | None, typer.Option(help="RFC 3339 time or 30m / 12h / 7d.")] = None,
    user: Annotated[str | None, typer.Option(help="Email of one user.")] = None,
    request_id: Annotated[str | None, typer.Option(help="X-Request-ID from the logs.")] = None,
    reason: Annotated[str | None, typer.Option(help="Suspicious reason.")] = None,
    type_: Annotated[
        str | None, typer.Option("--type", help="Activity type, e.g. tenant_context_mismatch.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Auth activities, newest first (playbook 1 starts here with --request-id or --suspicious)."""

    async def action(runtime: Runtime) -> list[dict[str, Any]] | None:
        async with runtime.central.transaction() as session:
            user_id = None
            if user is not None:
                account = await runtime.auth.accounts.find_by_email(session, user)
                if account is None:
                    return None
                user_id = account.id
            rows, _ = await runtime.auth.activities.list(
                session,
                ActivityFilter(
                    user_id=user_id,
                    since=_parse_since(since),
                    reason=reason,
                    request_id=request_id,
                    type=type_,
                    suspicious_only=suspicious,
                ),
                PageParams(limit=limit),
            )
            return [
                {
                    "id": r.id,
                    "at": r.occurred_at.isoformat(),
                    "type": r.type,
                    "user_id": str(r.user_id) if r.user_id else None,
                    "session_id": str(r.session_id) if r.session_id else None,
                    "tenant_id": str(r.tenant_id) if r.tenant_id else None,
                    "actor_id": str(r.actor_id) if r.actor_id else None,
                    "suspicious": r.suspicious,
                    "user_agent": r.user_agent,
                    "reason": r.reason,
                    "ip": r.ip,
                    "request_id": r.request_id,
                    "details": r.details,
                }
                for r in rows
            ]

    rows = execute(action)
    if rows is None:
        err_console.print(f"[red]no user with email {user}[/red]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Auth activities")
    for column in ("at", "type", "reason", "user", "ip", "request id"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["at"][:19],
            row["type"],
            row["reason"] or "",
            row["user_id"] or "",
            row["ip"] or "",
            row["request_id"] or "",
        )
    console.print(table)
