"""The Typer application and helpers every command group shares."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from garment.central.tenancy.service import TenantRef
from garment.config import Settings, get_settings
from garment.platform.errors import AppError, CommandError
from garment.platform.logging import configure_logging
from garment.runtime import EmbeddedNotRunning, Runtime

T = TypeVar("T")

TenantArg = Annotated[str, typer.Argument(help="Tenant id or slug.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

app = typer.Typer(
    name="garment",
    help="Garment.id platform backend: serve the API, run workers, migrate and operate.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
    pretty_exceptions_short=True,
)
console = Console()
err_console = Console(stderr=True)


def progress_bar(*, disable: bool = False) -> Progress:
    """The progress display of long operator commands (counted steps with elapsed time)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=disable,
    )


def load_cli_settings(*, service: bool = False) -> Settings:
    """Settings for a command. Services (serve, worker) log JSON lines as configured; operator
    commands print only warnings and errors, readably, so their own output stays legible."""
    try:
        settings = get_settings()
    except Exception as exc:  # pydantic's message names the key and the problem
        err_console.print(f"[red]Invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log, quiet=not service)
    return settings


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; an unexpected failure prints one line (and a hint), not a
    page of traceback. `GARMENT_DEBUG=1` shows the traceback."""
    try:
        return asyncio.run(coroutine)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except (AppError, CommandError):
        raise
    except EmbeddedNotRunning as exc:
        err_console.print(
            f"[red]EMBEDDED_DATABASE_STOPPED[/red] PostgreSQL bawaan di {exc} tidak berjalan; "
            "perintah ini tidak menyalakannya. Jalankan `make run` atau `garment serve`.\n"
            f"The embedded PostgreSQL at {exc} is not running; this command does not start it. "
            "Start it with `make run` or `garment serve`."
        )
        raise typer.Exit(1) from exc
    except Exception as exc:
        if os.environ.get("GARMENT_DEBUG"):
            raise
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {_first_line(exc)}")
        if "does not exist" in str(exc) and ("relation" in str(exc) or "table" in str(exc)):
            err_console.print("hint: the database is not migrated; run `garment migrate`")
        else:
            err_console.print(
                "hint: `garment doctor` checks databases, migrations and config; "
                "GARMENT_DEBUG=1 shows the traceback"
            )
        raise typer.Exit(1) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def refusal_text(error: Exception) -> str:
    """One line for an expected refusal: an error code with its parameters, or the message."""
    if isinstance(error, AppError):
        details = f" {error.params}" if error.params else ""
        return f"[red]{error.code}[/red]{details}"
    render = getattr(error, "render", None)  # a refusal that renders itself in id and en
    if callable(render):
        return str(render())
    return f"[red]refused:[/red] {error}"


def execute(
    action: Callable[[Runtime], Awaitable[T]],
    *,
    refusals: tuple[type[Exception], ...] = (),
    say: Callable[[Any], str] = refusal_text,
    migrate: bool | None = None,
) -> T:
    """Run an operator action with a runtime of its own (closed afterwards). An expected
    refusal (a `CommandError` or one of `refusals`) prints one line, `say(error)`, and exits 1."""
    expected: tuple[type[Exception], ...] = (CommandError, *refusals)
    try:
        return run(with_runtime(load_cli_settings(), action, migrate=migrate))
    except expected as error:
        err_console.print(say(error))
        raise typer.Exit(1) from error


async def find_tenant(runtime: Runtime, ref: str) -> TenantRef:
    """The tenant named by id or slug, or a one-line refusal in both languages."""
    async with runtime.central.transaction() as session:
        tenant: TenantRef | None = await runtime.tenancy.find(session, ref)
    if tenant is None:
        raise CommandError(
            f"TENANT_NOT_FOUND tidak ada tenant {ref!r} / no tenant {ref!r} (id or slug)"
        )
    return tenant


def print_rows(
    rows: list[dict[str, Any]],
    *,
    as_json: bool,
    title: str,
    columns: Sequence[tuple[str, Callable[[dict[str, Any]], str]]],
) -> None:
    """Rows as a JSON array (`--json`) or as a table with the given (header, cell) columns."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=title)
    for header, _ in columns:
        table.add_column(header)
    for row in rows:
        table.add_row(*(cell(row) for _, cell in columns))
    console.print(table)


async def with_runtime(
    settings: Settings,
    action: Callable[[Runtime], Awaitable[T]],
    *,
    migrate: bool | None = None,
    observe: bool = False,
) -> T:
    """Run `action` with a runtime, closing it after. An operator command attaches to a running
    embedded PostgreSQL but never starts a stopped one (that would end the very outage being
    investigated); `observe` (doctor) changes nothing at all."""
    runtime = await Runtime.create(settings, migrate=migrate, start_embedded=False, observe=observe)
    try:
        return await action(runtime)
    finally:
        await runtime.close()
