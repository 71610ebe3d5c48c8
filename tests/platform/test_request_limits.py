"""Request limits on a real `garment serve`: a large body is refused before it is read (413,
with the limit), a large head before it is buffered (431), and neither costs the server memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from garment.config import Settings
from tests.conftest import free_port, garment_env

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    data = tmp_path_factory.mktemp("limits")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    env.update(
        garment_env(
            settings,
            GARMENT_DATA_DIR=str(data),
            GARMENT_LOG__LEVEL="WARNING",
            GARMENT_CONFIG_FILE="/nonexistent/garment.toml",
        )
    )
    port = free_port()
    process = subprocess.Popen(
        [str(VENV_BIN / "garment"), "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def raw_exchange(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send a request by hand (the client may still be writing when the server answers) and
    return everything the server sent before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:

        def write() -> None:
            try:
                sock.sendall(head)
                for start in range(0, len(body), 64 * 1024):
                    sock.sendall(body[start : start + 64 * 1024])
            except OSError:
                pass  # the server answered and closed: what we want

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        writer.join(timeout=20)
        return received


def split(response: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body) if body else {}


def test_a_20_mb_body_to_a_public_route_is_refused_unread(server: tuple[str, int]) -> None:
    base, pid = server
    port = int(base.rsplit(":", 1)[1])
    before = psutil.Process(pid).memory_info().rss
    body = b'{"email": "' + b"a" * (20 * MB) + b'"}'
    head = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    status, headers, problem = split(raw_exchange(port, head, body))
    assert status == 413
    assert headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "REQUEST_TOO_LARGE"
    assert problem["limit_bytes"] == 1024 * 1024  # over every limit: the application's answers
    grown = psutil.Process(pid).memory_info().rss - before
    assert grown < 50 * MB, f"RSS grew {grown / MB:.0f} MB"
    # The server is fine afterwards.
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200


def test_a_public_route_has_its_own_lower_limit(server: tuple[str, int]) -> None:
    base, _ = server
    response = httpx.post(
        f"{base}/api/v1/auth/login",
        content=b'{"email": "' + b"a" * (100 * 1024) + b'", "password": "x"}',
        headers={"Content-Type": "application/json"},
        timeout=20,
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["limit_bytes"] == 16 * 1024
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_signed_in_route_takes_up_to_the_configured_limit(server: tuple[str, int]) -> None:
    base, _ = server
    too_big = httpx.post(
        f"{base}/api/v1/tenants",
        content=b"{" + b" " * (2 * MB) + b"}",
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
        timeout=20,
    )
    assert too_big.status_code == 413
    assert too_big.json()["limit_bytes"] == 1024 * 1024


def test_a_1_mb_header_is_refused_before_it_is_buffered(server: tuple[str, int]) -> None:
    base, pid = server
    port = int(base.rsplit(":", 1)[1])
    before = psutil.Process(pid).memory_info().rss
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * MB + b"\r\n\r\n"
    status, headers, problem = split(raw_exchange(port, head))
    assert status == 431
    assert headers["connection"] == "close"
    assert problem["code"] == "REQUEST_HEADERS_TOO_LARGE"
    assert problem["limit_bytes"] == 65536
    assert psutil.Process(pid).memory_info().rss - before < 50 * MB
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
