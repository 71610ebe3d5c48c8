"""The Python load generator (used when `wrk` is not on PATH): one process, asyncio, N raw
HTTP/1.1 keep-alive connections for a fixed duration.

Run as `python -m bench.http.pyload` with a JSON job on stdin; prints one JSON result on stdout.
The job (see `bench.http.load.python_job`): host, port, method, path, headers, body, duration,
connections, timeout, and for token chains `tokens` plus `token_field`: each request then takes
the latest token of a chain from the pool, sends `{"<field>": token}` and puts the successor
from a 200 response back, so every chain rotates and no token is ever sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class State:
    job: dict[str, Any]
    deadline: float
    tokens: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    status_errors: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    socket_errors: int = 0
    timeouts: int = 0
    exhausted: int = 0
    last_done: float = 0.0


def build_request(job: dict[str, Any], body: str | None) -> bytes:
    lines = [f"{job['method']} {job['path']} HTTP/1.1", f"Host: {job['host']}:{job['port']}"]
    lines += [f"{name}: {value}" for name, value in job["headers"].items()]
    if job.get("unique_header"):
        lines.append(f"{job['unique_header']}: {uuid.uuid4()}")
    payload = body.encode() if body is not None else b""
    if body is not None:
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = b""
    return status, headers, body


async def connection(state: State) -> None:
    job = state.job
    field_name = job.get("token_field")
    chain = field_name is not None
    pattern = re.compile(rf'"{field_name}"\s*:\s*"([^"]+)"'.encode()) if chain else None
    fixed = build_request(job, job.get("body"))
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while time.perf_counter() < state.deadline:
        if writer is None or reader is None:
            try:
                reader, writer = await asyncio.open_connection(job["host"], job["port"])
            except OSError:
                state.socket_errors += 1
                await asyncio.sleep(0.05)
                continue
        if chain:
            if not state.tokens:
                state.exhausted += 1
                await asyncio.sleep(0.01)
                continue
            request = build_request(job, json.dumps({field_name: state.tokens.pop()}))
        elif job.get("unique_header"):
            request = build_request(job, job.get("body"))
        else:
            request = fixed
        started = time.perf_counter()
        state.sent += 1
        try:
            writer.write(request)
            status, headers, body = await asyncio.wait_for(read_response(reader), job["timeout"])
        except TimeoutError:
            state.timeouts += 1
            writer.close()
            writer = reader = None
            continue
        except (OSError, asyncio.IncompleteReadError, ValueError):
            state.socket_errors += 1
            writer.close()
            writer = reader = None
            continue
        state.last_done = time.perf_counter()
        state.latencies.append(state.last_done - started)
        if status >= 400:
            state.status_errors += 1
            state.codes[str(status)] = state.codes.get(str(status), 0) + 1
        if pattern is not None and status == 200:
            found = pattern.search(body)
            if found:
                state.tokens.append(found.group(1).decode())
        if headers.get("connection", "").lower() == "close":
            writer.close()
            writer = reader = None
    if writer is not None:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def run(job: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    state = State(job=job, deadline=started + job["duration"], tokens=list(job.get("tokens", [])))
    await asyncio.gather(*(connection(state) for _ in range(job["connections"])))
    # In-flight requests finish (their successors go back to the pool); they count, and so
    # does the time they took.
    elapsed = max(state.last_done, state.deadline) - started
    return {
        "requests": len(state.latencies),
        "sent": state.sent,
        "seconds": elapsed,
        "latencies": state.latencies,
        "status_errors": state.status_errors,
        "codes": state.codes,
        "socket_errors": state.socket_errors,
        "timeouts": state.timeouts,
        "exhausted": state.exhausted,
        "tokens": state.tokens,
    }


def main() -> None:
    job = json.load(sys.stdin)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    json.dump(runner(run(job)), sys.stdout)


if __name__ == "__main__":
    main()
