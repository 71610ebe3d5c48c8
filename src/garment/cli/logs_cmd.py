"""`garment logs`: search the rotated JSON-lines log file (`log.file`) of the services.

The file family is `<file>.N` (oldest) … `<file>.1`, then `<file>` (current), the order
`logging.handlers.RotatingFileHandler` leaves them in. Lines that are not JSON objects (a line cut
by a crash, a foreign line) are skipped and counted. `garment incident timeline` reads the log
through the same `LogFiles`.
"""

from __future__ import annotations

import heapq
import json
import re
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from garment.cli.base import app, err_console, execute, load_cli_settings
from garment.config import Settings
from garment.platform.errors import CommandError
from garment.platform.i18n import Message
from garment.runtime import Runtime

# --- messages (every sentence an operator reads, in Indonesian and English) --------------------

ENABLE_HINT = Message(
    "Aktifkan dengan GARMENT_LOG__FILE=/var/log/garment/garment.log (atau `[log] file = ...` di "
    "garment.toml), lalu mulai ulang `garment serve` / `garment worker`: hanya keduanya yang "
    "menulis berkas log.",
    "Enable it with GARMENT_LOG__FILE=/var/log/garment/garment.log (or `[log] file = ...` in "
    "garment.toml), then restart `garment serve` / `garment worker`: only they write the log "
    "file.",
)


@dataclass(frozen=True, slots=True)
class Notice:
    """A sentence an operator command prints, with a stable code to search the docs for."""

    code: str
    message: Message
    hint: Message | None = None

    def render(self, *, style: str = "red", **params: Any) -> str:
        """Both languages, Indonesian first (the house default), markup-safe."""
        lines = [
            f"[{style}]{self.code}[/{style}] {escape(self.message.id.format(**params))}",
            escape(self.message.en.format(**params)),
        ]
        if self.hint is not None:
            lines += [escape(self.hint.id), escape(self.hint.en)]
        return "\n".join(lines)


LOG_FILE_NOT_CONFIGURED = Notice(
    "LOG_FILE_NOT_CONFIGURED",
    Message(
        "Tidak ada berkas log: `log.file` tidak diatur, jadi log hanya ke stdout.",
        "There is no log file: `log.file` is not set, so the log goes to stdout only.",
    ),
    ENABLE_HINT,
)
LOG_FILE_MISSING = Notice(
    "LOG_FILE_MISSING",
    Message(
        "Berkas log {path} (dan cadangannya {path}.1 …) tidak ada. Belum ada layanan yang "
        "menulisnya, atau layanan berjalan dengan `log.file` lain.",
        "The log file {path} (and its backups {path}.1 …) does not exist. No service has "
        "written it yet, or the services run with another `log.file`.",
    ),
    ENABLE_HINT,
)
LINES_SKIPPED = Notice(
    "LOG_LINES_SKIPPED",
    Message(
        "{count} baris yang bukan objek JSON dilewati (baris terpotong atau asing).",
        "{count} line(s) that are not JSON objects were skipped (cut off or foreign).",
    ),
)
RESULTS_TRUNCATED = Notice(
    "RESULTS_TRUNCATED",
    Message(
        "Hanya {shown} baris terbaru dari {total} yang ditampilkan; persempit dengan --since "
        "atau naikkan --limit.",
        "Only the newest {shown} of {total} rows are shown; narrow --since or raise --limit.",
    ),
)
USER_NOT_FOUND = Notice(
    "USER_NOT_FOUND",
    Message("Tidak ada pengguna dengan email {ref}.", "No user with email {ref}."),
)
TENANT_NOT_FOUND = Notice(
    "TENANT_NOT_FOUND",
    Message("Tidak ada tenant dengan slug atau id {ref}.", "No tenant with the slug or id {ref}."),
)
SINCE_INVALID = Notice(
    "SINCE_INVALID",
    Message(
        "--since {value} tidak dikenali: pakai 30m, 12h, 2d, 1w atau waktu ISO 8601 "
        "(2026-12-01T08:00:00Z).",
        "--since {value} is not understood: use 30m, 12h, 2d, 1w or an ISO 8601 time "
        "(2026-12-01T08:00:00Z).",
    ),
)


