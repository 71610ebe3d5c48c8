"""`garment config show`: the effective configuration, secrets masked."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from garment.cli.base import app, console, load_cli_settings
from garment.platform.settings_docs import effective_settings

config_app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print every setting's effective value (environment, garment.toml, defaults), with
    secrets and URL passwords masked."""
    values = effective_settings(load_cli_settings())
    if as_json:
        typer.echo(json.dumps(values, indent=2, default=str))
        return
    table = Table(title="Effective configuration")
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in values.items():
        table.add_row(key, json.dumps(value, default=str) if not isinstance(value, str) else value)
    console.print(table)
