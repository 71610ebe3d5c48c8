"""Tracking links per order (staff side): created with a 256-bit token shown once and stored
only as its keyed hash, listed without tokens, revoked (at once, idempotently), audited; the
permission of each route; another tenant's order or link is 404."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, text

from garment.platform.events import OutboxEvent
from garment.runtime import Runtime
from tests.sales.conftest import Shop, create_order
from tests.tenant.conftest import field_errors, member_with_roles, problem
from tests.tracking.conftest import PUBLIC, create_link, links_path

AUDIT = "/api/v1/tenant/audit-logs"
TOKEN = re.compile(r"^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$")


async def test_a_link_carries_its_tenant_and_256_random_bits_shown_once(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)
    before = datetime.now(UTC)
    link = await create_link(client, shop.owner, order["id"], label="Grup WA panitia")
    match = TOKEN.match(link["token"])
    assert match is not None, link["token"]
    tenant_part, secret = match.groups()
    assert uuid.UUID(bytes=base64.urlsafe_b64decode(tenant_part + "==")) == shop.setup.tenant_id
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert link["url"].endswith(f"/t/{link['token']}")
    assert link["api_url"].endswith(f"{PUBLIC}/{link['token']}")
    assert (link["status"], link["label"], link["view_count"]) == ("active", "Grup WA panitia", 0)
    expires = datetime.fromisoformat(link["expires_at"])
    assert before + timedelta(days=60) <= expires <= datetime.now(UTC) + timedelta(days=60)

    # Stored only as the keyed hash: no column holds the token or its secret.
    async with runtime.cluster_manager.tenant_transaction(
        shop.setup.cluster, shop.setup.tenant_id
    ) as db:
        row = (
            await db.execute(
                text("SELECT * FROM tracking_links WHERE id = :id"), {"id": uuid.UUID(link["id"])}
            )
        ).one()
    assert row.token_hash == runtime.token_hasher.hash(link["token"])
    assert all(secret not in str(value) for value in row)

    one = await client.get(links_path(order["id"]) + f"/{link['id']}", headers=shop.owner.headers())
    assert one.status_code == 200 and one.json()["label"] == "Grup WA panitia"
    assert "token" not in one.json()
    listed = await client.get(links_path(order["id"]), headers=shop.owner.headers())
    assert listed.status_code == 200, listed.text
    (only,) = listed.json()["data"]
    assert only["id"] == link["id"] and "token" not in only and "url" not in only
    assert link["token"] not in listed.text


async def test_expiry_is_settable_and_bounded(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await create_order(client, shop)
    week = await create_link(client, shop.owner, order["id"], expires_in_days=7)
    created = datetime.fromisoformat(week["created_at"])
    assert datetime.fromisoformat(week["expires_at"]) - created == timedelta(days=7)
    for days in (0, 366):
        response = await client.post(
            links_path(order["id"]), json={"expires_in_days": days}, headers=shop.owner.headers()
        )
        assert "body.expires_in_days" in field_errors(response)
    extra = await client.post(
        links_path(order["id"]), json={"token": "mine"}, headers=shop.owner.headers()
    )
    assert "body.token" in field_errors(extra)


async def test_revoke_is_immediate_idempotent_audited_and_published(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await create_order(client, shop)
    link = await create_link(client, shop.owner, order["id"])
    assert (await client.get(f"{PUBLIC}/{link['token']}")).status_code == 200
    path = f"{links_path(order['id'])}/{link['id']}"
    revoked = await client.delete(path, headers=shop.owner.headers())
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    problem(await client.get(f"{PUBLIC}/{link['token']}"), 404, "TRACKING_LINK_NOT_FOUND")
    again = await client.delete(path, headers=shop.owner.headers())
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]

    logs = await client.get(
        AUDIT,
        params={"entity_type": "tracking_link", "entity_id": link["id"]},
        headers=shop.owner.headers(),
    )
    assert logs.status_code == 200, logs.text
    actions = sorted(row["action"] for row in logs.json()["data"])
    # One create, one revoke (the second changed nothing), one view.
    assert actions == ["create", "revoke", "view"]
    assert link["token"] not in logs.text
    assert link["token"].split(".")[1] not in logs.text

    # Create and revoke went out as domain events through the outbox, once each, tokenless.
    async with runtime.central.transaction() as session:
        rows = (
            await session.execute(
                select(OutboxEvent.name, OutboxEvent.payload)
                .where(OutboxEvent.payload["link_id"].astext == link["id"])
                .order_by(OutboxEvent.id)
            )
        ).all()
    assert [name for name, _ in rows] == [
        "tracking.TrackingLinkCreated",
        "tracking.TrackingLinkRevoked",
    ]
    assert all(payload["order_id"] == order["id"] for _, payload in rows)
    assert link["token"].split(".")[1] not in str(rows)


async def test_permissions(runtime: Runtime, client: httpx.AsyncClient, shop: Shop) -> None:
    order = await create_order(client, shop)
    link = await create_link(client, shop.owner, order["id"])
    production = await member_with_roles(runtime, client, shop.setup, ["production"])
    # orders.view lists, but only orders.manage creates and revokes.
    listed = await client.get(links_path(order["id"]), headers=production.headers())
    assert listed.status_code == 200
    problem(
        await client.post(links_path(order["id"]), json={}, headers=production.headers()),
        403,
        "PERMISSION_DENIED",
    )
    problem(
        await client.delete(
            f"{links_path(order['id'])}/{link['id']}", headers=production.headers()
        ),
        403,
        "PERMISSION_DENIED",
    )
    sales = await member_with_roles(runtime, client, shop.setup, ["sales"])
    assert (
        await client.post(links_path(order["id"]), json={}, headers=sales.headers())
    ).status_code == 201
    operator = await member_with_roles(runtime, client, shop.setup, ["operator"])
    problem(
        await client.get(links_path(order["id"]), headers=operator.headers()),
        403,
        "PERMISSION_DENIED",
    )


async def test_another_tenants_order_and_link_are_not_found(
    client: httpx.AsyncClient, shop: Shop, other_shop: Shop
) -> None:
    order = await create_order(client, shop)
    link = await create_link(client, shop.owner, order["id"])
    theirs = other_shop.owner
    for response in (
        await client.post(links_path(order["id"]), json={}, headers=theirs.headers()),
        await client.get(links_path(order["id"]), headers=theirs.headers()),
        await client.get(f"{links_path(order['id'])}/{link['id']}", headers=theirs.headers()),
        await client.delete(f"{links_path(order['id'])}/{link['id']}", headers=theirs.headers()),
    ):
        problem(response, 404, "RESOURCE_NOT_FOUND")
    # A link id under another of the same tenant's orders is not found either.
    second = await create_order(client, shop)
    problem(
        await client.delete(
            f"{links_path(second['id'])}/{link['id']}", headers=shop.owner.headers()
        ),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert (await client.get(f"{PUBLIC}/{link['token']}")).status_code == 200
