"""A TCP proxy in front of PostgreSQL that counts round trips, whatever the driver does.

Every time the client sends after it last received (or for the first time), a new round trip
starts: pipelined messages sent together count once, a statement and its answer count once,
BEGIN and COMMIT count like any other statement. Pointing a runtime's database URLs at the proxy
lets a test assert how many round trips a request costs. A connection that LISTENs (the cache
invalidation listener) is not counted: it is not part of any request.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from garment.platform.db import plain_url


@dataclass
class RoundTripProxy:
    upstream_url: str
    round_trips: int = 0  # since the last reset, over every counted connection
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def url(self) -> str:
        """The upstream URL with its address replaced by the proxy's."""
        parts = urlsplit(plain_url(self.upstream_url))
        query = {k: v for k, v in parse_qs(parts.query).items() if k != "host"}
        address = f"127.0.0.1:{self.port}"
        netloc = f"{parts.username}@{address}" if parts.username else address
        return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, doseq=True), ""))

    def reset(self) -> int:
        counted, self.round_trips = self.round_trips, 0
        return counted

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(plain_url(self.upstream_url))
        socket_dir = parse_qs(parts.query).get("host", [None])[0] or (
            parts.hostname if parts.hostname and parts.hostname.startswith("/") else None
        )
        port = parts.port or 5432
        if socket_dir:
            return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        return await asyncio.open_connection(parts.hostname or "127.0.0.1", port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._open_upstream()
        state = {"client_turn": True, "counted": 0, "listening": False}

        async def pump(
            source: asyncio.StreamReader, target: asyncio.StreamWriter, from_client: bool
        ) -> None:
            try:
                while data := await source.read(65536):
                    if from_client and b"LISTEN " in data and not state["listening"]:
                        state["listening"] = True
                        self.round_trips -= int(state["counted"])
                    if from_client and state["client_turn"]:
                        state["client_turn"] = False
                        if not state["listening"]:
                            self.round_trips += 1
                            state["counted"] = int(state["counted"]) + 1
                    if not from_client:
                        state["client_turn"] = True
                    target.write(data)
                    await target.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    target.close()

        for coroutine in (
            pump(reader, upstream_writer, True),
            pump(upstream_reader, writer, False),
        ):
            task = asyncio.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
