"""`python -m bench` (or `make bench`): every benchmark, each printing same-run ratios."""

from __future__ import annotations

import asyncio

from bench import http, refresh_rotation, tenant_read, webhook_ingest


async def in_process() -> None:
    await refresh_rotation.main()
    await tenant_read.main()


def main() -> None:
    asyncio.run(in_process())
    http.main([])  # real servers over HTTP, driven from other processes
    webhook_ingest.main([])  # billing webhook ingest over HTTP against a bare insert


if __name__ == "__main__":
    main()