class Refused(CommandError):
    """An expected refusal of `logs` or `incident`: printed in both languages, exit code 1."""

    def __init__(self, notice: Notice, **params: Any) -> None:
        super().__init__(notice.message.en.format(**params))
        self.notice = notice
        self.params = params

    def render(self) -> str:
        return self.notice.render(**self.params)


def refuse(error: Refused, *, exit_code: int = 1) -> typer.Exit:
    # soft_wrap: the terminal wraps, so a path or a command stays whole when copied.
    err_console.print(error.render(), soft_wrap=True)
    return typer.Exit(exit_code)


def warn(notice: Notice, **params: Any) -> None:
    err_console.print(notice.render(style="yellow", **params), soft_wrap=True)


# --- time and level options -------------------------------------------------------------------

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """`30m`, `12h`, `2d`, `1w` before now, or an ISO 8601 time (UTC when it names no zone)."""
    if value is None:
        return None
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = relative.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(SINCE_INVALID, value=value) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


LEVEL_RANK = {
    "debug": 10,
    "info": 20,
    "warning": 30,
    "warn": 30,
    "error": 40,
    "exception": 40,
    "critical": 50,
}


def level_rank(name: object) -> int:
    return LEVEL_RANK.get(str(name).lower(), 0)


# --- reading the files ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One JSON line: its time (None when it carries none) and every field as written."""

    at: datetime | None
    fields: dict[str, Any]
    position: tuple[int, int]  # (file index, line number): order in the files, and identity

    @property
    def request_id(self) -> str | None:
        value = self.fields.get("request_id")
        return str(value) if value is not None else None


# The id members as our JSON renderer writes them (`"request_id": "…"`).
_ID_MEMBER = re.compile(r'"(?:request_id|user_id|tenant_id)": "([^"\\]*)"')
FEW_NEEDLES = 16


def raw_filter(needles: Collection[str]) -> Callable[[str], bool] | None:
    """A test on a raw line that keeps every line naming one of `needles`: substrings for a
    few, and for many (a user's every request) one look-up per id member of the line."""
    if not needles:
        return None
    if len(needles) <= FEW_NEEDLES:
        few = tuple(needles)
        return lambda raw: any(needle in raw for needle in few)
    many = frozenset(needles)
    return lambda raw: any(value in many for value in _ID_MEMBER.findall(raw))


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class LogFiles:
    """The rotated family of one log file, read oldest first."""

    path: Path
    skipped: int = field(default=0, init=False)

    def files(self) -> list[Path]:
        """Existing files, oldest first: the highest-numbered backup … `.1`, then the file."""
        backups: list[tuple[int, Path]] = []
        if self.path.parent.is_dir():
            prefix = self.path.name + "."
            for candidate in self.path.parent.iterdir():
                suffix = candidate.name[len(prefix) :]
                if candidate.name.startswith(prefix) and suffix.isdigit() and candidate.is_file():
                    backups.append((int(suffix), candidate))
        ordered = [path for _, path in sorted(backups, reverse=True)]
        if self.path.is_file():
            ordered.append(self.path)
        return ordered

    def entries(
        self, *, since: datetime | None = None, needles: Collection[str] = ()
    ) -> Iterator[LogEntry]:
        """Every readable line at `since` or later. With `needles`, only lines whose raw text
        contains one of them are parsed at all (a cheap pre-filter for ids)."""
        wanted = raw_filter(needles)
        for index, path in enumerate(self.files()):
            try:
                if since is not None and path.stat().st_mtime < since.timestamp():
                    continue  # last written before `since`: every line in it is older
                handle = path.open(encoding="utf-8", errors="replace")
            except FileNotFoundError:  # rotated away while we listed the directory
                continue
            with handle:
                for number, raw in enumerate(handle, start=1):
                    if wanted is not None and not wanted(raw):
                        continue
                    entry = self._parse(raw, (index, number))
                    if entry is None:
                        continue
                    if since is not None and (entry.at is None or entry.at < since):
                        continue
                    yield entry

    def _parse(self, raw: str, position: tuple[int, int]) -> LogEntry | None:
        text = raw.strip()
        if not text:
            return None
        try:
            fields = json.loads(text)
        except ValueError:
            self.skipped += 1
            return None
        if not isinstance(fields, dict):
            self.skipped += 1
            return None
        return LogEntry(_parse_time(fields.get("timestamp")), fields, position)


