"""Onboarding through the API: create, provision (the job), select, and the first tenant route."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx

from garment.central.tenancy.states import PROVISIONING_STEPS
from garment.runtime import Runtime
from tests.auth.conftest import bearer, login, mails_to, make_user
from tests.tenancy.conftest import tenant_setup


async def test_create_provision_select_and_me(
    client: httpx.AsyncClient, runtime: Runtime, mail_dir: Path
) -> None:
    owner = await make_user(runtime)
    session = await login(client, owner)
    assert session["next"] == "onboarding"
    created = await client.post(
        "/api/v1/tenants",
        json={"name": "Konveksi Sari", "slug": f"sari-{owner.id.hex[:8]}", "plan_code": "growth"},
        headers=bearer(session["access_token"]),
    )
    assert created.status_code == 202, created.text
    tenant = created.json()
    assert tenant["status"] == "provisioning"

    worker = asyncio.create_task(runtime.jobs.run_worker(concurrency=2))
    try:
        for _ in range(100):
            detail = await client.get(
                f"/api/v1/tenants/{tenant['id']}", headers=bearer(session["access_token"])
            )
            if detail.json()["status"] == "active":
                break
            await asyncio.sleep(0.1)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    body = detail.json()
    assert body["status"] == "active", body
    assert [step["status"] for step in body["provisioning"]] == ["done"] * len(PROVISIONING_STEPS)

    again = await login(client, owner)
    assert again["next"] == "auto_select"
    assert again["tenants"][0]["id"] == tenant["id"]
    assert again["tenants"][0]["roles"] == ["owner"]

    token = (
        await client.post(
            "/api/v1/auth/tenant-token",
            json={"tenant_id": tenant["id"]},
            headers=bearer(again["access_token"]),
        )
    ).json()
    assert token["scope"] == "tenant"
    me = await client.get(
        "/api/v1/tenant/me",
        headers={**bearer(token["access_token"]), "X-Tenant-ID": tenant["slug"]},
    )
    assert me.status_code == 200, me.text
    me_body = me.json()
    assert me_body["roles"] == ["owner"]
    assert "billing.manage" in me_body["permissions"]
    assert me_body["entitlements"]["limits"]["max_members"] == 15
    assert me_body["usage"] == {"members": 1}
    await runtime.relay.drain()
    assert mails_to(mail_dir, owner.email, about="sudah siap")


async def test_refresh_keeps_the_tenant_scope(client: httpx.AsyncClient, runtime: Runtime) -> None:
    setup = await tenant_setup(runtime, client)
    refreshed = await client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": setup.session["refresh_token"]},
        headers={"X-Device-Fingerprint": "device-A"},
    )
    token = refreshed.json()["access_token"]
    me = await client.get("/api/v1/tenant/me", headers=setup.headers(token))
    assert me.status_code == 200, me.text
    # Account endpoints accept the session's tenant-scoped token too.
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
