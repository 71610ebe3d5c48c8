"""Webhook endpoints on the Tenant API: CRUD with If-Match, the secret (shown on create and
rotate only, stored encrypted), validation naming the field, permissions, another tenant's
endpoint as 404, and the plan feature."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from garment.runtime import Runtime
from tests.auth.conftest import login, make_user
from tests.tenancy.conftest import create_tenant, select_tenant, tenant_setup
from tests.tenant.conftest import field_errors, member_with_roles, owner_of, problem
from tests.webhooks.conftest import (
    ENDPOINTS,
    Receiver,
    create_endpoint,
    deliver_all,
    emit,
    get_json,
    order_created,
)


def if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


async def test_crud_with_versions_and_audit(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    created = await create_endpoint(
        client, owner, receiver, "/crud", ["order.confirmed", "order.created"], description="ERP"
    )
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["order.confirmed", "order.created"]
    assert created["status"] == "enabled"
    base = f"{ENDPOINTS}/{created['id']}"
    shown = await client.get(base, headers=owner.headers())
    assert shown.headers["ETag"] == '"1"'
    assert "secret" not in shown.json()
    listed = await get_json(client, owner, ENDPOINTS)
    assert [item["id"] for item in listed["data"]] == [created["id"]]

    changed = await client.patch(
        base,
        json={"event_types": ["payment.received"], "description": None, "status": "disabled"},
        headers=owner.headers(**if_match(1)),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["payment.received"]
    assert changed.json()["description"] is None
    assert changed.json()["status"] == "disabled"
    assert changed.json()["disabled_reason"] is None
    stale = await client.patch(
        base, json={"description": "x"}, headers=owner.headers(**if_match(1))
    )
    problem(stale, 409, "CONFLICT")
    # A null for a required member means unchanged, never a 500.
    unchanged = await client.patch(
        base, json={"url": None, "event_types": None}, headers=owner.headers()
    )
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["url"] == created["url"]

    audit = await get_json(client, owner, f"/api/v1/tenant/audit-logs?entity_id={created['id']}")
    assert {row["action"] for row in audit["data"]} >= {"create", "update"}
    assert "whsec_" not in str(audit)

    gone = await client.delete(base, headers=owner.headers(**if_match(2)))
    assert gone.status_code == 204, gone.text
    problem(await client.get(base, headers=owner.headers()), 404, "RESOURCE_NOT_FOUND")


async def test_the_secret_is_stored_encrypted_and_rotation_signs_with_both(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    created = await create_endpoint(client, owner, receiver, "/rotate", ["order.created"])
    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        stored = (
            await db.execute(
                text("SELECT secret_encrypted FROM webhook_endpoints WHERE id = :id"),
                {"id": created["id"]},
            )
        ).scalar_one()
    assert created["secret"].encode() not in bytes(stored)
    assert created["secret"].removeprefix("whsec_").encode() not in bytes(stored)

    rotated = await client.post(
        f"{ENDPOINTS}/{created['id']}/rotate-secret", headers=owner.headers(**if_match(1))
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["secret"]
    assert rotated.headers["ETag"] == '"2"'

    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id))
    await deliver_all(runtime)
    [call] = receiver.at("/rotate")
    signatures = call.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2  # the new secret and, for 24 hours, the previous one
    # Each secret alone verifies (a receiver on either side of its switch accepts it).
    from standardwebhooks.webhooks import Webhook

    Webhook(new_secret).verify(call.body, call.headers)
    Webhook(created["secret"]).verify(call.body, call.headers)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://erp.example.co.id/x", "event_types": ["order.created"]}, "body.url"),
        (
            {"url": "https://user:pw@erp.example.co.id/x", "event_types": ["order.created"]},
            "body.url",
        ),
        (
            {"url": "https://erp.example.co.id/x", "event_types": ["order.eaten"]},
            "body.event_types.0",
        ),
        ({"url": "https://erp.example.co.id/x", "event_types": []}, "body.event_types"),
        ({"url": "https://erp.example.co.id/x"}, "body.event_types"),
    ],
)
async def test_bad_input_names_the_field(
    runtime: Runtime, client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    setup = await tenant_setup(runtime, client)
    errors = field_errors(
        await client.post(ENDPOINTS, json=body, headers=owner_of(setup).headers())
    )
    assert field in errors, errors


async def test_private_targets_are_refused_when_the_setting_says_so(
    runtime: Runtime,
    client: httpx.AsyncClient,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    endpoint = await create_endpoint(client, owner, receiver, "/private", ["order.created"])
    monkeypatch.setattr(runtime.webhooks, "allow_private", False)
    monkeypatch.setattr(runtime.webhooks.sender, "allow_private", False)
    for url in (
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://localhost/x",
        "http://[::1]/x",
    ):
        refused = await client.post(
            ENDPOINTS, json={"url": url, "event_types": ["order.created"]}, headers=owner.headers()
        )
        assert "body.url" in field_errors(refused), url
    # An endpoint saved earlier is refused at send time too (the guard runs before each attempt).
    await emit(runtime, "orders.OrderCreated", **order_created(setup.tenant_id))
    await deliver_all(runtime)
    assert receiver.at("/private") == []
    attempts = (await get_json(client, owner, f"{ENDPOINTS}/{endpoint['id']}/attempts"))["data"]
    assert attempts and {a["error"] for a in attempts} == {"target_not_public"}


async def test_permissions_view_and_manage(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    endpoint = await create_endpoint(client, owner, receiver, "/perm", ["order.created"])
    viewer = await member_with_roles(runtime, client, setup, ["viewer"])
    sales = await member_with_roles(runtime, client, setup, ["sales"])
    assert (await client.get(ENDPOINTS, headers=viewer.headers())).status_code == 200
    events = await get_json(client, viewer, "/api/v1/tenant/webhook-event-types")
    assert "order.confirmed" in {item["name"] for item in events["data"]}
    body = {"url": receiver.url("/x"), "event_types": ["order.created"]}
    denied = problem(
        await client.post(ENDPOINTS, json=body, headers=viewer.headers()), 403, "PERMISSION_DENIED"
    )
    assert denied["permission"] == "webhooks.manage"
    problem(
        await client.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", headers=viewer.headers()),
        403,
        "PERMISSION_DENIED",
    )
    problem(await client.get(ENDPOINTS, headers=sales.headers()), 403, "PERMISSION_DENIED")


async def test_another_tenants_endpoint_is_not_found(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    mine = await tenant_setup(runtime, client)
    theirs = await tenant_setup(runtime, client, cluster="secondary")
    endpoint = await create_endpoint(
        client, owner_of(theirs), receiver, "/theirs", ["order.created"]
    )
    await emit(runtime, "orders.OrderCreated", **order_created(theirs.tenant_id))
    await deliver_all(runtime)
    [call] = receiver.at("/theirs")
    me = owner_of(mine)
    base = f"{ENDPOINTS}/{endpoint['id']}"
    for response in (
        await client.get(base, headers=me.headers()),
        await client.patch(base, json={"description": "x"}, headers=me.headers()),
        await client.delete(base, headers=me.headers()),
        await client.post(f"{base}/rotate-secret", headers=me.headers()),
        await client.get(f"{base}/messages", headers=me.headers()),
        await client.get(f"{base}/attempts", headers=me.headers()),
        await client.get(f"{base}/messages/{call.webhook_id}", headers=me.headers()),
        await client.post(f"{base}/messages/{call.webhook_id}/replay", headers=me.headers()),
    ):
        problem(response, 404, "RESOURCE_NOT_FOUND")
    assert (await get_json(client, me, ENDPOINTS))["data"] == []
    # Their event never reached my endpoints either.
    await create_endpoint(client, me, receiver, "/mine", ["order.created"])
    await emit(runtime, "orders.OrderCreated", **order_created(theirs.tenant_id))
    await deliver_all(runtime)
    assert receiver.at("/mine") == []


async def test_a_plan_without_webhooks_is_402(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    owner_user = await make_user(runtime)
    tenant = await create_tenant(runtime, owner_user, plan="starter")
    signed_in = await login(client, owner_user)
    token = await select_tenant(client, signed_in["access_token"], tenant.id)
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": str(tenant.id)}
    for response in (
        await client.get(ENDPOINTS, headers=headers),
        await client.post(
            ENDPOINTS,
            json={"url": receiver.url("/starter"), "event_types": ["order.created"]},
            headers=headers,
        ),
    ):
        body = problem(response, 402, "PLAN_FEATURE_UNAVAILABLE")
        assert body["feature"] == "webhooks"
