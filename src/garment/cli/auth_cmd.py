"""`garment auth ...`: keys, tokens, admins, sessions and activities (incident playbook 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
import typer
from rich.table import Table

from garment.central.auth.keys import LoadedKey, Rotation, TokenService
from garment.central.auth.ports import (
    AUDIENCE_CORE,
    AUDIENCE_TENANT,
    ActivityType,
    SuspiciousReason,
)
from garment.central.auth.service import ActivityFilter
from garment.cli.base import app, console, err_console, execute
from garment.platform.errors import AppError
from garment.platform.pagination import PageParams
from garment.runtime import Runtime

auth_app = typer.Typer(help="Central auth operations.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
auth_app.add_typer(keys_app, name="keys")
app.add_typer(auth_app, name="auth")


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@keys_app.command("rotate")
def rotate_keys(
    revoke_previous: Annotated[
        bool,
        typer.Option(
            "--revoke-previous",
            help="The previous key leaked: the new key signs at once and the previous key's "
            "tokens stop verifying now, in every process (clients refresh and get tokens from "
            "the new key).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Publish a new signing key. It is in the JWKS and every process's key ring for
    `auth.signing_key_publish_seconds` before it signs; the previous key then stops signing
    and verifies until the last token it signed has expired."""

    async def action(runtime: Runtime) -> Rotation:
        async with runtime.central.transaction() as session:
            return await runtime.auth.keys.rotate(session, revoke_previous=revoke_previous)

    rotation = execute(action)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "kid": rotation.kid,
                    "activates_at": rotation.activates_at.isoformat(),
                    "previous_verify_until": rotation.previous_verify_until.isoformat(),
                    "revoke_previous": revoke_previous,
                }
            )
        )
        return
    if revoke_previous:
        console.print(
            f"new signing key [bold]{rotation.kid}[/bold] signs now; the previous key no longer "
            "verifies (its tokens fail; clients refresh)"
        )
        return
    console.print(
        f"new signing key [bold]{rotation.kid}[/bold] published; it signs from "
        f"{rotation.activates_at:%Y-%m-%d %H:%M:%S} UTC. The previous key signs until then and "
        f"verifies until {rotation.previous_verify_until:%Y-%m-%d %H:%M:%S} UTC"
    )


@keys_app.command("list")
def list_keys(as_json: JsonOption = False) -> None:
    """Keys published in the JWKS: `pending` (published, signs from `signs from`), `signing`,
    `verifying` (retired, verifies until `verifies until`)."""

    async def action(runtime: Runtime) -> tuple[datetime, list[LoadedKey]]:
        await runtime.auth.keys.reload()
        return runtime.auth.keys.clock(), runtime.auth.keys.loaded_keys()

    now, keys = execute(action)
    rows = [
        {
            "kid": key.kid,
            "state": key.state_at(now),
            "created_at": key.created_at.isoformat(),
            "signs_from": key.signs_from.isoformat(),
            "retired_at": key.retired_at.isoformat() if key.retired_at else None,
            "verify_until": key.verify_until.isoformat() if key.verify_until else None,
        }
        for key in keys
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Signing keys")
    for column in ("kid", "state", "created", "signs from", "verifies until"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.kid,
            key.state_at(now),
            f"{key.created_at:%Y-%m-%d %H:%M:%S}",
            f"{key.signs_from:%Y-%m-%d %H:%M:%S}",
            f"{key.verify_until:%Y-%m-%d %H:%M:%S}" if key.verify_until else "-",
        )
    console.print(table)


@auth_app.command("inspect-token")
def inspect_token(
    token: Annotated[str, typer.Argument(help="An access token (JWT).")],
) -> None:
    """Verify an access token as a request would (signature, claims, and the session behind
    it) and print its header, claims and verdict as JSON (playbook 2: compare the token's `tid`
    with the client's X-Tenant-ID). Exit 0 when a request with it would be accepted, 1
    otherwise (expired, revoked session, bad signature, or not a token at all)."""
    try:
        decoded = TokenService.inspect(token)
    except jwt.PyJWTError:
        err_console.print(
            "[red]AUTH_TOKEN_INVALID[/red] bukan token akses (JWT) / not an access token (JWT): "
            "expected three base64url parts separated by dots"
        )
        raise typer.Exit(1) from None

    async def action(runtime: Runtime) -> str:
        claims = decoded["claims"]
        audience = claims.get("aud", AUDIENCE_CORE)
        try:
            verified = await runtime.auth.tokens.verify(
                token, audience if audience in (AUDIENCE_CORE, AUDIENCE_TENANT) else AUDIENCE_CORE
            )
            await runtime.auth.sessions.live(verified.sid, verified.sub)
        except AppError as error:
            return error.code
        return "valid"

    verdict = execute(action)
    claims = decoded["claims"]
    for name in ("iat", "exp", "nbf"):
        if isinstance(claims.get(name), int | float):
            claims[f"{name}_utc"] = datetime.fromtimestamp(claims[name], UTC).isoformat()
    typer.echo(json.dumps({"verdict": verdict, **decoded}, indent=2, default=str))
    if verdict != "valid":
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
    reason: Annotated[
        SuspiciousReason | None, typer.Option(help="Only activities flagged for this reason.")
    ] = None,
    type_: Annotated[ActivityType | None, typer.Option("--type", help="Only this type.")] = None,
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
