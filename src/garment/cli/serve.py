"""`garment serve`: the HTTP API (and, by default, an in-process worker).

With `--workers N` (N > 1) several uvicorn processes share one port. The parent prepares the
databases once (on the embedded default it starts the embedded PostgreSQL, migrates and seeds),
then starts the workers with the resolved database URLs in their environment, so no worker
starts, migrates or seeds anything itself. Ctrl-C or SIGTERM stops the workers, then the embedded
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import threading
import time
from typing import Annotated

import httpx
import typer
import uvicorn

from garment.cli.base import app, load_cli_settings, run
from garment.config import Settings
from garment.platform.dbsetup import Targets
from garment.platform.embedded import EmbeddedPostgres
from garment.platform.http.protocol import BoundedHttpToolsProtocol
from garment.runtime import Runtime

WORKER_FACTORY = "garment.app:create_app_from_env"
WORKER_HEALTHCHECK_SECONDS = 60


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: http.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: http.port).")] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run the job worker and outbox relay in this process (default on).",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port (default 1). Each one runs the job worker "
            "and outbox relay unless --no-worker.",
        ),
    ] = 1,
) -> None:
    """Serve the API. With no database configured, starts the embedded PostgreSQL under
    `.garment/pgdata`, migrates, seeds demo data and prints where to go; Ctrl-C stops it all."""
    settings = load_cli_settings(service=True)
    settings.jobs.in_process_worker = worker and settings.jobs.in_process_worker
    bind = (host or settings.http.host, port or settings.http.port)
    if workers > 1:
        serve_workers(settings, bind, workers)
        return
    # Imported here, not at the top: the routers take seconds to import, and every other
    # operator command (which never serves HTTP) would pay for them at start-up.
    from garment.app import create_app

    application = create_app(settings, announce=True, listen=bind)
    uvicorn.run(
        application,
        host=bind[0],
        port=bind[1],
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        http=BoundedHttpToolsProtocol,
    )


def serve_workers(settings: Settings, bind: tuple[str, int], workers: int) -> None:
    """N uvicorn processes on one port, the databases prepared once by this (parent) process."""
    runtime, embedded = run(prepare(settings))
    try:
        os.environ.update(worker_environment(settings, runtime.targets, embedded is not None))
        announcer = threading.Thread(
            target=announce_when_ready, args=(runtime, bind), name="announce", daemon=True
        )
        announcer.start()
        uvicorn.run(
            WORKER_FACTORY,
            factory=True,
            workers=workers,
            host=bind[0],
            port=bind[1],
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            http=BoundedHttpToolsProtocol,
            # A spawned worker imports the whole application before it answers the parent's
            # health check; on a busy machine that takes longer than uvicorn's default 5 s,
            # and the parent would kill and respawn it for ever.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
    finally:
        # uvicorn has terminated and joined every worker by now.
        if embedded is not None:
            embedded.stop()


async def prepare(settings: Settings) -> tuple[Runtime, EmbeddedPostgres | None]:
    """Start (embedded default) and migrate the databases, register clusters, seed demo data,
    then close this process's pools. The embedded PostgreSQL keeps running for the workers."""
    runtime = await Runtime.create(settings)
    embedded, runtime.embedded = runtime.embedded, None
    try:
        await runtime.close()
    except BaseException:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    runtime.embedded = embedded  # only read by the welcome banner from here on
    return runtime, embedded


def worker_environment(settings: Settings, targets: Targets, embedded: bool) -> dict[str, str]:
    """What a worker reads on top of the parent's configuration: nothing to migrate or seed
    (the parent did), the in-process worker choice, and on the embedded default the URLs of the
    server the parent started (so workers connect to it instead of starting their own)."""
    environment = {
        "GARMENT_AUTO_MIGRATE": "false",
        "GARMENT_DEMO_DATA": "false",
        "GARMENT_JOBS__IN_PROCESS_WORKER": json.dumps(settings.jobs.in_process_worker),
    }
    if settings.log.file is not None:
        # Workers get URLs, so they would not see the embedded default that chose this file.
        environment["GARMENT_LOG__FILE"] = str(settings.log.file)
    if embedded:
        clusters = targets.clusters.values()
        environment |= {
            "GARMENT_DATABASE_URL": targets.central.app_url,
            "GARMENT_DATABASE_MIGRATION_URL": targets.central.owner_url,
            "GARMENT_CLUSTERS": json.dumps({t.key: t.app_url for t in clusters}),
            "GARMENT_CLUSTER_MIGRATION_URLS": json.dumps({t.key: t.owner_url for t in clusters}),
        }
    return environment


def announce_when_ready(runtime: Runtime, bind: tuple[str, int], timeout: float = 120) -> None:
    """Print the welcome banner once, when a worker answers (the parent binds the socket before
    the workers start, so a connection waits in the backlog until one of them accepts it)."""
    host = local_address(bind[0])
    url = f"http://{f'[{host}]' if ':' in host else host}:{bind[1]}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5, trust_env=False).status_code == 200:
                from garment.app import print_welcome  # see `serve`

                print_welcome(runtime, bind)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def local_address(host: str) -> str:
    """An address to reach a server bound to `host` from this machine."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "127.0.0.1"  # a name
    if address.is_unspecified:
        return "::1" if address.version == 6 else "127.0.0.1"
    return host
