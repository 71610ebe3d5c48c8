"""Shared set-up for benchmarks: a private embedded PostgreSQL (the embedded default), migrated,
with a runtime on it. Every benchmark prints ratios measured in the same run."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from garment.config import Environment, Settings
from garment.platform.dbsetup import EMBEDDED_LAYOUT, Targets, ensure_layout
from garment.platform.embedded import EmbeddedPostgres
from garment.platform.logging import configure_logging
from garment.platform.migrations import migrate_all
from garment.runtime import Runtime


@asynccontextmanager
async def embedded_runtime(**overrides: object) -> AsyncIterator[tuple[Runtime, Targets, str]]:
    """An embedded PostgreSQL in a temporary directory, migrated, with a Runtime on it."""
    with tempfile.TemporaryDirectory(prefix="gbench") as directory:
        root = Path(directory)
        embedded = EmbeddedPostgres(root / "pg")
        superuser = await asyncio.to_thread(embedded.start)
        try:
            targets = await asyncio.to_thread(ensure_layout, superuser, EMBEDDED_LAYOUT)
            await asyncio.to_thread(migrate_all, targets)
            values: dict[str, object] = {
                "environment": Environment.TEST,
                "data_dir": root / "data",
                "database_url": targets.central.app_url,
                "database_migration_url": targets.central.owner_url,
                "clusters": {k: t.app_url for k, t in targets.clusters.items()},
                "cluster_migration_urls": {k: t.owner_url for k, t in targets.clusters.items()},
                "auto_migrate": False,
                "demo_data": False,
                "log": {"level": "WARNING", "json_output": True},
                "auth": {
                    "secret_key": "bench-key-0123456789abcdef",
                    "ip_rate_limit": "1000000/minute",
                },
                **overrides,
            }
            settings = Settings(**values)  # type: ignore[arg-type]
            # Request log lines are dropped (WARNING) so the ratio measures the request path,
            # not the terminal printing thousands of lines.
            configure_logging(settings.log)
            runtime = await Runtime.create(settings, migrate=False)
            async with runtime.central.transaction() as session:
                await runtime.cluster_registry.ensure_registered(
                    session, list(targets.clusters), capacity=100_000
                )
            try:
                yield runtime, targets, superuser
            finally:
                await runtime.close()
        finally:
            await asyncio.to_thread(embedded.stop)


async def rate(
    operation: Callable[[int], Awaitable[None]], count: int, concurrency: int = 1
) -> float:
    """Operations per second for `count` calls, `concurrency` at a time."""
    queue = iter(range(count))

    async def worker() -> None:
        for index in queue:
            await operation(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


def print_table(title: str, rows: list[tuple[str, float, float]]) -> None:
    """rows: (label, ours per second, baseline per second)."""
    print(f"\n{title}")
    print(f"{'measurement':<44}{'ours/s':>10}{'bare/s':>10}{'ours/bare':>11}")
    for label, ours, bare in rows:
        print(f"{label:<44}{ours:>10.0f}{bare:>10.0f}{ours / bare:>10.2f}x")
