"""The board stream: ledger events fanned out to the tenant's open SSE connections.

A recording announces its event on the invalidation bus (`platform/cache.py`) in its central
transaction (`pg_notify`, transactional): this process applies it right after that commit,
every other process hears the `NOTIFY`. The hub keeps one bounded queue per open stream, keyed
by tenant, so a stream only ever sees its own tenant's events; a repeated payload (this process
hears its own NOTIFY too) is dropped by its event id."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

TOPIC = "production"
QUEUE_SIZE = 256
SEEN = 2048


class Bus(Protocol):
    def subscribe(self, topic: str, handler: Any) -> None: ...

    async def publish_in(self, session: AsyncSession, topic: str, key: str) -> None: ...


class StreamHub:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._queues: dict[uuid.UUID, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        bus.subscribe(TOPIC, self._deliver)

    async def announce(
        self, central: AsyncSession, tenant_id: uuid.UUID, event: dict[str, Any]
    ) -> None:
        """`NOTIFY` in the central transaction: every process hears it when central commits
        (this one applies it right after its commit)."""
        payload = json.dumps(event, separators=(",", ":"), default=str)
        await self.bus.publish_in(central, TOPIC, f"{tenant_id}|{payload}")

    def _deliver(self, key: str) -> None:
        tenant_text, _, payload = key.partition("|")
        try:
            tenant_id = uuid.UUID(tenant_text)
            event = json.loads(payload)
        except ValueError:
            return
        marker = f"{tenant_id}:{event.get('id')}"
        if marker in self._seen:
            return
        self._seen[marker] = None
        while len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        for queue in self._queues.get(tenant_id, ()):
            if queue.full():  # a stalled client loses its oldest event, never blocks others
                queue.get_nowait()
            queue.put_nowait(event)

    def open(self, tenant_id: uuid.UUID) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.setdefault(tenant_id, set()).add(queue)
        return queue

    def close(self, tenant_id: uuid.UUID, queue: asyncio.Queue[dict[str, Any]]) -> None:
        queues = self._queues.get(tenant_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[tenant_id]
