"""The tenant follows its subscription through events, end to end (billing publishes, tenancy's
listeners move the tenant; billing never writes tenancy's tables): a cancelled subscription
closes the tenant (cancel at period end, and dunning's cancellation after the suspension); a
payment resumes only a tenant billing suspended, never one an operator suspended (abuse).
Each test has a second tenant that must stay as it was."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest

from garment.central.billing.models import Invoice
from garment.central.tenancy.models import Tenant
from garment.central.tenancy.repository import TenantRepository
from garment.central.tenancy.states import SuspensionSource, TenantStatus
from garment.runtime import Runtime
from tests.billing.conftest import post_webhook, sandbox_delivery, subscription_of
from tests.billing.test_dunning import renewed_tenant, steps_for
from tests.conftest import garment
from tests.tenancy.conftest import TenantSetup, tenant_setup

BILLING = "/api/v1/tenant/billing"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def tenant_row(runtime: Runtime, tenant_id: uuid.UUID) -> Tenant:
    async with runtime.central.transaction() as session:
        tenant = await TenantRepository(session).get(tenant_id)
    assert tenant is not None
    return tenant


async def suspended_by_dunning(runtime: Runtime) -> tuple[uuid.UUID, Invoice]:
    """A tenant whose renewal went unpaid past the grace period: dunning suspended its
    subscription and tenancy followed."""
    tenant_id, _, invoice, due = await renewed_tenant(runtime)
    run = await runtime.dunning.run(now=due + runtime.settings.billing.grace_days * DAY + HOUR)
    assert "suspend" in steps_for(run, invoice)
    await runtime.relay.drain()
    return tenant_id, invoice


async def pay(runtime: Runtime, client: httpx.AsyncClient, invoice: Invoice) -> None:
    body, headers = sandbox_delivery(runtime, invoice)
    answer = await post_webhook(client, "sandbox", body, headers)
    assert answer.status_code == 200, answer.text
    assert await runtime.billing_webhooks.process(answer.json()["receipt_id"]) == "processed"
    await runtime.relay.drain()


async def other_tenant(runtime: Runtime, client: httpx.AsyncClient) -> TenantSetup:
    setup = await tenant_setup(runtime, client)
    await runtime.relay.drain()
    return setup


async def test_cancel_at_period_end_closes_the_tenant(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    setup = await tenant_setup(runtime, client)
    other = await other_tenant(runtime, client)
    await runtime.relay.drain()
    cancelled = await client.post(f"{BILLING}/subscription/cancel", headers=setup.headers())
    assert cancelled.status_code == 200, cancelled.text
    end = (await subscription_of(runtime, setup.tenant_id)).current_period_end

    await runtime.dunning.run(now=end - HOUR)
    await runtime.relay.drain()
    assert (await tenant_row(runtime, setup.tenant_id)).status == TenantStatus.ACTIVE

    await runtime.dunning.run(now=end + HOUR)
    assert (await subscription_of(runtime, setup.tenant_id)).status == "cancelled"
    await runtime.relay.drain()
    tenant = await tenant_row(runtime, setup.tenant_id)
    assert tenant.status == TenantStatus.CANCELLED
    assert tenant.cancelled_at is not None
    refused = await client.get(f"{BILLING}/subscription", headers=setup.headers())
    assert refused.status_code == 410
    assert refused.json()["code"] == "TENANT_CANCELLED"
    # The other tenant (its period ends at the same time, not cancelled) renews and stays.
    assert (await tenant_row(runtime, other.tenant_id)).status == TenantStatus.ACTIVE
    shown = await client.get(f"{BILLING}/subscription", headers=other.headers())
    assert shown.status_code == 200, shown.text


async def test_dunning_cancellation_closes_the_suspended_tenant(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant_id, invoice = await suspended_by_dunning(runtime)
    other = await other_tenant(runtime, client)
    tenant = await tenant_row(runtime, tenant_id)
    assert tenant.status == TenantStatus.SUSPENDED
    assert tenant.suspension_source == SuspensionSource.BILLING
    assert tenant.suspension_reason == "billing: invoice unpaid"
    suspended_at = (await subscription_of(runtime, tenant_id)).suspended_at
    assert suspended_at is not None

    late = suspended_at + runtime.settings.billing.cancel_after_days * DAY + HOUR
    assert steps_for(await runtime.dunning.run(now=late), invoice) == ["cancel"]
    await runtime.relay.drain()
    assert (await tenant_row(runtime, tenant_id)).status == TenantStatus.CANCELLED
    assert (await tenant_row(runtime, other.tenant_id)).status == TenantStatus.ACTIVE
    # Delivered again (at least once), the event changes nothing more.
    await runtime.relay.drain()
    assert (await tenant_row(runtime, tenant_id)).status == TenantStatus.CANCELLED


async def test_a_payment_resumes_the_tenant_billing_suspended(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant_id, invoice = await suspended_by_dunning(runtime)
    await pay(runtime, client, invoice)
    assert (await subscription_of(runtime, tenant_id)).status == "active"
    tenant = await tenant_row(runtime, tenant_id)
    assert tenant.status == TenantStatus.ACTIVE
    assert (tenant.suspension_source, tenant.suspension_reason, tenant.suspended_at) == (
        None,
        None,
        None,
    )


async def test_a_payment_never_resumes_an_operator_suspension(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """An operator suspends a tenant billing had suspended (abuse found meanwhile): paying the
    invoice reactivates the subscription, the tenant stays suspended by the operator."""
    tenant_id, invoice = await suspended_by_dunning(runtime)
    billing_only, other_invoice = await suspended_by_dunning(runtime)
    async with runtime.central.transaction() as session:
        await runtime.tenancy.suspend(session, tenant_id, "abuse: phishing pages")
    await runtime.relay.drain()
    tenant = await tenant_row(runtime, tenant_id)
    assert (tenant.suspension_source, tenant.suspension_reason) == (
        SuspensionSource.OPERATOR,
        "abuse: phishing pages",
    )

    await pay(runtime, client, invoice)
    assert (await subscription_of(runtime, tenant_id)).status == "active"
    tenant = await tenant_row(runtime, tenant_id)
    assert tenant.status == TenantStatus.SUSPENDED
    assert tenant.suspension_source == SuspensionSource.OPERATOR
    # The second tenant, suspended by billing only, resumes on its payment.
    await pay(runtime, client, other_invoice)
    assert (await tenant_row(runtime, billing_only)).status == TenantStatus.ACTIVE

    # Only an operator lifts it.
    async with runtime.central.transaction() as session:
        await runtime.tenancy.resume(session, tenant_id)
    assert (await tenant_row(runtime, tenant_id)).status == TenantStatus.ACTIVE


async def test_billing_never_takes_over_an_operator_suspension(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Suspended by an operator while its subscription was fine, then dunning: the tenant is
    not re-suspended as billing's, and the payment leaves it suspended."""
    tenant_id, _, invoice, due = await renewed_tenant(runtime)
    async with runtime.central.transaction() as session:
        await runtime.tenancy.suspend(session, tenant_id, "abuse")
    await runtime.dunning.run(now=due + runtime.settings.billing.grace_days * DAY + HOUR)
    await runtime.relay.drain()
    assert (await subscription_of(runtime, tenant_id)).status == "suspended"
    assert (await tenant_row(runtime, tenant_id)).suspension_source == SuspensionSource.OPERATOR
    await pay(runtime, client, invoice)
    tenant = await tenant_row(runtime, tenant_id)
    assert (tenant.status, tenant.suspension_source) == (
        TenantStatus.SUSPENDED,
        SuspensionSource.OPERATOR,
    )


@pytest.mark.usefixtures("cli_env")
async def test_the_suspend_command_records_the_reason(runtime: Runtime) -> None:
    tenant_id, _, _, _ = await renewed_tenant(runtime)
    suspended = await garment("tenants", "suspend", str(tenant_id), "--reason", "abuse")
    assert suspended.exit_code == 0, suspended.output
    tenant = await tenant_row(runtime, tenant_id)
    assert (tenant.status, tenant.suspension_source, tenant.suspension_reason) == (
        TenantStatus.SUSPENDED,
        SuspensionSource.OPERATOR,
        "abuse",
    )
    shown = await garment("tenants", "show", str(tenant_id), "--json")
    assert shown.exit_code == 0, shown.output
    held = json.loads(shown.output)["suspension"]
    assert (held["source"], held["reason"]) == ("operator", "abuse")
    resumed = await garment("tenants", "resume", str(tenant_id))
    assert resumed.exit_code == 0, resumed.output
    assert (await tenant_row(runtime, tenant_id)).suspension_source is None
