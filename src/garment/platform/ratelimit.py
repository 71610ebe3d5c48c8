"""Rate limits with the `limits` library: memory storage by default (per process), Redis when
`rate_limit.storage_url` points at one so several processes share their counters."""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from garment.config import RateLimitSettings
from garment.platform.errors import RATE_LIMITED, AppError


def _async_storage_url(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"


@lru_cache(maxsize=64)
def parsed(limit: str) -> RateLimitItem:
    """`limit` ("20/minute") parsed once: the settings hold a handful of strings, and parsing
    one (a regular expression and a granularity lookup) is on every rate-limited request."""
    return parse(limit)


class RateLimiter:
    def __init__(self, settings: RateLimitSettings) -> None:
        self.enabled = settings.enabled
        storage: Any = storage_from_string(_async_storage_url(settings.storage_url))
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, limit: str, *identifiers: str) -> int | None:
        """Count one request; None when allowed, else the seconds until the next is allowed."""
        if not self.enabled:
            return None
        item = parsed(limit)
        if await self._limiter.hit(item, *identifiers):
            return None
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def enforce(self, limit: str, *identifiers: str) -> None:
        """Raise 429 RATE_LIMITED with Retry-After when over `limit`."""
        retry_after = await self.hit(limit, *identifiers)
        if retry_after is not None:
            raise AppError(
                RATE_LIMITED,
                params={"retry_after": retry_after},
                headers={"Retry-After": str(retry_after)},
                extra={"retry_after": retry_after},
            )
