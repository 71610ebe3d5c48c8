"""Benchmarks over real HTTP: `garment serve` (a separate process on the embedded default)
against a bare Starlette + asyncpg baseline on the same PostgreSQL, driven by `wrk` (or a Python
load generator when `wrk` is not installed) from another process. See bench/README.md."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios (imported here: the Python load generator, which lives in this package
    too, must not pay for importing garment; the bare baseline imports only the garment modules
    whose statements, hashing and checks it reuses)."""
    from bench.http.scenarios import main as run

    return run(argv)
