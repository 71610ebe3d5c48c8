"""The board and its stream: WIP per stage and size, late orders, load against capacity; the
SSE stream shows a recorded event within a second, only the tenant's own, and closes when the
session is revoked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from garment.runtime import Runtime
from garment.tenant.production import router as production_router
from tests.production.conftest import PRODUCTION, advance, ok, record, start_order
from tests.sales.conftest import Shop
from tests.tenant.conftest import Caller, member_with_roles, problem

STREAM = f"{PRODUCTION}/stream"


class Stream:
    """An SSE response read straight from the ASGI app (httpx's transport buffers bodies)."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.chunks: asyncio.Queue[str] = asyncio.Queue()
        self.ended = asyncio.Event()
        self.buffer = ""

    async def event(self, timeout: float) -> dict[str, str]:
        """The next `event:`/`data:` block (comments skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            while "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                fields = dict(
                    line.split(": ", 1)
                    for line in block.splitlines()
                    if not line.startswith(":") and ": " in line
                )
                if "event" in fields:
                    return fields
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.buffer += await asyncio.wait_for(self.chunks.get(), remaining)


@asynccontextmanager
async def open_stream(app: FastAPI, caller: Caller) -> AsyncIterator[Stream]:
    stream = Stream()
    headers = [(k.lower().encode(), v.encode()) for k, v in caller.headers().items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": STREAM,
        "raw_path": STREAM.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    disconnected = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            stream.status = message["status"]
            stream.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            if message.get("body"):
                await stream.chunks.put(message["body"].decode())
            if not message.get("more_body"):
                stream.ended.set()

    task = asyncio.create_task(app(scope, receive, send))
    try:
        yield stream
    finally:
        disconnected.set()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def test_the_stream_shows_a_recorded_event_within_a_second_and_only_its_own(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    job = await start_order(client, shop, {"M": 20})
    other_job = await start_order(client, other_shop, {"M": 20})
    async with open_stream(app, shop.owner) as stream:
        connected = await asyncio.wait_for(stream.chunks.get(), 5)
        assert stream.status == 200 and "text/event-stream" in stream.headers["content-type"]
        stream.buffer += connected
        await ok(await record(client, other_shop.owner, other_job, "M", "potong", "in", 4))
        started = time.monotonic()
        recorded = await ok(await record(client, shop.owner, job, "M", "potong", "in", 3))
        event = await stream.event(timeout=1.0)
        assert time.monotonic() - started < 1.0
        data = json.loads(event["data"])
        assert event["event"] == "in" and event["id"] == str(recorded["seq"])
        assert data["id"] == recorded["id"] and data["job_id"] == job["id"]
        with pytest.raises(TimeoutError):  # the other tenant's event never arrives
            await stream.event(timeout=0.5)


async def test_the_stream_closes_when_the_session_is_revoked(
    runtime: Runtime,
    app: FastAPI,
    client: httpx.AsyncClient,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(production_router, "LIVENESS_SECONDS", 0.2)
    viewer = await member_with_roles(runtime, client, shop.setup, ["viewer"])
    operator = await member_with_roles(runtime, client, shop.setup, ["operator"])
    problem(await client.get(STREAM, headers=operator.headers()), 403, "PERMISSION_DENIED")
    async with open_stream(app, viewer) as stream:
        stream.buffer += await asyncio.wait_for(stream.chunks.get(), 5)
        async with runtime.central.transaction() as session:
            assert await runtime.auth.sessions.force_logout(session, viewer.user.id, by=None) >= 1
        event = await stream.event(timeout=3)
        assert event["event"] == "closed"
        await asyncio.wait_for(stream.ended.wait(), 2)


async def test_board_wip_load_and_late_orders(client: httpx.AsyncClient, shop: Shop) -> None:
    owner = shop.owner
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    job = await start_order(client, shop, {"M": 20, "L": 10}, due_date=yesterday)
    await advance(client, owner, job, "M", 20, through="potong")
    await ok(await record(client, owner, job, "M", "jahit", "out", 5))
    await ok(await record(client, owner, job, "L", "potong", "in", 10))
    board = await client.get(f"{PRODUCTION}/board", headers=owner.headers())
    assert board.status_code == 200, board.text
    body = board.json()
    stages = {stage["stage"]: stage for stage in body["stages"]}
    assert body["active_jobs"] == 1
    assert stages["potong"]["wip"] == {"L": 10} and stages["jahit"]["wip"] == {"M": 15}
    assert stages["finishing"]["wip"] == {"M": 5}
    assert stages["jahit"]["load"] == 25 and stages["jahit"]["capacity_per_day"] == 200
    assert stages["jahit"]["days_of_work"] == 0.12
    late = body["late"][0]
    assert late["order_id"] == job["order_id"] and late["late"] is True
    assert late["remaining"] == 30 and late["days_left"] == -1
