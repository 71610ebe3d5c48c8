"""Stub provider APIs: a real HTTP server on 127.0.0.1 (a free port, a thread) that records
every request and answers what the test scripted. No database, no internet."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from garment.central.billing.providers.base import WebhookDelivery


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes (sent as is)
    delay_seconds: float = 0.0


@dataclass
class StubServer:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    _replies: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        """Answer `method path` (no query) with `replies` in order; the last one repeats."""
        with self._lock:
            self._replies[(method, path)] = list(replies)

    def next_reply(self, method: str, path: str) -> Reply:
        with self._lock:
            queue = self._replies.get((method, path))
            if not queue:
                return Reply(501, {"message": f"no stub for {method} {path}"})
            return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            stub.requests.append(
                Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
            )
            reply = stub.next_reply(self.command, parts.path)
            if reply.delay_seconds:
                time.sleep(reply.delay_seconds)
            payload = (
                reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            )
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a timeout test)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def delivery(
    body: bytes, headers: Mapping[str, str] | None = None, *, received_at: datetime | None = None
) -> WebhookDelivery:
    return WebhookDelivery(
        body=body,
        headers={name.lower(): value for name, value in (headers or {}).items()},
        received_at=received_at or datetime.now(UTC),
    )


def start_stub_server() -> tuple[StubServer, ThreadingHTTPServer, threading.Thread]:
    stub = StubServer(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    server.block_on_close = False
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    return stub, server, thread
