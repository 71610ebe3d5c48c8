"""The tenant's billing routes: subscription, invoices, pay link, plan changes (upgrade now with
proration on the next invoice, downgrade at period end, PLAN_LIMIT_REACHED), cancellation at
period end; reachable while suspended; `billing.view` / `billing.manage`."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from garment.central.tenancy.models import Membership
from garment.runtime import Runtime
from tests.auth.conftest import TestUser, bearer, login, make_user
from tests.billing.conftest import (
    invoices_of,
    onboard,
    open_invoice,
    post_webhook,
    sandbox_delivery,
    subscription_of,
)
from tests.tenancy.conftest import TenantSetup, select_tenant, tenant_setup

BILLING = "/api/v1/tenant/billing"
HOUR = timedelta(hours=1)


async def add_members(
    runtime: Runtime, tenant_id: uuid.UUID, count: int, roles: list[str]
) -> list[TestUser]:
    users = [await make_user(runtime) for _ in range(count)]
    async with runtime.central.transaction() as session:
        for user in users:
            session.add(
                Membership(tenant_id=tenant_id, user_id=user.id, status="active", role_keys=roles)
            )
        await session.flush()
        for user in users:
            await runtime.tenancy.member_changed(session, tenant_id, user.id)
    return users


async def billed_setup(runtime: Runtime, client: httpx.AsyncClient) -> TenantSetup:
    setup = await tenant_setup(runtime, client)
    await runtime.relay.drain()
    return setup


async def test_subscription_and_downgrade_at_period_end(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    setup = await billed_setup(runtime, client)
    shown = await client.get(f"{BILLING}/subscription", headers=setup.headers())
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "trialing"
    assert shown.json()["plan_code"] == "growth"
    down = await client.post(
        f"{BILLING}/subscription/change-plan",
        json={"plan_code": "starter"},
        headers=setup.headers(),
    )
    assert down.status_code == 200, down.text
    assert (down.json()["plan_code"], down.json()["pending_plan_code"]) == ("growth", "starter")
    same = await client.post(
        f"{BILLING}/subscription/change-plan", json={"plan_code": "growth"}, headers=setup.headers()
    )
    assert same.json()["pending_plan_code"] is None  # undoes the scheduled downgrade
    unchanged = await client.post(
        f"{BILLING}/subscription/change-plan", json={"plan_code": "growth"}, headers=setup.headers()
    )
    assert unchanged.status_code == 409
    assert unchanged.json()["code"] == "PLAN_UNCHANGED"
    listed = await client.get(f"{BILLING}/invoices", headers=setup.headers())
    assert listed.json() == {"data": []}


async def test_a_downgrade_the_usage_exceeds_is_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    setup = await billed_setup(runtime, client)
    await add_members(runtime, setup.tenant_id, 3, ["viewer"])  # 4 members; starter allows 3
    refused = await client.post(
        f"{BILLING}/subscription/change-plan",
        json={"plan_code": "starter"},
        headers=setup.headers(),
    )
    assert refused.status_code == 402, refused.text
    problem = refused.json()
    assert problem["code"] == "PLAN_LIMIT_REACHED"
    assert (problem["limit"], problem["usage"], problem["maximum"]) == ("max_members", 4, 3)
    assert (await subscription_of(runtime, setup.tenant_id)).pending_plan_code is None


async def test_an_upgrade_applies_now_and_is_prorated_on_the_next_invoice(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime, plan="starter")
    trial_end = (await subscription_of(runtime, tenant.tenant_id)).current_period_end
    await runtime.dunning.run(now=trial_end + HOUR)
    renewal = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, renewal)
    answer = await post_webhook(client, "sandbox", body, headers)
    await runtime.billing_webhooks.process(answer.json()["receipt_id"])
    subscription = await subscription_of(runtime, tenant.tenant_id)
    assert subscription.status == "active"
    start, end = subscription.current_period_start, subscription.current_period_end
    halfway = start + (end - start) / 2
    async with runtime.central.transaction() as session:
        changed = await runtime.billing.change_plan(
            session, tenant.tenant_id, "growth", now=halfway
        )
        assert changed.plan_code == "growth"  # at once
    await runtime.relay.drain()
    async with runtime.central.transaction() as session:
        ref = await runtime.tenancy.tenant(session, tenant.tenant_id)
    assert ref is not None and ref.plan_code == "growth"  # entitlements follow
    await runtime.dunning.run(now=end + HOUR)
    nxt = await open_invoice(runtime, tenant.tenant_id)
    async with runtime.central.transaction() as session:
        lines = await runtime.billing.lines_of(session, nxt.id)
    # Half a period: growth's half charged, starter's unused half credited (hand-computed).
    assert [(line.kind, line.amount) for line in lines] == [
        ("plan", 449_000),
        ("proration", 224_500),
        ("proration", -74_500),
    ]
    assert (nxt.subtotal, nxt.tax, nxt.total) == (599_000, 65_890, 664_890)


async def test_cancel_at_period_end(runtime: Runtime, client: httpx.AsyncClient) -> None:
    setup = await billed_setup(runtime, client)
    cancelled = await client.post(f"{BILLING}/subscription/cancel", headers=setup.headers())
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_at_period_end"] is True
    assert cancelled.json()["status"] == "trialing"
    end = (await subscription_of(runtime, setup.tenant_id)).current_period_end
    await runtime.dunning.run(now=end + HOUR)
    assert (await subscription_of(runtime, setup.tenant_id)).status == "cancelled"
    assert await invoices_of(runtime, setup.tenant_id) == []  # no renewal
    again = await client.post(f"{BILLING}/subscription/cancel", headers=setup.headers())
    assert again.status_code == 409
    assert again.json()["code"] == "SUBSCRIPTION_NOT_CHANGEABLE"


async def test_billing_stays_reachable_while_suspended(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    setup = await billed_setup(runtime, client)
    async with runtime.central.transaction() as session:
        await runtime.tenancy.suspend(session, setup.tenant_id, "test: unpaid")
    me = await client.get("/api/v1/tenant/me", headers=setup.headers())
    assert me.json()["code"] == "TENANT_SUSPENDED"
    shown = await client.get(f"{BILLING}/subscription", headers=setup.headers())
    assert shown.status_code == 200, shown.text
    assert (await client.get(f"{BILLING}/invoices", headers=setup.headers())).status_code == 200
    work = await client.post(
        "/api/v1/auth/tenant-token",
        json={"tenant_id": str(setup.tenant_id)},
        headers=bearer(setup.session["access_token"]),
    )
    assert work.json()["code"] == "TENANT_SUSPENDED"
    grant = await client.post(
        "/api/v1/auth/tenant-token",
        json={"tenant_id": str(setup.tenant_id), "purpose": "billing"},
        headers=bearer(setup.session["access_token"]),
    )
    assert grant.status_code == 200, grant.text
    token = grant.json()["access_token"]
    assert (
        await client.get(f"{BILLING}/subscription", headers=setup.headers(token))
    ).status_code == 200
    assert (await client.get("/api/v1/tenant/me", headers=setup.headers(token))).status_code == 402


async def test_pay_link_and_permissions(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tenant = await onboard(runtime, plan="enterprise")
    invoice = await open_invoice(runtime, tenant.tenant_id)
    session = await login(client, tenant.owner)
    grant = await client.post(
        "/api/v1/auth/tenant-token",
        json={"tenant_id": str(tenant.tenant_id), "purpose": "billing"},
        headers=bearer(session["access_token"]),
    )
    headers = {**bearer(grant.json()["access_token"]), "X-Tenant-ID": tenant.slug}
    link = await client.post(f"{BILLING}/invoices/{invoice.id}/pay", headers=headers)
    assert link.status_code == 200, link.text
    assert link.json()["provider"] == "sandbox"
    assert link.json()["invoice_id"] == str(invoice.id)
    other = await client.post(f"{BILLING}/invoices/{uuid.uuid4()}/pay", headers=headers)
    assert other.status_code == 404
    listed = (await client.get(f"{BILLING}/invoices", headers=headers)).json()["data"]
    assert [i["number"] for i in listed] == [invoice.number]
    assert listed[0]["lines"][0]["amount"] == 1_490_000

    # A viewer sees billing but may not manage it.
    setup = await billed_setup(runtime, client)
    [viewer] = await add_members(runtime, setup.tenant_id, 1, ["viewer"])
    viewer_session = await login(client, viewer)
    token = await select_tenant(client, viewer_session["access_token"], setup.tenant_id)
    assert (
        await client.get(f"{BILLING}/subscription", headers=setup.headers(token))
    ).status_code == 200
    refused = await client.post(f"{BILLING}/subscription/cancel", headers=setup.headers(token))
    assert refused.status_code == 403
    assert refused.json()["code"] == "PERMISSION_DENIED"
