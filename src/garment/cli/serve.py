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
    application = create_app(settings, announce=True)
    uvicorn.run(
        application,
        host=host or settings.http.host,
        port=port or settings.http.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
