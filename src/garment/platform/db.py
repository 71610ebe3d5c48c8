"""Database engines, the declarative bases and the unit of work.

The request (or job) owns the transaction: `Database.transaction()` commits when the block ends
and rolls back on any exception. Services only flush, so they compose inside one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import ClauseElement, DateTime, Dialect, MetaData, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import func
from sqlalchemy.util import greenlet_spawn

from garment.platform.errors import AppError
from garment.platform.rls import bind_driver_to_tenant

# Deterministic constraint names keep migrations reviewable and diffs clean.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class CentralBase(DeclarativeBase):
    """Tables of the central database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class TenantBase(DeclarativeBase):
    """Tenant-scoped tables that live on every cluster (RLS-bound)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def check_in(column: str, values: Iterable[str]) -> str:
    """A CHECK expression restricting `column` to the values of a StrEnum."""
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), default=utcnow, onupdate=utcnow
    )


def driver_url(url: str, driver: str) -> str:
    """`postgresql://…` with the SQLAlchemy driver named (`asyncpg` or `psycopg`)."""
    _, _, rest = url.partition("://")
    return f"postgresql+{driver}://{rest}"


def plain_url(url: str) -> str:
    """A libpq-style URL (no SQLAlchemy driver suffix) for asyncpg and psql."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+')[0]}://{rest}"


def url_username(url: str) -> str | None:
    return urlsplit(plain_url(url)).username


def url_database(url: str) -> str:
    return urlsplit(plain_url(url)).path.lstrip("/")


def mask_url(url: str) -> str:
    """The URL with its password replaced, for logs and `config show`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":********@", 1)
    return parts._replace(netloc=netloc).geturl()


@dataclass(frozen=True, slots=True)
class PoolOptions:
    pool_size: int = 20
    max_overflow: int = 0
    statement_timeout_ms: int = 15_000
    application_name: str = "garment"


def create_engine(
    url: str, options: PoolOptions | None = None, *, connection_class: type[Any] | None = None
) -> AsyncEngine:
    """An asyncpg pool. No pre-ping: it would cost a round trip on every checkout, and a dead
    connection is already handled where it fails (the cluster breaker, a 503 with Retry-After,
    SQLAlchemy invalidating the pool so the next checkout reconnects)."""
    options = options or PoolOptions()
    server_settings = {"application_name": options.application_name}
    if options.statement_timeout_ms:
        server_settings["statement_timeout"] = str(options.statement_timeout_ms)
    connect_args: dict[str, Any] = {"server_settings": server_settings, "timeout": 5}
    if connection_class is not None:
        connect_args["connection_class"] = connection_class
    return create_async_engine(
        driver_url(url, "asyncpg"),
        pool_size=options.pool_size,
        max_overflow=options.max_overflow,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args=connect_args,
    )


@dataclass(frozen=True, slots=True)
class DriverQuery:
    """A statement compiled once to the driver's SQL (`$1`, `$2`, ...) with the names of its
    parameters in order, for `fetch_records`."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect) -> DriverQuery:
        compiled = statement.compile(dialect=dialect)
        positions: Any = getattr(compiled, "positiontup", None) or ()
        return cls(str(compiled), tuple(positions))


async def fetch_records(
    session: AsyncSession, query: DriverQuery, params: dict[str, Any]
) -> list[Any]:
    """Run a read on the session's own connection and transaction, straight through the driver
    (asyncpg records, no SQLAlchemy result processing): for hot list endpoints, where the ORM's
    per-statement overhead is most of the request's cost. The transaction is the session's, so
    RLS binding, commit and rollback stay exactly as for ORM statements."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapter: Any = raw.dbapi_connection
    if getattr(adapter, "_transaction", None) is None:
        # SQLAlchemy's asyncpg adapter opens the real transaction lazily, at its first statement;
        # open it the same way (BEGIN, with the tenant binding) before reading past it.
        await adapter._start_transaction()
    driver: Any = raw.driver_connection
    records: list[Any] = await driver.fetch(query.sql, *(params[name] for name in query.names))
    return records


class RecordReader(Protocol):
    """Where a hot read runs its compiled statement: the request's ORM session
    (`SessionReader`) or a read-only transaction straight on a pooled driver connection
    (`ReadTransaction`)."""

    @property
    def dialect(self) -> Dialect: ...

    async def fetch(self, query: DriverQuery, params: dict[str, Any]) -> list[Any]: ...


class SessionReader:
    """Reads on an ORM session's own transaction (a list inside a unit of work)."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> Dialect:
        return self.session.get_bind().dialect

    async def fetch(self, query: DriverQuery, params: dict[str, Any]) -> list[Any]:
        return await fetch_records(self.session, query, params)


