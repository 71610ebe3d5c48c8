"""The OpenAPI document drives a third-party fuzzer (schemathesis) against a real server:
no 5xx, every status documented for its route, problem+json where documented.

The server is a real `garment serve` process on the test databases, signed in as a member of a
provisioned tenant (its tenant-scoped token also opens the account endpoints, ADR 0006), so the
Tenant API is exercised too. Endpoints that end the fuzzer's own session are left out.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from garment.config import Settings
from garment.runtime import Runtime
from tests.auth.conftest import login, make_user
from tests.conftest import garment_env
from tests.tenancy.conftest import create_tenant, select_tenant

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
SESSION_ENDING = "logout|sessions/|force-logout|password/change|reauth|mfa/totp/disable"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    env.update(
        garment_env(
            settings,
            GARMENT_DATA_DIR=str(tmp_path / "data"),
            GARMENT_MAIL__DIRECTORY=str(tmp_path / "mail"),
            GARMENT_AUTH__IP_RATE_LIMIT="1000000/minute",
            GARMENT_AUTH__EMAIL_RATE_LIMIT="1000000/hour",
            GARMENT_LOG__LEVEL="WARNING",
            GARMENT_CONFIG_FILE="/nonexistent/garment.toml",
        )
    )
    return env


async def test_fuzzing_finds_no_server_errors_and_no_undocumented_answers(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    owner = await make_user(runtime)
    tenant = await create_tenant(runtime, owner)
    session = await login(client, owner, fingerprint=None)
    token = await select_tenant(client, session["access_token"], tenant.id)

    port = free_port()
    server = subprocess.Popen(
        [str(VENV_BIN / "garment"), "serve", "--port", str(port), "--no-worker"],
        env=server_env(settings, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not become ready")
        schemathesis = shutil.which("schemathesis", path=str(VENV_BIN)) or "schemathesis"
        result = subprocess.run(
            [
                schemathesis,
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance",
                "--phases",
                "coverage,fuzzing",
                "--max-examples",
                "12",
                "--workers",
                "1",
                "--exclude-path-regex",
                SESSION_ENDING,
                "-H",
                f"Authorization: Bearer {token}",
                "-H",
                f"X-Tenant-ID: {tenant.id}",
                "--seed",
                "20261128",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
