"""Creating tenants under pressure: one slug claimed by many at once, and one user creating
many tenants quickly."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx

from garment.app import create_app
from garment.platform.dbsetup import Targets
from garment.runtime import Runtime
from tests.auth.conftest import bearer, login, make_user
from tests.conftest import make_client, settings_for
from tests.tenancy.conftest import tenant_setup

TENANTS = "/api/v1/tenants"


def creation(slug: str) -> dict[str, str]:
    return {"name": "Konveksi Sari", "slug": slug, "plan_code": "starter"}


async def test_ten_parallel_creations_of_one_slug_give_one_tenant_and_nine_field_errors(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    users = [await make_user(runtime) for _ in range(10)]
    sessions = [await login(client, user) for user in users]
    slug = f"sari-{uuid.uuid4().hex[:8]}"
    answers = await asyncio.gather(
        *(
            client.post(TENANTS, json=creation(slug), headers=bearer(s["access_token"]))
            for s in sessions
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202] + [409] * 9, [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            body = answer.json()
            assert body["code"] == "TENANT_SLUG_TAKEN"
            assert "body.slug" in body["errors"]


async def test_one_user_cannot_create_tenants_without_limit(
    targets: Targets, tmp_path: Path
) -> None:
    limited = settings_for(targets, tmp_path, rate_limit={"tenant_creation": "3/hour"})
    runtime = await Runtime.create(limited, migrate=False)
    try:
        user = await make_user(runtime)
        async with make_client(create_app(runtime=runtime)) as http:
            token = (await login(http, user))["access_token"]
            answers = [
                await http.post(
                    TENANTS, json=creation(f"k-{uuid.uuid4().hex[:10]}"), headers=bearer(token)
                )
                for _ in range(5)
            ]
        assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
        refused = answers[3]
        assert refused.json()["code"] == "RATE_LIMITED"
        assert int(refused.headers["retry-after"]) > 0
        # Another user is not affected.
        other = await make_user(runtime)
        async with make_client(create_app(runtime=runtime)) as http:
            token = (await login(http, other))["access_token"]
            fine = await http.post(
                TENANTS, json=creation(f"k-{uuid.uuid4().hex[:10]}"), headers=bearer(token)
            )
        assert fine.status_code == 202
    finally:
        await runtime.close()


async def test_a_tenant_being_prepared_answers_409_with_its_status_apart_from_the_http_status(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """RFC 9457 reserves `status` for the HTTP status; the tenant's goes in `tenant_status`."""
    user = await make_user(runtime)
    token = (await login(client, user))["access_token"]
    created = await client.post(
        TENANTS, json=creation(f"p-{uuid.uuid4().hex[:10]}"), headers=bearer(token)
    )
    assert created.status_code == 202, created.text  # no worker here: it stays in preparation
    selected = await client.post(
        "/api/v1/auth/tenant-token", json={"tenant_id": created.json()["id"]}, headers=bearer(token)
    )
    assert selected.status_code == 409, selected.text
    body = selected.json()
    assert body["code"] == "TENANT_PROVISIONING"
    assert body["status"] == 409
    assert body["tenant_status"] in {"pending", "provisioning"}


async def test_an_invitation_is_not_accepted_while_the_tenant_is_suspended(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    invited = await make_user(runtime)
    async with runtime.central.transaction() as session:
        invitation = await runtime.tenancy.invite(
            session,
            setup.tenant_id,
            email=invited.email,
            role_keys=["viewer"],
            invited_by=setup.owner.id,
        )
        raw = await runtime.tenancy.mint_invitation_token(session, invitation.id)
        await runtime.tenancy.suspend(session, setup.tenant_id, "unpaid")
    signed_in = bearer((await login(client, invited))["access_token"])
    refused = await client.post(
        "/api/v1/invitations/accept", json={"token": raw}, headers=signed_in
    )
    assert refused.status_code == 402, refused.text
    assert refused.json()["code"] == "TENANT_SUSPENDED"
    assert (await client.get("/api/v1/auth/tenants", headers=signed_in)).json()["data"] == []
    # Still pending: after the tenant resumes, the same link works.
    async with runtime.central.transaction() as session:
        await runtime.tenancy.resume(session, setup.tenant_id)
    accepted = await client.post(
        "/api/v1/invitations/accept", json={"token": raw}, headers=signed_in
    )
    assert accepted.status_code == 200, accepted.text
