"""The whole sandbox flow through a running `garment serve` over HTTP, as a new user would:
register, verify, create a tenant on a paid plan (its first invoice is open and provisioning
waits), get the pay link, `garment billing simulate-payment`, and the tenant becomes active."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from garment.config import Settings
from garment.runtime import Runtime
from tests.auth.conftest import PASSWORD, bearer, mails_to, token_in, unique_email
from tests.conftest import free_port, garment_env

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent


def server_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GARMENT_")}
    env.update(
        garment_env(
            settings,
            GARMENT_DATA_DIR=str(tmp_path / "data"),
            GARMENT_MAIL__DIRECTORY=str(tmp_path / "mail"),
            GARMENT_LOG__LEVEL="WARNING",
            GARMENT_CONFIG_FILE="/nonexistent/garment.toml",
            GARMENT_JOBS__OUTBOX_POLL_SECONDS="0.2",
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
            pass
        time.sleep(0.2)
    pytest.fail("the server did not become ready")


async def eventually(probe: Any, *, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


async def test_onboard_invoice_pay_provision_active(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    assert runtime.cluster_manager.configured_keys()  # the fixture registered the clusters
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(settings, tmp_path)
    server = subprocess.Popen(
        [str(VENV_BIN / "garment"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(base, server)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            plans = (await http.get("/api/v1/billing/plans")).json()["data"]
            assert [p["code"] for p in plans] == ["starter", "growth", "enterprise"]

            address = unique_email("e2e")
            registered = await http.post(
                "/api/v1/auth/register",
                json={"email": address, "password": PASSWORD, "name": "Sari Wulandari"},
            )
            assert registered.status_code == 201, registered.text
            mail_dir = tmp_path / "mail"

            async def verification() -> Any:
                return mails_to(mail_dir, address) if mail_dir.exists() else []

            [mail] = await eventually(verification)
            verified = await http.post("/api/v1/auth/email/verify", json={"token": token_in(mail)})
            assert verified.status_code == 200, verified.text
            login = await http.post(
                "/api/v1/auth/login",
                json={"email": address, "password": PASSWORD},
                headers={"X-Device-Fingerprint": "e2e"},
            )
            access = login.json()["access_token"]

            created = await http.post(
                "/api/v1/tenants",
                json={
                    "name": "Konveksi Sari",
                    "slug": f"sari-{uuid.uuid4().hex[:8]}",
                    "plan_code": "enterprise",
                },
                headers=bearer(access),
            )
            assert created.status_code == 202, created.text
            tenant = created.json()
            assert tenant["status"] == "pending"

            # Working in it is refused until it is paid for; billing is reachable.
            work = await http.post(
                "/api/v1/auth/tenant-token",
                json={"tenant_id": tenant["id"]},
                headers=bearer(access),
            )
            assert work.status_code == 409, work.text
            assert work.json()["code"] == "TENANT_PROVISIONING"
            grant = await http.post(
                "/api/v1/auth/tenant-token",
                json={"tenant_id": tenant["id"], "purpose": "billing"},
                headers=bearer(access),
            )
            assert grant.status_code == 200, grant.text
            headers = {**bearer(grant.json()["access_token"]), "X-Tenant-ID": tenant["slug"]}
            me = await http.get("/api/v1/tenant/me", headers=headers)
            assert me.json()["code"] == "TENANT_PROVISIONING"

            async def invoices() -> Any:
                answer = await http.get("/api/v1/tenant/billing/invoices", headers=headers)
                assert answer.status_code == 200, answer.text
                return answer.json()["data"]

            [invoice] = await eventually(invoices)
            assert invoice["status"] == "open"
            assert invoice["number"].startswith("INV/")
            assert (invoice["subtotal"], invoice["tax_base"], invoice["tax_rate"]) == (
                1_490_000,
                1_365_833,
                12,
            )
            assert (invoice["tax"], invoice["total"]) == (163_900, 1_653_900)
            assert invoice["due_at"]
            subscription = await http.get("/api/v1/tenant/billing/subscription", headers=headers)
            assert subscription.json()["status"] == "incomplete"
            detail = await http.get(f"/api/v1/tenants/{tenant['id']}", headers=bearer(access))
            assert detail.json()["status"] == "pending"
            assert {s["status"] for s in detail.json()["provisioning"]} == {"pending"}

            link = await http.post(
                f"/api/v1/tenant/billing/invoices/{invoice['id']}/pay", headers=headers
            )
            assert link.status_code == 200, link.text
            assert link.json()["provider"] == "sandbox"
            again = await http.post(
                f"/api/v1/tenant/billing/invoices/{invoice['id']}/pay", headers=headers
            )
            assert again.json()["url"] == link.json()["url"]

            paid = await asyncio.to_thread(
                subprocess.run,
                [
                    str(VENV_BIN / "garment"),
                    "billing",
                    "simulate-payment",
                    invoice["number"],
                    "--server",
                    base,
                    "--json",
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert paid.returncode == 0, paid.stdout + paid.stderr
            outcome = json.loads(paid.stdout)
            assert outcome["http_status"] == 200
            assert outcome["receipt_status"] == "processed", outcome
            assert outcome["invoice_status"] == "paid"

            async def active() -> bool:
                answer = await http.get(f"/api/v1/tenants/{tenant['id']}", headers=bearer(access))
                return bool(answer.json()["status"] == "active")

            if not await eventually(active, within=60):
                answer = await http.get(f"/api/v1/tenants/{tenant['id']}", headers=bearer(access))
                server.send_signal(signal.SIGINT)
                _, errors = server.communicate(timeout=20)
                pytest.fail(f"{answer.text}\n{errors.decode()[-5000:]}")
            token = await http.post(
                "/api/v1/auth/tenant-token",
                json={"tenant_id": tenant["id"]},
                headers=bearer(access),
            )
            assert token.status_code == 200, token.text
            me = await http.get(
                "/api/v1/tenant/me",
                headers={**bearer(token.json()["access_token"]), "X-Tenant-ID": tenant["slug"]},
            )
            assert me.status_code == 200, me.text
            assert me.json()["entitlements"]["limits"]["max_members"] == 200
            subscription = await http.get("/api/v1/tenant/billing/subscription", headers=headers)
            assert subscription.json()["status"] == "active"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
