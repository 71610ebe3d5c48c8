"""`garment docs generate`: regenerate the generated chapters of docs/ (12, 13, 18, 21)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from garment.cli.base import app, console, err_console
from garment.docsgen import stale_documents, write_documents

docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


@docs_app.command("generate")
def generate(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if a generated file is stale.")
    ] = False,
    docs_dir: Annotated[Path, typer.Option(help="The guide's folder.")] = Path("docs"),
) -> None:
    """Write docs/12-api-endpoint-catalog.md, docs/13-class-catalog.md,
    docs/18-config-reference.md and docs/21-fe-error-matrix.md from the code."""
    if check:
        stale = stale_documents(docs_dir)
        if stale:
            for path in stale:
                err_console.print(f"[red]stale:[/red] {path}")
            err_console.print("Run `garment docs generate` and commit the result.")
            raise typer.Exit(1)
        console.print("generated docs are current")
        return
    written = write_documents(docs_dir)
    for path in written:
        console.print(f"wrote {path}")
    if not written:
        console.print("generated docs are current")
