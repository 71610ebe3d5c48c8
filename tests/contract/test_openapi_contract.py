"""The OpenAPI document says exactly what the server accepts (issue 14, ADR 0012).

A third-party fuzzer (schemathesis) runs against a real `garment serve` process on the test
databases with **every** check: no server error, every status and content type documented,
responses and headers matching their schemas, schema-valid requests accepted, invalid ones
rejected, `Allow` on 405, missing auth and headers refused. All four phases run (examples,
coverage, fuzzing, stateful), on every operation the document lists, so a route added later is
covered without touching this file. The fuzzer signs in as the owner of a provisioned tenant who
is also a platform admin (`tests/contract/hooks.py`); operations that end its session are
fuzzed too, and it signs in again. `tests/contract/schemathesis.toml` lists, with reasons, the
statuses beyond schemathesis' defaults that a schema-valid request may legitimately get.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from garment.central.auth.models import User
from garment.config import Settings
from garment.runtime import Runtime
from tests.auth.conftest import PASSWORD, make_user
from tests.conftest import free_port, garment_env
from tests.tenancy.conftest import create_tenant

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
HERE = Path(__file__).parent
REPO = HERE.parent.parent
SEED = "20261201"


def disabled_operations() -> list[str]:
    """The operations `schemathesis.toml` disables (`enabled = false`, each with its reason)."""
    config = tomllib.loads((HERE / "schemathesis.toml").read_text())
    return [
        operation["include-name"]
        for operation in config.get("operations", [])
        if operation.get("enabled", True) is False
    ]


MAX_EXAMPLES = "25"


def server_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    env.update(
        garment_env(
            settings,
            GARMENT_DATA_DIR=str(tmp_path / "data"),
            GARMENT_MAIL__DIRECTORY=str(tmp_path / "mail"),
            # The fuzzer is one client sending thousands of requests: limits that protect
            # accounts from a person would only lock the fuzzer out of its own account.
            GARMENT_AUTH__IP_RATE_LIMIT="1000000/minute",
            GARMENT_AUTH__EMAIL_RATE_LIMIT="1000000/hour",
            GARMENT_AUTH__LOGIN_MAX_FAILURES="1000000",
            GARMENT_LOG__LEVEL="WARNING",
            GARMENT_CONFIG_FILE="/nonexistent/garment.toml",
        )
    )
    return env


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("the server did not become ready")


async def test_every_operation_passes_every_check(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    owner = await make_user(runtime)
    async with runtime.central.transaction() as session:
        await session.execute(
            update(User).where(User.id == owner.id).values(is_platform_admin=True)
        )
    tenant = await create_tenant(runtime, owner)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(VENV_BIN / "garment"), "serve", "--port", str(port), "--no-worker"],
        env=server_env(settings, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(base, server)
        schemathesis = shutil.which("schemathesis", path=str(VENV_BIN)) or "schemathesis"
        fuzzer_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")},
            "PYTHONPATH": str(REPO),
            "SCHEMATHESIS_HOOKS": "tests.contract.hooks",
            "CONTRACT_BASE_URL": base,
            "CONTRACT_EMAIL": owner.email,
            "CONTRACT_PASSWORD": PASSWORD,
            "CONTRACT_TENANT_ID": str(tenant.id),
        }
        result = subprocess.run(
            [
                schemathesis,
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                MAX_EXAMPLES,
                "--workers",
                "1",
                "--seed",
                SEED,
                "--no-color",
            ],
            env=fuzzer_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            # A guard against a hang, not a budget: the run takes 5.5-7 min on the 2-core VM,
            # whose speed varies by tens of per cent from one hour to the next.
            timeout=600,
            check=False,
        )
        (tmp_path / "schemathesis.txt").write_text(result.stdout + result.stderr)
        report = result.stdout[-12000:] + result.stderr[-3000:]
        assert result.returncode == 0, report
        # Every operation of the document was tested, none skipped for lack of data.
        assert "Selected:" in result.stdout, report
        # Only the operations the config disables, each with its reason, are left out.
        selected = result.stdout.split("Selected:", 1)[1].split()[0]
        tested = result.stdout.split("Tested:", 1)[1].split()[0]
        total = int(selected.split("/")[1])
        expected = str(total - len(disabled_operations()))
        assert selected.split("/")[0] == expected and tested == expected, report
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
