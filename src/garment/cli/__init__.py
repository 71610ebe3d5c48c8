"""The `garment` command. One module per command group; each registers itself on `app`."""

from __future__ import annotations

from garment.cli import config_cmd, docs_cmd, doctor, migrate, serve, worker  # noqa: F401
from garment.cli.base import app

__all__ = ["app", "main"]


def main() -> None:
    app()
