"""Our statements as the driver receives them, for the bare baselines: compiled once by
SQLAlchemy's asyncpg dialect (`$n` parameters, bind casts), exactly as the server sends them, so
a baseline that imports a statement from garment runs the same SQL text and cannot drift."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ClauseElement, Dialect
from sqlalchemy.dialects.postgresql.asyncpg import dialect as _asyncpg_dialect

from garment.platform.db import DriverQuery

ASYNCPG: Dialect = cast(Any, _asyncpg_dialect)()


def driver_query(statement: ClauseElement) -> DriverQuery:
    """`statement` compiled for asyncpg: `.sql` to send, `.names` the parameters in order."""
    return DriverQuery.compile(statement, ASYNCPG)


async def no_reset(connection: Any) -> None:
    """The `reset` of the baselines' asyncpg pools: nothing. asyncpg's default sends
    `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;` on every release, one
    round trip per request more than ours: SQLAlchemy's pool sends nothing when a connection
    comes back after a committed transaction (the tenant binding is transaction-local, so
    nothing is left to reset). A connection released inside a transaction is still rolled
    back (asyncpg does that before calling this)."""