def log_files_of(settings: Settings, override: Path | None = None) -> LogFiles:
    """The log file family to read, or a refusal saying why there is none."""
    path = override or settings.log.file
    if path is None:
        raise Refused(LOG_FILE_NOT_CONFIGURED)
    files = LogFiles(path)
    if not files.files():
        raise Refused(LOG_FILE_MISSING, path=str(path.absolute()))
    return files


def newest(entries: Iterator[LogEntry], limit: int) -> tuple[list[LogEntry], int]:
    """The newest `limit` entries in time order, and how many matched in all."""
    kept: list[tuple[datetime, tuple[int, int], LogEntry]] = []
    total = 0
    earliest = datetime.min.replace(tzinfo=UTC)
    for entry in entries:
        total += 1
        key = (entry.at or earliest, entry.position, entry)
        if len(kept) < limit:
            heapq.heappush(kept, key)
        elif key[:2] > kept[0][:2]:
            heapq.heapreplace(kept, key)
    return [entry for _, _, entry in sorted(kept, key=lambda item: item[:2])], total


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Every given criterion must hold (`garment logs`)."""

    request_id: str | None = None
    user_id: str | None = None
    tenant_id: str | None = None
    min_level: int = 0
    event: str | None = None  # exact name or a glob: `auth.*`

    def needles(self) -> tuple[str, ...]:
        # The most selective id the line must contain, for the raw-text pre-filter.
        for value in (self.request_id, self.user_id, self.tenant_id):
            if value:
                return (value,)
        return ()

    def accepts(self, entry: LogEntry) -> bool:
        fields = entry.fields
        if self.request_id is not None and fields.get("request_id") != self.request_id:
            return False
        if self.user_id is not None and fields.get("user_id") != self.user_id:
            return False
        if self.tenant_id is not None and fields.get("tenant_id") != self.tenant_id:
            return False
        if self.min_level and level_rank(fields.get("level")) < self.min_level:
            return False
        return self.event is None or fnmatchcase(str(fields.get("event", "")), self.event)


def as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


async def resolve_user(runtime: Runtime, ref: str) -> uuid.UUID:
    """A user id, or the id of the user with this email (read-only)."""
    direct = as_uuid(ref)
    if direct is not None:
        return direct
    async with runtime.central.transaction() as session:
        account = await runtime.auth.accounts.find_by_email(session, ref)
    if account is None:
        raise Refused(USER_NOT_FOUND, ref=ref)
    return account.id


async def resolve_tenant(runtime: Runtime, ref: str) -> uuid.UUID:
    """A tenant id from an id or a slug (read-only; an unknown id is refused too)."""
    async with runtime.central.transaction() as session:
        tenant = await runtime.tenancy.find(session, ref)
    if tenant is None:
        raise Refused(TENANT_NOT_FOUND, ref=ref)
    return tenant.id


# --- output ---------------------------------------------------------------------------------------

SHOWN_APART = ("timestamp", "level", "event", "request_id", "user_id", "tenant_id", "logger")


def short_id(value: object) -> str:
    """A UUID shortened for tables (JSON output keeps every id whole)."""
    if value is None:
        return ""
    text = str(value)
    return text[:8] if as_uuid(text) is not None else text


def table_time(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if at else "-"


def compact(
    fields: dict[str, Any], *, skip: tuple[str, ...] = SHOWN_APART, width: int = 160
) -> str:
    """`key=value` for every field not shown in its own column, cut to `width`."""
    parts = []
    for key, value in fields.items():
        if key in skip or value is None:
            continue
        plain = isinstance(value, str) and value and not any(c.isspace() for c in value)
        shown = value if plain else json.dumps(value, default=str, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    cell: Callable[[dict[str, Any]], str]
    width: int = 40  # padded up to the widest cell, at most this; longer cells stay whole


def print_table(rows: list[dict[str, Any]], *, title: str, columns: tuple[Column, ...]) -> None:
    """A plain-text table, one line per row: log rows are wider than any terminal, so cells are
    never wrapped or cut (ids stay whole for copying); the last column runs on and the terminal
    wraps it."""
    cells = [[column.cell(row) for column in columns] for row in rows]
    widths = [
        min(column.width, max([len(column.header)] + [len(line[index]) for line in cells]))
        for index, column in enumerate(columns)
    ]

    def line(values: list[str]) -> str:
        padded = [value.ljust(width) for value, width in zip(values[:-1], widths, strict=False)]
        return "  ".join([*padded, values[-1]]).rstrip()

    typer.echo(title)
    typer.echo(line([column.header.upper() for column in columns]))
    for values in cells:
        typer.echo(line(values))


LOG_COLUMNS = (
    Column("time", lambda f: table_time(_parse_time(f.get("timestamp")))),
    Column("level", lambda f: str(f.get("level", "")), width=8),
    Column("event", lambda f: str(f.get("event", "")), width=32),
    Column("request id", lambda f: str(f.get("request_id") or "-")),
    Column("user", lambda f: short_id(f.get("user_id")) or "-", width=8),
    Column("tenant", lambda f: short_id(f.get("tenant_id")) or "-", width=8),
    Column("rest", lambda f: compact(f)),
)


# --- the command ------------------------------------------------------------------------------


@app.command("logs")
def logs(
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            help="Only lines of this request (X-Request-ID, or a job's `job-<id>-…`).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="Only lines naming this user (`user_id`): an email (looked up in the "
            "central database) or a user id."
        ),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            help="Only lines naming this tenant (`tenant_id`): a slug (looked up in the "
            "central database) or a tenant id."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only lines this recent: 30m, 12h, 2d, 1w or an ISO 8601 time."),
    ] = None,
    level: Annotated[
        LogLevel | None,
        typer.Option(help="Only this level and above (warning: warnings, errors, critical)."),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(help="Only this event name; a glob matches several (`auth.*`)."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="Show the newest N matching lines.")
    ] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the matching lines as JSON lines, unchanged.")
    ] = False,
    file: Annotated[
        Path | None,
        typer.Option(help="Read this log file (and its backups) instead of `log.file`."),
    ] = None,
) -> None:
    """Search the services' log file (`log.file`; on the embedded default
    `.garment/logs/garment.log`) and its rotated backups, oldest first. Criteria combine (all
    must hold); the newest `--limit` lines print in time order, as a table or, with `--json`,
    as the original JSON lines. Exit 1 when there is no log file to read."""
    settings = load_cli_settings()
    try:
        files = log_files_of(settings, file)
        cutoff = parse_since(since)
    except Refused as error:
        raise refuse(error) from error
    user_id = str(as_uuid(user)) if user and as_uuid(user) else None
    tenant_id = str(as_uuid(tenant)) if tenant and as_uuid(tenant) else None
    if (user and user_id is None) or (tenant and tenant_id is None):

        async def lookup(runtime: Runtime) -> tuple[str | None, str | None]:
            found_user = str(await resolve_user(runtime, user)) if user else None
            found_tenant = str(await resolve_tenant(runtime, tenant)) if tenant else None
            return found_user, found_tenant

        try:
            user_id, tenant_id = execute(lookup)
        except Refused as error:
            raise refuse(error) from error
    criteria = LogFilter(
        request_id=request_id,
        user_id=user_id,
        tenant_id=tenant_id,
        min_level=level_rank(level.value) if level else 0,
        event=event,
    )
    matching = (
        entry
        for entry in files.entries(since=cutoff, needles=criteria.needles())
        if criteria.accepts(entry)
    )
    shown, total = newest(matching, limit)
    if as_json:
        for entry in shown:
            typer.echo(json.dumps(entry.fields, default=str))
    else:
        print_table(
            [entry.fields for entry in shown],
            title=f"Log lines ({files.path})",
            columns=LOG_COLUMNS,
        )
    if files.skipped:
        warn(LINES_SKIPPED, count=files.skipped)
    if total > len(shown):
        warn(RESULTS_TRUNCATED, shown=len(shown), total=total)
