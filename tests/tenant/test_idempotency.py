"""Idempotency-Key on tenant POSTs (through POST /tenant/customers): the same key and body
answer the stored response once executed, also for 10 concurrent duplicates; another body is
422 IDEMPOTENCY_KEY_REUSED; a failed request frees its key."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import event, func, select, text

from garment.runtime import Runtime
from garment.tenant.audit.models import AuditLog
from garment.tenant.conventions.models import IdempotencyKey
from garment.tenant.customers.models import Customer
from tests.tenancy.conftest import TenantSetup, tenant_setup
from tests.tenant.conftest import new_key, owner_of, problem

CUSTOMERS = "/api/v1/tenant/customers"


async def count(runtime: Runtime, setup: TenantSetup, model: type) -> int:
    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        return int((await db.execute(select(func.count()).select_from(model))).scalar_one())


async def test_same_key_and_body_answers_the_stored_response_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    key = new_key()
    body = {"name": "CV Maju Jaya", "type": "reseller"}
    first = await client.post(
        CUSTOMERS, json=body, headers=owner.headers(**{"Idempotency-Key": key})
    )
    assert first.status_code == 201, first.text
    # Member order does not matter: the JSON value is compared.
    again = await client.post(
        CUSTOMERS,
        json={"type": "reseller", "name": "CV Maju Jaya"},
        headers=owner.headers(**{"Idempotency-Key": key}),
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count(runtime, setup, Customer) == 1
    assert await count(runtime, setup, AuditLog) == 1
    assert await count(runtime, setup, IdempotencyKey) == 1

    other = await client.post(
        CUSTOMERS,
        json={"name": "CV Lain", "type": "reseller"},
        headers=owner.headers(**{"Idempotency-Key": key}),
    )
    problem(other, 422, "IDEMPOTENCY_KEY_REUSED")
    assert await count(runtime, setup, Customer) == 1

    # Without a key every POST creates.
    for _ in range(2):
        plain = await client.post(CUSTOMERS, json=body, headers=owner.headers())
        assert plain.status_code == 201
    assert await count(runtime, setup, Customer) == 3


async def test_ten_concurrent_duplicates_make_one_row_and_one_answer(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    key = new_key()
    body = {"name": "PT Seragam Nusantara", "type": "corporate", "credit_days": 30}
    responses = await asyncio.gather(
        *(
            client.post(CUSTOMERS, json=body, headers=owner.headers(**{"Idempotency-Key": key}))
            for _ in range(10)
        )
    )
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(1 for r in responses if "Idempotent-Replayed" not in r.headers) == 1
    assert await count(runtime, setup, Customer) == 1
    assert await count(runtime, setup, AuditLog) == 1


async def test_a_refused_request_frees_its_key(client: httpx.AsyncClient, runtime: Runtime) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    key = new_key()
    refused = await client.post(
        CUSTOMERS,
        json={"name": "Toko Baju", "nitku": "0012345678901000000000"},  # NITKU without NPWP
        headers=owner.headers(**{"Idempotency-Key": key}),
    )
    problem(refused, 422, "VALIDATION_FAILED")
    assert await count(runtime, setup, IdempotencyKey) == 0
    fixed = await client.post(
        CUSTOMERS,
        json={"name": "Toko Baju", "nitku": "0012345678901000000000"},
        headers=owner.headers(**{"Idempotency-Key": new_key()}),
    )
    problem(fixed, 422, "VALIDATION_FAILED")


async def test_keys_belong_to_one_tenant_and_one_member(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await tenant_setup(runtime, client)
    b = await tenant_setup(runtime, client, cluster=a.cluster)
    key = new_key()
    body = {"name": "Konveksi Sejahtera"}
    in_a = await client.post(
        CUSTOMERS, json=body, headers=owner_of(a).headers(**{"Idempotency-Key": key})
    )
    in_b = await client.post(
        CUSTOMERS, json=body, headers=owner_of(b).headers(**{"Idempotency-Key": key})
    )
    assert in_a.status_code == in_b.status_code == 201
    assert in_a.json()["id"] != in_b.json()["id"]
    assert "Idempotent-Replayed" not in in_b.headers


async def test_a_duplicate_waiting_too_long_is_409_in_progress(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    key = new_key()
    # Hold the key in an open transaction, as a first request still running would.
    service = runtime.idempotency
    saved = service.wait_seconds
    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        claimed = await service.claim(
            db,
            setup.tenant_id,
            key,
            method="POST",
            path=f"{setup.owner.id}:{CUSTOMERS}",
            body=b'{"name":"X"}',
        )
        assert claimed is None
        service.wait_seconds = 0.3
        try:
            waiting = await client.post(
                CUSTOMERS, json={"name": "X"}, headers=owner.headers(**{"Idempotency-Key": key})
            )
        finally:
            service.wait_seconds = saved
        body = problem(waiting, 409, "IDEMPOTENCY_IN_PROGRESS")
        assert waiting.headers["Retry-After"] == "1"
        assert body["code"] == "IDEMPOTENCY_IN_PROGRESS"
        await db.rollback()
    # The holder gave up: the key is free and the request runs.
    done = await client.post(
        CUSTOMERS, json={"name": "X"}, headers=owner.headers(**{"Idempotency-Key": key})
    )
    assert done.status_code == 201, done.text


async def test_a_claim_is_one_statement_and_leaves_later_waits_unbounded(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The claim bounds its own wait for a held key (`lock_timeout`) and clears the bound again
    in the same statement: the rest of the request waits for its locks as usual."""
    setup = await tenant_setup(runtime, client)
    statements: list[str] = []

    def counted(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        engine = (await db.connection()).engine.sync_engine
        event.listen(engine, "before_cursor_execute", counted)
        try:
            claimed = await runtime.idempotency.claim(
                db, setup.tenant_id, new_key(), method="POST", path="p", body=b"{}"
            )
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        assert claimed is None
        assert len(statements) == 1, statements
        assert (await db.execute(text("SHOW lock_timeout"))).scalar_one() == "0"


async def test_expired_keys_are_purged_and_reusable(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    key = new_key()
    first = await client.post(
        CUSTOMERS, json={"name": "A"}, headers=owner.headers(**{"Idempotency-Key": key})
    )
    assert first.status_code == 201
    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        row = await db.get(IdempotencyKey, (setup.tenant_id, key))
        assert row is not None
        row.expires_at = row.created_at
    # Past its 24 hours the key is new again (another body is no reuse).
    second = await client.post(
        CUSTOMERS, json={"name": "B"}, headers=owner.headers(**{"Idempotency-Key": key})
    )
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        row = await db.get(IdempotencyKey, (setup.tenant_id, key))
        assert row is not None
        row.expires_at = row.created_at
    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        assert await runtime.idempotency.purge_expired(db, setup.tenant_id) == 1
    assert await count(runtime, setup, IdempotencyKey) == 0


async def test_an_invitation_resent_with_its_key_is_sent_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    headers = owner.headers(**{"Idempotency-Key": new_key()})
    body = {"email": "penjahit@konveksi.id", "roles": ["operator"]}
    first = await client.post("/api/v1/tenant/members/invitations", json=body, headers=headers)
    again = await client.post("/api/v1/tenant/members/invitations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    listed = await client.get("/api/v1/tenant/members/invitations", headers=owner.headers())
    assert [row["id"] for row in listed.json()["data"]] == [first.json()["id"]]
