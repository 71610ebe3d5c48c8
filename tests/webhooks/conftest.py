"""Fixtures of the webhook suites: a real HTTP receiver on 127.0.0.1 that verifies every
delivery with `standardwebhooks`, synthetic domain events, and a worker that runs only the
webhook jobs (other suites' queued jobs are left alone)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from garment.config import WebhookSettings
from garment.platform.events import RawEvent, publish
from garment.platform.jobs import JobQueue, TaskRegistry, WorkerOptions, tasks
from garment.runtime import Runtime
from garment.tenant.webhooks.service import DELIVER_TASK
from tests.tenant.conftest import Caller

ENDPOINTS = "/api/v1/tenant/webhook-endpoints"


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    verified: bool
    answered: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Answers each path from its script (status codes, in order), then 200."""

    base_url: str
    secrets: dict[str, list[str]] = field(default_factory=dict)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [item for item in self.received if item.path == path]

    def handle(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        verified = False
        for secret in self.secrets.get(path, []):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified = True
        with self.lock:
            script = self.scripts.get(path, [])
            status = script.pop(0) if script else 200
            if not verified:
                status = 401
            self.received.append(Received(path, body, headers, verified, status))
        return status


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            status = receiver.handle(self.path, body, headers)
            answer = b'{"ok":true}' if status < 300 else b"nope"
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found, server = start_receiver()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def fast_retries(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> WebhookSettings:
    """No wait between attempts (the schedule itself has a unit test); few attempts."""
    fast = WebhookSettings(retry_base_seconds=0, max_attempts=5, timeout_seconds=5)
    monkeypatch.setattr(runtime.webhooks, "settings", fast)
    monkeypatch.setattr(runtime.webhooks.sender, "settings", fast)
    return fast


async def emit(runtime: Runtime, name: str, **payload: Any) -> None:
    """Publish a domain event by name (a synthetic one: the webhooks map names, not classes,
    so `invoicing.InvoiceIssued` works before that context exists)."""
    event_type = type("Synthetic", (RawEvent,), {"event_name": name})
    async with runtime.central.transaction() as session:
        await publish(session, event_type(**payload))


def order_created(tenant_id: uuid.UUID, number: str = "SO-2026-00001") -> dict[str, Any]:
    return {
        "tenant_id": str(tenant_id),
        "order_id": str(uuid.uuid4()),
        "number": number,
        "version": 1,
    }


async def deliver_all(runtime: Runtime) -> None:
    """Outbox to listeners, then the webhook jobs until none is due."""
    await runtime.relay.drain()
    registry = TaskRegistry()
    registry.tasks[DELIVER_TASK] = tasks.tasks[DELIVER_TASK]
    queue = JobQueue(
        runtime.targets.central.app_url,
        registry,
        services=runtime,
        options=WorkerOptions(dequeue_timeout=timedelta(milliseconds=100)),
    )
    await queue.open()
    try:
        await asyncio.wait_for(queue.run_worker(concurrency=2, drain=True), timeout=60)
    finally:
        await queue.close()


async def create_endpoint(
    client: httpx.AsyncClient,
    caller: Caller,
    receiver: Receiver,
    path: str,
    event_types: list[str],
    **values: Any,
) -> dict[str, Any]:
    response = await client.post(
        ENDPOINTS,
        json={"url": receiver.url(path), "event_types": event_types, **values},
        headers=caller.headers(),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secrets.setdefault(path, []).append(created["secret"])
    return created


async def get_json(client: httpx.AsyncClient, caller: Caller, url: str) -> Any:
    response = await client.get(url, headers=caller.headers())
    assert response.status_code == 200, response.text
    return response.json()