def as_reader(source: AsyncSession | RecordReader) -> RecordReader:
    return SessionReader(source) if isinstance(source, AsyncSession) else source


class ReadTransaction:
    """A read-only transaction straight on one pooled driver connection, with no ORM session
    around it: what the hot GET lists read through, where the session's bookkeeping (its begin,
    connection, commit and close through greenlets) costs more than the statements
    (bench/README.md). The connection is taken at the first statement, the transaction begins
    `READ ONLY` in that round trip (with the tenant binding when the pool's connections carry
    one), and `finish` commits (or rolls back) and hands the connection back. A connection a
    failure broke is invalidated.

    Records are the driver's (asyncpg), with the codecs SQLAlchemy's dialect installs on its
    connections (JSON and JSONB decoded)."""

    __slots__ = ("_driver", "_engine", "_fairy", "_tenant_id", "_transaction")

    def __init__(self, engine: AsyncEngine, tenant_id: uuid.UUID | None) -> None:
        self._engine = engine
        self._tenant_id = tenant_id
        self._fairy: Any = None
        self._driver: Any = None
        self._transaction: Any = None

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    async def fetch(self, query: DriverQuery, params: dict[str, Any]) -> list[Any]:
        driver = self._driver or await self._begin()
        records: list[Any] = await driver.fetch(query.sql, *(params[name] for name in query.names))
        return records

    async def _begin(self) -> Any:
        self._fairy = await self._engine.raw_connection()
        driver = self._fairy.driver_connection
        bind_driver_to_tenant(driver, self._tenant_id)
        transaction = driver.transaction(readonly=True)
        await transaction.start()
        self._transaction, self._driver = transaction, driver
        return driver

    async def finish(self, failure: BaseException | None) -> None:
        """Commit (or, after `failure`, roll back) and give the connection back."""
        fairy, transaction = self._fairy, self._transaction
        if fairy is None:
            return
        self._fairy = self._driver = self._transaction = None
        broken = failure is not None and is_connection_failure(failure)
        try:
            if transaction is not None and not broken:
                await (transaction.commit() if failure is None else transaction.rollback())
        except BaseException as error:
            broken = broken or is_connection_failure(error)
            raise
        finally:
            await _give_back(fairy, broken=broken)


async def _give_back(fairy: Any, *, broken: bool) -> None:
    """Return a raw pooled connection; one a failure broke is invalidated first, so the pool
    does not hand it out again."""
    if broken:
        fairy.invalidate()
    # Checking in may close an overflow connection, which awaits the driver.
    await greenlet_spawn(fairy.close)


class DriverStatements:
    """Statements on one pooled driver connection, each its own implicit transaction (no
    BEGIN/COMMIT, no ORM session, no result processing): for hot paths whose writes are single
    statements, which PostgreSQL makes atomic by themselves (data-modifying CTEs included).
    `Database.statements` hands one out."""

    __slots__ = ("_driver", "dialect")

    def __init__(self, driver: Any, dialect: Dialect) -> None:
        self._driver = driver
        self.dialect = dialect

    async def fetch(self, query: DriverQuery, params: dict[str, Any]) -> list[Any]:
        records: list[Any] = await self._driver.fetch(
            query.sql, *(params[name] for name in query.names)
        )
        return records

    async def fetchrow(self, query: DriverQuery, params: dict[str, Any]) -> Any | None:
        return await self._driver.fetchrow(query.sql, *(params[name] for name in query.names))

    async def execute(self, query: DriverQuery, params: dict[str, Any]) -> None:
        await self._driver.execute(query.sql, *(params[name] for name in query.names))


