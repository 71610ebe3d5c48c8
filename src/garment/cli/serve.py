"""`garment serve`: the HTTP API (and, by default, an in-process worker)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from garment.app import create_app
from garment.cli.base import app, load_cli_settings


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
) -> None:
    """Serve the API. With no database configured, starts the embedded PostgreSQL under
    `.garment/pgdata`, migrates, seeds demo data and prints where to go; Ctrl-C stops it all."""
    settings = load_cli_settings(service=True)
    settings.jobs.in_process_worker = worker and settings.jobs.in_process_worker
    bind = (host or settings.http.host, port or settings.http.port)
    application = create_app(settings, announce=True, listen=bind)
    uvicorn.run(
        application,
        host=bind[0],
        port=bind[1],
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
