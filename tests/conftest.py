"""Test infrastructure: real PostgreSQL, uniquely named databases, dropped afterwards.

The PostgreSQL at 127.0.0.1:5432 is used when it answers (trust auth, user postgres); otherwise an
embedded one is started from `pgserver` for the session. Each session (each xdist worker) creates
its own owner and application roles, a central database and two cluster databases, migrates them
once, and drops everything at the end. Tests isolate themselves with unique data (emails, slugs),
so they never depend on the databases being empty.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner, Result

# Tests never read a developer's configuration.
for _name in [name for name in os.environ if name.startswith("GARMENT_")]:
    del os.environ[_name]
os.environ["GARMENT_CONFIG_FILE"] = "/nonexistent/garment.toml"

from garment.app import create_app  # noqa: E402
from garment.cli import app as cli  # noqa: E402
from garment.config import Environment, LogSettings, Settings, get_settings  # noqa: E402
from garment.platform.dbsetup import (  # noqa: E402
    DatabaseLayout,
    DatabaseTarget,
    Targets,
    drop_layout,
    ensure_layout,
)
from garment.platform.embedded import EmbeddedPostgres  # noqa: E402
from garment.platform.logging import configure_logging  # noqa: E402
from garment.platform.migrations import migrate_all  # noqa: E402
from garment.runtime import Runtime  # noqa: E402
from tests.roundtrips import RoundTripProxy  # noqa: E402

PG_DATA_ROOT = Path(tempfile.gettempdir()) / f"garment-test-pg-{os.getuid()}"


# The longest test by far (the schemathesis run over every operation, minutes of CPU on its own):
# started first, so the other worker steals the rest of the queue meanwhile (`--dist
# worksteal`) instead of the whole run waiting for it at the end.
FIRST = ("tests/contract/",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: 0 if item.nodeid.startswith(FIRST) else 1)


def pg_data_dir(prefix: str) -> Path:
    """A short, fresh directory for an embedded PostgreSQL's data, outside pytest's temporary
    root: pytest resets that root to mode 0700 whenever any pytest process starts, which locks
    the unprivileged `pgserver` user out of a running server's files. Short, because Unix
    socket paths are limited to about 107 bytes. Removed at exit."""
    PG_DATA_ROOT.mkdir(mode=0o755, exist_ok=True)
    PG_DATA_ROOT.chmod(0o755)
    created = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=PG_DATA_ROOT))
    created.chmod(0o755)
    atexit.register(shutil.rmtree, created, ignore_errors=True)
    return created


# JSON lines, warnings and up: an expected 500 in a test must not render a rich traceback.
configure_logging(LogSettings(level="WARNING", json_output=True))

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
CLUSTER_KEYS = ("default", "secondary")


def local_server_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
        with psycopg.connect(LOCAL_SERVER, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except (OSError, psycopg.Error):
        return False


@pytest.fixture(scope="session")
def pg_superuser_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if local_server_answers():
        yield LOCAL_SERVER
        return
    embedded = EmbeddedPostgres(pg_data_dir("embedded") / "pgdata")
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


def unique_layout(prefix: str = "gt") -> DatabaseLayout:
    suffix = uuid.uuid4().hex[:10]
    return DatabaseLayout(
        owner_role=f"{prefix}_owner_{suffix}",
        app_role=f"{prefix}_app_{suffix}",
        central_database=f"{prefix}_central_{suffix}",
        cluster_databases={key: f"{prefix}_cluster_{key}_{suffix}" for key in CLUSTER_KEYS},
    )


@dataclass
class LayoutFactory:
    """Creates extra uniquely named layouts (e.g. to migrate from empty) and drops them."""

    superuser_url: str
    created: list[DatabaseLayout]

    def __call__(self, prefix: str = "gx") -> tuple[DatabaseLayout, Targets]:
        layout = unique_layout(prefix)
        self.created.append(layout)
        return layout, ensure_layout(self.superuser_url, layout)


@pytest.fixture(scope="session")
def layout_factory(pg_superuser_url: str) -> Iterator[LayoutFactory]:
    factory = LayoutFactory(pg_superuser_url, [])
    try:
        yield factory
    finally:
        for layout in factory.created:
            drop_layout(pg_superuser_url, layout)


@pytest.fixture(scope="session")
def layout_and_targets(layout_factory: LayoutFactory) -> tuple[DatabaseLayout, Targets]:
    layout, targets = layout_factory("gt")
    migrate_all(targets)
    return layout, targets


@pytest.fixture(scope="session")
def targets(layout_and_targets: tuple[DatabaseLayout, Targets]) -> Targets:
    return layout_and_targets[1]


TEST_SECRET_KEY = "test-only-key-encryption-key-0123456789abcdef"


def settings_for(targets: Targets, mail_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": Environment.TEST,
        "data_dir": mail_dir.parent / f"data-{uuid.uuid4().hex[:8]}",
        "database_url": targets.central.app_url,
        "database_migration_url": targets.central.owner_url,
        "clusters": {key: target.app_url for key, target in targets.clusters.items()},
        "cluster_migration_urls": {
            key: target.owner_url for key, target in targets.clusters.items()
        },
        "auto_migrate": False,
        "demo_data": False,
        # The same ceiling per pool as a server (20), but at most 10 kept open when idle: each
        # xdist worker's session runtime has three pools, and they share the machine's
        # `max_connections` (100) with every other runtime and command of the suite.
        "db_pool_size": 10,
        "db_max_overflow": 10,
        "mail": {"directory": mail_dir},
        # No worker runs in the suites (tests run jobs themselves): queued jobs wait by design.
        "jobs": {"in_process_worker": False, "max_queue_wait_seconds": 86400},
        "log": {"json_output": True, "level": "WARNING"},
        # Every test request comes from the same client address; the limits have their own tests.
        "auth": {
            "secret_key": TEST_SECRET_KEY,
            "ip_rate_limit": "100000/minute",
            "email_rate_limit": "100000/hour",
        },
        "rate_limit": {"tenant_creation": "100000/hour"},
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="session")
def settings(targets: Targets, mail_dir: Path) -> Settings:
    return settings_for(targets, mail_dir)


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    active = await Runtime.create(settings, migrate=False)
    async with active.central.transaction() as session:
        await active.cluster_registry.ensure_registered(session, list(CLUSTER_KEYS))
    try:
        yield active
    finally:
        await active.close()


@pytest.fixture(scope="session")
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime=runtime)


def make_client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as http:
        yield http


def garment_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment that points a `garment` process (CLI, server, worker) at these databases."""
    secret = settings.auth.secret_key
    env = {
        "GARMENT_ENVIRONMENT": "test",
        "GARMENT_DATABASE_URL": settings.database_url or "",
        "GARMENT_DATABASE_MIGRATION_URL": settings.database_migration_url or "",
        "GARMENT_CLUSTERS": json.dumps(settings.clusters),
        "GARMENT_CLUSTER_MIGRATION_URLS": json.dumps(settings.cluster_migration_urls),
        "GARMENT_DATA_DIR": str(settings.data_dir),
        "GARMENT_MAIL__DIRECTORY": str(settings.mail_directory),
        "GARMENT_AUTH__SECRET_KEY": secret.get_secret_value() if secret else "",
        # Tests parse command output; keep even stderr log lines out of CliRunner's output.
        "GARMENT_LOG__LEVEL": "CRITICAL",
    }
    env.update(extra)
    return env


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point CLI commands run in this test at the session's databases."""
    for key, value in garment_env(settings).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def garment(*args: str) -> Result:
    """A `garment` command, run in a thread: it owns an event loop of its own."""

    def invoke() -> Result:
        return CliRunner().invoke(cli, list(args))

    return await asyncio.to_thread(invoke)