async def execute_alone(database: Database, query: DriverQuery, params: dict[str, Any]) -> Any:
    """One statement on a pooled connection of its own (`DriverStatements`): its first row, or
    None."""
    async with database.statements() as statements:
        return await statements.fetchrow(query, params)


async def fetch_alone(database: Database, query: DriverQuery, params: dict[str, Any]) -> list[Any]:
    """Every row of one read, run as `execute_alone` runs its statement."""
    async with database.statements() as statements:
        return await statements.fetch(query, params)


# Keyed by the statement itself (statements hash by identity), so a key stays its statement.
_COMPILED: dict[tuple[ClauseElement, type[Dialect]], DriverQuery] = {}


def driver_query(statement: ClauseElement, dialect: Dialect) -> DriverQuery:
    """A module-level `statement` in the driver's SQL, compiled once per kind of dialect."""
    key = (statement, type(dialect))
    query = _COMPILED.get(key)
    if query is None:
        query = _COMPILED[key] = DriverQuery.compile(statement, dialect)
    return query


@asynccontextmanager
async def fresh_connection(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection of its own, not one from the pool: a pooled connection may be one the server
    closed long ago, and a probe must show what a new connection meets now."""
    engine = create_async_engine(database.engine.url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


AfterCommitHook = Callable[[AsyncSession], None]


@dataclass
class Database:
    """One database (central or a cluster): its engine and its transactions."""

    name: str
    engine: AsyncEngine
    after_commit_hooks: list[AfterCommitHook] = field(default_factory=list)
    session_class: type[Session] = Session

    @property
    def url(self) -> str:
        """The connection URL (with its password: for `where()` and the driver only)."""
        return self.engine.url.render_as_string(hide_password=False)

    def __post_init__(self) -> None:
        self.sessionmaker = async_sessionmaker(
            self.engine,
            expire_on_commit=False,
            autoflush=True,
            sync_session_class=self.session_class,
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits when the block ends and rolls back on error."""
        async with self.sessionmaker() as session:
            try:
                yield session
            except AppError as error:
                if not error.keep_changes:
                    await session.rollback()
                    raise
                await self._commit(session)
                raise
            except BaseException:
                await session.rollback()
                raise
            await self._commit(session)

    @asynccontextmanager
    async def read_transaction(
        self, tenant_id: uuid.UUID | None = None
    ) -> AsyncIterator[ReadTransaction]:
        """A read-only transaction without an ORM session (`ReadTransaction`)."""
        reader = ReadTransaction(self.engine, tenant_id)
        try:
            yield reader
        except BaseException as error:
            await reader.finish(error)
            raise
        await reader.finish(None)

    @asynccontextmanager
    async def statements(self) -> AsyncIterator[DriverStatements]:
        """A pooled connection for `DriverStatements`, handed back when the block ends; one a
        failure broke is invalidated, so the pool does not hand it out again. Straight from the
        pool, as `ReadTransaction` takes its connection: no `AsyncConnection` around it."""
        fairy: Any = await self.engine.raw_connection()
        broken = False
        try:
            yield DriverStatements(fairy.driver_connection, self.engine.dialect)
        except BaseException as error:
            broken = is_connection_failure(error)
            raise
        finally:
            await _give_back(fairy, broken=broken)

    async def _commit(self, session: AsyncSession) -> None:
        # A unit of work that ran no statement and holds no pending object has nothing to
        # commit: skipping it saves the session's transaction bookkeeping on requests served
        # from caches.
        if session.in_transaction() or session.new or session.dirty or session.deleted:
            await session.commit()
        self._run_after_commit(session)

    def _run_after_commit(self, session: AsyncSession) -> None:
        for hook in self.after_commit_hooks:
            hook(session)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("select 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


CONNECTION_ERROR_NAMES = frozenset(
    {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",  # 57P03: the server is starting up or shutting down
        "PostgresConnectionError",
        "ConnectionFailureError",
        "ConnectionRejectionError",
        "AdminShutdownError",  # 57P01: terminated by an administrator (a fast shutdown)
        "CrashShutdownError",
        "InterfaceError",
    }
)


# Refusals a server answers at connect time: the database is there but takes no connection
# from us now (too many connections, database dropped or renamed, credentials rotated). For the
# caller they are an outage like a refused socket: 503 with Retry-After, and the breaker opens.
CONNECT_REFUSALS = frozenset({"53300", "3D000", "28P01", "28000"})
NOT_ACCEPTING = "55000"  # "database ... is not currently accepting connections" (datallowconn)


def _refused_at_connect(error: BaseException) -> bool:
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate in CONNECT_REFUSALS:
        return True
    return sqlstate == NOT_ACCEPTING and "accepting connections" in str(error)


def causes(error: BaseException) -> list[BaseException]:
    """`error` and everything behind it, following both `__cause__` and `__context__`:
    SQLAlchemy wraps driver errors (sometimes twice), and a failure while cleaning up (a
    rollback on a connection the server closed) hides the real one in its context."""
    found: list[BaseException] = []
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


def is_connection_failure(error: BaseException) -> bool:
    """Errors that mean "the database is not there", as opposed to a bad query."""
    for current in causes(error):
        if isinstance(current, OSError | TimeoutError | ConnectionError):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.InterfaceError | sa_exc.OperationalError):
            return True
        if type(current).__name__ in CONNECTION_ERROR_NAMES:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(("08", "57P")):
            return True
        if _refused_at_connect(current):
            return True
        if type(current).__name__ == "InternalClientError" and "in progress" in str(current):
            # The driver's state machine after the server dropped the connection mid-operation
            # (its rollback then meets "another operation is in progress"): the connection is
            # unusable, which for the caller is the same outage.
            return True
    return False


def describe_failure(error: BaseException) -> str:
    """For operators (doctor, probe, logs): the driver error's class, SQLSTATE and first message
    line (the innermost error with a SQLSTATE, else the innermost one). Driver messages name
    host and port but never the password."""
    chain = causes(error)
    with_state = [e for e in chain if getattr(e, "sqlstate", None)]
    innermost = with_state[-1] if with_state else chain[-1]
    sqlstate = getattr(innermost, "sqlstate", None)
    message = (str(innermost).strip().splitlines() or [""])[0][:300]
    code = f" [{sqlstate}]" if sqlstate else ""
    return f"{type(innermost).__name__}{code}: {message}" if message else type(innermost).__name__


def where(url: str) -> str:
    """host:port/database of a URL (no user, no password), to say where a failure happened.
    A Unix socket directory given as `?host=` (the embedded server) counts as the host."""
    parts = urlsplit(plain_url(url))
    query = dict(pair.split("=", 1) for pair in (parts.query or "").split("&") if "=" in pair)
    host = unquote(query.get("host") or parts.hostname or "localhost")
    port = parts.port or query.get("port") or 5432
    return f"{host}:{port}/{parts.path.lstrip('/')}"


def is_rejected_data(error: BaseException) -> bool:
    """Input PostgreSQL cannot store (a NUL character, a lone surrogate, text too long for its
    column): SQLSTATE class 22, or a string the driver cannot encode. The request was bad, the
    server is fine."""
    for current in causes(error):
        if isinstance(current, UnicodeEncodeError):
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("22"):
            return True
    return False


def pool_stats(engine: AsyncEngine) -> dict[str, Any]:
    pool: Any = engine.pool
    return {
        "size": pool.size(),
        "checked_out": pool.checkedout(),
        "overflow": pool.overflow(),
        "checked_in": pool.checkedin(),
    }
