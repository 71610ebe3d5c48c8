"""The `garment` command. One module per command group; each registers itself on `app`."""

from __future__ import annotations

from garment.cli import (  # noqa: F401
    auth_cmd,
    billing_cmd,
    clusters_cmd,
    config_cmd,
    docs_cmd,
    doctor,
    incident_cmd,
    logs_cmd,
    migrate,
    queue_cmd,
    serve,
    tenants_cmd,
    webhooks_cmd,
    worker,
)
from garment.cli.base import app

__all__ = ["app", "main"]


def main() -> None:
    app()
