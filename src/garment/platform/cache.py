"""Process-local caches of hot read models, invalidated in every process through PostgreSQL
`LISTEN/NOTIFY` on the central database (no other server needed).

A change that makes a cached value stale publishes an invalidation in the transaction that makes
it (`InvalidationBus.publish_in(session, topic, key)`: `pg_notify` is transactional, so other
processes hear of it exactly when the change commits, and never for a change that rolled back);
the process that made the change also applies it locally right after its commit, so its own next
request already misses the cache. Every process listens on one connection; while that connection
is down, no cache answers (a missed invalidation must not keep a revoked session alive), and
every cache is emptied when it comes back.

Loads are race-free against invalidations: `TtlCache.load()` only stores what it read if no
invalidation reached the cache while it was reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

import asyncpg
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.db import plain_url
from garment.platform.metrics import CACHE_LISTENING, CACHE_LOOKUPS

logger = structlog.get_logger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

CHANNEL = "garment_invalidate"
PENDING_KEY = "garment.invalidations"
PENDING_ANNOUNCE_KEY = "garment.invalidations_to_announce"
EVERYTHING = "*"
NOTIFY_SQL = text("SELECT pg_notify(:channel, :payload)")
RECONNECT_MAX_SECONDS = 5.0

Handler = Callable[[str], None]


class TtlCache(Generic[K, V]):
    """A bounded LRU map whose entries expire; `enabled()` says whether it may answer at all."""

    def __init__(
        self,
        name: str,
        *,
        ttl_seconds: float,
        max_entries: int = 10_000,
        enabled: Callable[[], bool] = lambda: True,
    ) -> None:
        self.name = name
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.enabled = enabled
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._generation = 0
        self.hits = 0
        self.misses = 0
        CACHE_LOOKUPS.track(self)

    def get(self, key: K) -> V | None:
        if not self.enabled():
            return None
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        expires, value = entry
        if expires <= time.monotonic():
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: K, value: V, ttl_seconds: float | None = None) -> None:
        if not self.enabled():
            return
        lifetime = self.ttl_seconds if ttl_seconds is None else min(ttl_seconds, self.ttl_seconds)
        if lifetime <= 0:
            return
        self._entries[key] = (time.monotonic() + lifetime, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def load(
        self,
        key: K,
        loader: Callable[[], Awaitable[V | None]],
        ttl: Callable[[V], float] | None = None,
    ) -> V | None:
        """The cached value, or `loader()`'s (stored unless an invalidation arrived meanwhile;
        None is never stored)."""
        hit = self.get(key)
        if hit is not None:
            return hit
        generation = self._generation
        value = await loader()
        if value is not None and generation == self._generation:
            self.put(key, value, ttl(value) if ttl else None)
        return value

    def drop(self, key: K) -> None:
        self._generation += 1
        self._entries.pop(key, None)

    def drop_where(self, matches: Callable[[K, V], bool]) -> None:
        self._generation += 1
        for key in [key for key, (_, value) in self._entries.items() if matches(key, value)]:
            del self._entries[key]

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class InvalidationBus:
    """Topic-keyed invalidations across processes (`topic:key` payloads on one channel)."""

    def __init__(self, central_url: str) -> None:
        self.dsn = plain_url(central_url)
        self._handlers: dict[str, list[Handler]] = {}
        self._caches: list[TtlCache[Any, Any]] = []
        self._connection: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost: asyncio.Event = asyncio.Event()
        self._announcing: set[asyncio.Task[None]] = set()
        self.listening = False

    # --- wiring ------------------------------------------------------------------------------

    def cache(
        self, name: str, *, ttl_seconds: float, max_entries: int = 10_000
    ) -> TtlCache[Any, Any]:
        """A cache that answers only while this process hears every invalidation."""
        created: TtlCache[Any, Any] = TtlCache(
            name, ttl_seconds=ttl_seconds, max_entries=max_entries, enabled=self._is_listening
        )
        self._caches.append(created)
        return created

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call `handler(key)` for every invalidation of `topic`, local or remote."""
        if ":" in topic:
            raise ValueError("a topic has no colon")
        self._handlers.setdefault(topic, []).append(handler)

    def _is_listening(self) -> bool:
        return self.listening

    # --- publishing -----------------------------------------------------------------------

    async def publish_in(self, session: AsyncSession, topic: str, key: str) -> None:
        """Invalidate `topic:key` when the session's (central) transaction commits: every other
        process through NOTIFY, this one right after the commit (`after_commit`)."""
        payload = f"{topic}:{key}"
        await session.execute(NOTIFY_SQL, {"channel": CHANNEL, "payload": payload})
        session.info.setdefault(PENDING_KEY, []).append(payload)

    def publish_after_commit(self, session: AsyncSession, topic: str, key: str) -> None:
        """Invalidate `topic:key` once the session's transaction on any database (a cluster)
        commits: this process at once, the others through a NOTIFY sent on the central
        database right after (within milliseconds, not atomically with the change)."""
        session.info.setdefault(PENDING_ANNOUNCE_KEY, []).append(f"{topic}:{key}")

    def after_commit(self, session: AsyncSession) -> None:
        """After-commit hook of every database: apply this transaction's invalidations in this
        process before its response leaves, and announce the ones central did not carry."""
        for payload in session.info.pop(PENDING_KEY, []):
            self.apply(payload)
        announced = session.info.pop(PENDING_ANNOUNCE_KEY, [])
        for payload in announced:
            self.apply(payload)
        if announced:
            task = asyncio.get_running_loop().create_task(self._notify(announced))
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    async def announce(self, topic: str, key: str) -> None:
        """Invalidate now, in this process and (through NOTIFY) in every other."""
        payload = f"{topic}:{key}"
        self.apply(payload)
        await self._notify([payload])

    async def _notify(self, payloads: list[str]) -> None:
        try:
            connection = await asyncpg.connect(self.dsn, timeout=5)
            try:
                for payload in payloads:
                    await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            finally:
                await connection.close()
        except Exception as exc:  # the other processes' entries still expire with their TTL
            logger.error("cache.announce_failed", payloads=payloads, error=type(exc).__name__)

    def apply(self, payload: str) -> None:
        topic, _, key = payload.partition(":")
        for handler in self._handlers.get(topic, ()):
            try:
                handler(key)
            except Exception:  # one broken handler must not keep the others stale
                logger.exception("cache.invalidation_failed", payload=payload)

    # --- listening --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen in the background; returns once the first connection listens (or failed)."""
        if self._task is not None:
            return
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen_forever(ready), name="cache-invalidation")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), timeout=5)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._close_connection()

    async def _listen_forever(self, ready: asyncio.Event) -> None:
        delay = 0.2
        while True:
            try:
                await self._listen_once(ready)
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("cache.listener_down", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._mark_deaf()
                ready.set()
                await self._close_connection()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _listen_once(self, ready: asyncio.Event) -> None:
        self._lost = asyncio.Event()
        connection = await asyncpg.connect(self.dsn, timeout=5)
        self._connection = connection
        connection.add_termination_listener(lambda _: self._lost.set())
        await connection.add_listener(CHANNEL, self._on_notify)
        # Anything cached before this moment may have missed an invalidation.
        self._clear_caches()
        self.listening = True
        CACHE_LISTENING.set(1)
        ready.set()
        logger.info("cache.listening")
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=10)
            if not self._lost.is_set() and connection.is_closed():
                break
            if not self._lost.is_set():
                await connection.execute("SELECT 1")  # notices a dead peer between NOTIFYs

    def _on_notify(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self.apply(payload)

    def _mark_deaf(self) -> None:
        self.listening = False
        CACHE_LISTENING.set(0)
        self._clear_caches()

    def _clear_caches(self) -> None:
        for cache in self._caches:
            cache.clear()

    async def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        self.listening = False
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)