@dataclass
class StoppableServer:
    """A separate embedded PostgreSQL a test may stop to simulate an outage."""

    embedded: EmbeddedPostgres
    superuser_url: str

    def stop(self) -> None:
        self.embedded.stop()

    def start(self) -> str:
        self.superuser_url = self.embedded.start()
        return self.superuser_url


@pytest.fixture
def stoppable_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[], StoppableServer]]:
    servers: list[StoppableServer] = []

    def start() -> StoppableServer:
        embedded = EmbeddedPostgres(pg_data_dir("pg") / "d")
        server = StoppableServer(embedded, embedded.start())
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


def free_port() -> int:
    """A loopback port nothing listens on right now (for server processes a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def proxied(
    targets: Targets, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, RoundTripProxy, RoundTripProxy]]:
    """A runtime whose central and `default` cluster connections go through counting proxies."""
    central = RoundTripProxy(targets.central.app_url)
    cluster = RoundTripProxy(targets.clusters["default"].app_url)
    await central.start()
    await cluster.start()
    rerouted = Targets(
        DatabaseTarget("central", central.url(), targets.central.owner_url),
        {
            **targets.clusters,
            "default": DatabaseTarget(
                "default", cluster.url(), targets.clusters["default"].owner_url
            ),
        },
    )
    runtime = await Runtime.create(settings_for(rerouted, tmp_path / "mail"), migrate=False)
    async with runtime.central.transaction() as session:
        await runtime.cluster_registry.ensure_registered(session, list(targets.clusters))
    try:
        yield runtime, central, cluster
    finally:
        await runtime.close()
        await central.close()
        await cluster.close()
