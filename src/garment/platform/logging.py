"""structlog configuration: one JSON object per line, enriched with the request context.

Standard-library loggers (uvicorn, alembic, sqlalchemy) are routed through the same renderer so
an operator greps one format. Secrets never reach here: callers log identifiers, not tokens.

With `log.file` set, services (server, worker) also write every line as JSON to that file,
rotated by size, whatever stdout shows; `garment logs` and `garment incident timeline` read it.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from garment.config import LogSettings
from garment.platform.context import active_context


def add_request_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    context = active_context()
    if context is None:
        return event_dict
    event_dict.setdefault("request_id", context.request_id)
    if context.user_id is not None:
        event_dict.setdefault("user_id", str(context.user_id))
    if context.tenant_id is not None:
        event_dict.setdefault("tenant_id", str(context.tenant_id))
    return event_dict


def configure_logging(settings: LogSettings, *, quiet: bool = False) -> None:
    """`quiet` (operator commands) shows warnings and errors only, as readable lines."""
    level = logging.getLevelNamesMapping().get(settings.level.upper(), logging.INFO)
    if quiet:
        level = max(level, logging.WARNING)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_request_context,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.json_output and not quiet
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            # Drop below-level calls before any processor runs (request lines are hot).
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    # Operator commands print their results on stdout (tables, --json); their logs go to stderr
    # so a warning never corrupts the output a script parses.
    handler = logging.StreamHandler(sys.stderr if quiet else sys.stdout)
    handler.setFormatter(formatter)
    handlers: list[logging.Handler] = [handler]
    # Operator commands never write the file: it is the services' record, and a command run by
    # another user (or rotating it under a running server) would only muddle it.
    file_problem: str | None = None
    if settings.file is not None and not quiet:
        try:
            handlers.append(log_file_handler(settings.file, settings, shared))
        except OSError as exc:
            file_problem = f"{type(exc).__name__}: {exc}"
    root = logging.getLogger()
    for previous in root.handlers:
        if isinstance(previous, LogFileHandler):  # reconfigured: release the file
            previous.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    # uvicorn's access log would duplicate our request line; its error log stays.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(max(level, logging.INFO))
    if file_problem is not None:
        # Logging to stdout still works; the process runs on and says why the file is missing.
        structlog.get_logger(__name__).warning(
            "log.file_unavailable", path=str(settings.file), error=file_problem
        )


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """The rotated JSON-lines file (`log.file`): `<file>`, then `<file>.1` (newest backup) to
    `<file>.N` (oldest)."""


def log_file_handler(path: Path, settings: LogSettings, shared: list[Any]) -> LogFileHandler:
    """A handler writing every record as one JSON object per line, rotated by size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = LogFileHandler(
        path,
        maxBytes=settings.file_max_bytes,
        backupCount=settings.file_backups,
        encoding="utf-8",
    )
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler
