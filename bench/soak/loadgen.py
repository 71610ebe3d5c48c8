"""The soak's load generator, a process of its own: `python -m bench.soak.loadgen` with a JSON
job on stdin, JSON lines on stdout.

Clients are signed-in sessions of the demo admin with the demo tenant selected; each has an
access token (tenant-scoped) and the head of its refresh chain. An operation is one of:

- `me`, `permissions`, `list`: `GET /tenant/me`, `/tenant/permissions`,
  `/tenant/taxonomies?limit=20` with a client's access token and `X-Tenant-ID`;
- `refresh`: `POST /auth/refresh` with a client's refresh token and its device fingerprint; the
  answer's tokens replace the client's (so reads always use a live token, as a front end does).
  A client is never refreshed twice at once, and one whose refresh failed is retired (its chain
  may have rotated without us seeing the answer; sending that token again would be a replay);
- `write`: `POST /tenant/members/invitations` (a fresh address, role `viewer`), then `DELETE`
  of that invitation: a tenant write that cleans up after itself (pending invitations count
  against the plan's members, so at most `writers` pairs run at once).

Phase 1 (`max`): `connections` workers run operations back to back for `max_seconds`; the rate
over all but the first `warmup_seconds` is the maximum. Phase 2 (`window`, every
`window_seconds`): operations start on a fixed schedule, `rate` requests per second in all
(`fraction` of the maximum), whatever the answers take (open loop): latency counts from the
scheduled start, so waiting for a free connection is latency too, not a slower schedule.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.http.pyload import build_request, read_response

API = "/api/v1"
READS = {
    "me": f"{API}/tenant/me",
    "permissions": f"{API}/tenant/permissions",
    "list": f"{API}/tenant/taxonomies?limit=20",
}
INVITATIONS = f"{API}/tenant/members/invitations"
# Requests each operation sends (a write is an invitation and its revocation).
REQUESTS_PER_OP = {"me": 1, "permissions": 1, "list": 1, "refresh": 1, "write": 2}


@dataclass
class Client:
    access: str
    refresh: str
    refreshing: bool = False


@dataclass
class Window:
    """What happened in one sampling window (or the maximum's measuring part)."""

    started: float
    latencies: list[float] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)  # status >= 400
    socket_errors: int = 0
    timeouts: int = 0
    ops: dict[str, int] = field(default_factory=dict)
    max_lag: float = 0.0  # how late the schedule started an operation (generator saturation)
    skipped: int = 0  # refreshes with no idle client

    def errors(self) -> int:
        return sum(self.codes.values()) + self.socket_errors + self.timeouts

    def report(self, event: str, ended: float, **extra: Any) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def percentile(share: float) -> float:
            if not ordered:
                return 0.0
            return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

        seconds = ended - self.started
        return {
            "event": event,
            "seconds": round(seconds, 2),
            "requests": len(self.latencies),
            "rps": round(len(self.latencies) / seconds, 1) if seconds else 0.0,
            "p50_ms": round(percentile(0.50), 1),
            "p99_ms": round(percentile(0.99), 1),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1) if ordered else 0.0,
            "errors": self.errors(),
            "codes": dict(sorted(self.codes.items())),
            "socket_errors": self.socket_errors,
            "timeouts": self.timeouts,
            "ops": dict(sorted(self.ops.items())),
            "max_lag_ms": round(self.max_lag * 1000, 1),
            "skipped": self.skipped,
            **extra,
        }


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Generator:
    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.host: str = job["host"]
        self.port: int = job["port"]
        self.timeout: float = job["timeout"]
        self.clients = [Client(c["access"], c["refresh"]) for c in job["clients"]]
        self.retired = 0
        weights: dict[str, float] = job["mix"]
        self.names = list(weights)
        self.weights = [weights[name] for name in self.names]
        self.slots: asyncio.Queue[Connection | None] = asyncio.Queue()
        for _ in range(job["connections"]):
            self.slots.put_nowait(None)
        self.writers = asyncio.Semaphore(job["writers"])
        self.window = Window(time.perf_counter())
        self.random = random.Random(job.get("seed", 7))
        self.closed_loop = True  # the maximum; the constant phase is open loop

    # --- one request ----------------------------------------------------------------------------

    async def send(
        self, method: str, path: str, headers: dict[str, str], body: str | None, since: float
    ) -> tuple[int, bytes]:
        """One request on a pooled keep-alive connection; latency from `since`. Returns the
        status (0: socket error or timeout) and the body."""
        window = self.window
        job = {"method": method, "path": path, "host": self.host, "port": self.port}
        request = build_request({**job, "headers": headers}, body)
        connection = await self.slots.get()
        try:
            for attempt in (1, 2):
                reused = connection is not None
                if connection is None:
                    connection = await asyncio.open_connection(self.host, self.port)
                reader, writer = connection
                writer.write(request)
                try:
                    status, response_headers, payload = await asyncio.wait_for(
                        read_response(reader), self.timeout
                    )
                    break
                except (asyncio.IncompleteReadError, ConnectionResetError) as error:
                    # A keep-alive connection the server closed while idle (uvicorn's
                    # keep-alive timeout): not one byte came back, so the request was never
                    # read. Like any HTTP client, send it once more on a new connection.
                    untouched = not getattr(error, "partial", b"")
                    if not (reused and untouched and attempt == 1):
                        raise
                    writer.close()
                    connection = None
        except TimeoutError:
            window.timeouts += 1
            self._close(connection)
            return 0, b""
        except (OSError, asyncio.IncompleteReadError, ValueError):
            window.socket_errors += 1
            self._close(connection)
            return 0, b""
        window.latencies.append(time.perf_counter() - since)
        if status >= 400:
            window.codes[str(status)] = window.codes.get(str(status), 0) + 1
        if response_headers.get("connection", "").lower() == "close":
            self._close(connection)
        else:
            self.slots.put_nowait(connection)
        return status, payload

    async def reconnect(self) -> None:
        """Close every idle connection (after a pause the server has closed them anyway)."""
        for _ in range(self.job["connections"]):
            self._close(await self.slots.get())

    def _close(self, connection: Connection | None) -> None:
        if connection is not None:
            connection[1].close()
        self.slots.put_nowait(None)

    def tenant_headers(self, client: Client) -> dict[str, str]:
        return {"Authorization": f"Bearer {client.access}", "X-Tenant-ID": self.job["tenant"]}

    # --- operations -----------------------------------------------------------------------------

    async def operate(self, name: str, since: float) -> None:
        self.window.ops[name] = self.window.ops.get(name, 0) + 1
        if not self.clients:
            raise RuntimeError("every client was retired: no live session left")
        if name in READS:
            client = self.random.choice(self.clients)
            await self.send("GET", READS[name], self.tenant_headers(client), None, since)
        elif name == "refresh":
            await self.refresh(since)
        else:
            await self.write(since)

    async def refresh(self, since: float) -> None:
        idle = [client for client in self.clients if not client.refreshing]
        if not idle:
            self.window.skipped += 1
            return
        client = self.random.choice(idle)
        client.refreshing = True
        headers = {
            "Content-Type": "application/json",
            "X-Device-Fingerprint": self.job["fingerprint"],
        }
        body = json.dumps({"refresh_token": client.refresh})
        status, payload = await self.send("POST", f"{API}/auth/refresh", headers, body, since)
        client.refreshing = False
        if status == 200:
            answer = json.loads(payload)
            client.access, client.refresh = answer["access_token"], answer["refresh_token"]
        else:
            self.clients.remove(client)
            self.retired += 1

    async def write(self, since: float) -> None:
        async with self.writers:
            if self.closed_loop:  # waiting for the cap is the generator's, not the server's
                since = time.perf_counter()
            client = self.random.choice(self.clients)
            headers = {**self.tenant_headers(client), "Content-Type": "application/json"}
            address = f"soak-{uuid.uuid4().hex[:12]}@example.com"
            body = json.dumps({"email": address, "roles": ["viewer"]})
            status, payload = await self.send("POST", INVITATIONS, headers, body, since)
            if status != 201:
                return
            invitation = json.loads(payload)["id"]
            await self.send(
                "DELETE",
                f"{INVITATIONS}/{invitation}",
                self.tenant_headers(client),
                None,
                time.perf_counter(),
            )

    def pick(self) -> str:
        return self.random.choices(self.names, self.weights)[0]

    # --- phases ---------------------------------------------------------------------------------

    async def maximum(self) -> dict[str, Any]:
        started = time.perf_counter()
        deadline = started + self.job["max_seconds"]
        measuring = started + self.job["warmup_seconds"]

        async def worker() -> None:
            while time.perf_counter() < deadline:
                await self.operate(self.pick(), time.perf_counter())

        async def start_measuring() -> None:
            await asyncio.sleep(measuring - time.perf_counter())
            self.window = Window(time.perf_counter())

        await asyncio.gather(start_measuring(), *(worker() for _ in range(self.job["connections"])))
        return self.window.report("max", time.perf_counter(), clients=len(self.clients))

    async def constant(self, rate: float) -> None:
        """Operations on a fixed schedule at `rate` requests per second for `minutes`; a
        report line every window."""
        self.closed_loop = False
        per_op = sum(
            w * REQUESTS_PER_OP[n] for n, w in zip(self.names, self.weights, strict=True)
        ) / sum(self.weights)
        interval = per_op / rate  # seconds between operation starts
        started = time.perf_counter()
        end = started + self.job["minutes"] * 60
        window_seconds: float = self.job["window_seconds"]
        self.window = Window(started)
        next_window = started + window_seconds
        tasks: set[asyncio.Task[None]] = set()
        index = 0
        while True:
            scheduled = started + index * interval
            if scheduled >= end:
                break
            now = time.perf_counter()
            if now >= next_window:
                self.emit(self.window.report("window", next_window, rate=round(rate, 1)))
                self.window = Window(next_window)
                next_window += window_seconds
                continue
            if scheduled > now:
                await asyncio.sleep(min(scheduled, next_window) - now)
                continue
            self.window.max_lag = max(self.window.max_lag, now - scheduled)
            task = asyncio.create_task(self.operate(self.pick(), scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            index += 1
            await asyncio.sleep(0)  # behind schedule, the answers still get read
        if tasks:
            await asyncio.wait(tasks, timeout=self.timeout * 2)
        self.emit(self.window.report("window", time.perf_counter(), rate=round(rate, 1)))

    def emit(self, line: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


async def run(job: dict[str, Any]) -> None:
    generator = Generator(job)
    peak = await generator.maximum()
    generator.emit(peak)
    rate = peak["rps"] * job["fraction"]
    if rate <= 0:
        raise RuntimeError(f"no maximum measured: {peak}")
    # The runner answers once the server is idle again (what the maximum queued, such as the
    # invitation mails, is done), so the constant phase starts from a quiet server.
    await asyncio.to_thread(sys.stdin.readline)
    await generator.reconnect()
    await generator.constant(rate)
    generator.emit(
        {"event": "done", "clients": len(generator.clients), "retired": generator.retired}
    )


def main() -> None:
    job = json.loads(sys.stdin.readline())
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(job))
    else:
        uvloop.run(run(job))


if __name__ == "__main__":
    main()
