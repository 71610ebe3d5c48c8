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
