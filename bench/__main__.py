"""`python -m bench` (or `make bench`): every benchmark, each printing same-run ratios."""

from __future__ import annotations

import asyncio

from bench import refresh_rotation, tenant_read


async def main() -> None:
    await refresh_rotation.main()
    await tenant_read.main()


if __name__ == "__main__":
    asyncio.run(main())
