"""Onboarding hooked into tenancy: a trial plan provisions at once, a paid plan waits for its
first invoice to be paid."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from garment.central.billing.repository import InvoiceRepository
from garment.central.tenancy.states import TenantStatus
from garment.runtime import Runtime
from tests.billing.conftest import (
    WEBHOOKS,
    invoices_of,
    onboard,
    open_invoice,
    sandbox_delivery,
    subscription_of,
)


async def test_a_trial_plan_is_trialing_and_provisions_at_once(runtime: Runtime) -> None:
    tenant = await onboard(runtime, plan="growth")
    subscription = await subscription_of(runtime, tenant.tenant_id)
    assert subscription.status == "trialing"
    assert subscription.trial_end is not None
    assert (subscription.trial_end - subscription.current_period_start).days == 14
    assert await invoices_of(runtime, tenant.tenant_id) == []
    ref = await runtime.tenancy.tenant_ref(tenant.tenant_id)
    assert ref is not None and ref.status is TenantStatus.PROVISIONING
    assert await runtime.jobs.pending_id(f"provision:{tenant.tenant_id}") is not None


async def test_a_paid_plan_waits_for_its_first_invoice(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime, plan="enterprise")
    subscription = await subscription_of(runtime, tenant.tenant_id)
    assert subscription.status == "incomplete"
    invoice = await open_invoice(runtime, tenant.tenant_id)
    assert invoice.kind == "first"
    assert invoice.number is not None and invoice.number.startswith("INV/")
    assert (invoice.subtotal, invoice.tax, invoice.total) == (1_490_000, 163_900, 1_653_900)
    assert invoice.tax_rate == 12
    async with runtime.central.transaction() as session:
        ref = await runtime.tenancy.tenant(session, tenant.tenant_id)
    assert ref is not None and ref.status is TenantStatus.PENDING
    assert await runtime.jobs.pending_id(f"provision:{tenant.tenant_id}") is None

    body, headers = sandbox_delivery(runtime, invoice)
    answer = await client.post(f"{WEBHOOKS}/sandbox", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert await runtime.billing_webhooks.process(answer.json()["receipt_id"]) == "processed"
    await runtime.relay.drain()
    subscription = await subscription_of(runtime, tenant.tenant_id)
    assert subscription.status == "active"
    async with runtime.central.transaction() as session:
        ref = await runtime.tenancy.tenant(session, tenant.tenant_id)
    assert ref is not None and ref.status is TenantStatus.PROVISIONING
    assert await runtime.jobs.pending_id(f"provision:{tenant.tenant_id}") is not None


async def tenant_status(runtime: Runtime, tenant_id: uuid.UUID) -> TenantStatus:
    async with runtime.central.transaction() as session:
        ref = await runtime.tenancy.tenant(session, tenant_id)
    assert ref is not None
    return ref.status


async def test_a_first_invoice_never_paid_closes_the_waiting_tenant(runtime: Runtime) -> None:
    tenant = await onboard(runtime, plan="enterprise")
    invoice = await open_invoice(runtime, tenant.tenant_id)
    assert invoice.due_at is not None
    overdue = invoice.due_at + timedelta(days=runtime.settings.billing.cancel_after_days, hours=1)
    run = await runtime.dunning.run(now=overdue)
    assert "cancel" in [step.step for step in run.steps if step.invoice_id == invoice.id]
    assert (await subscription_of(runtime, tenant.tenant_id)).status == "expired"
    assert await tenant_status(runtime, tenant.tenant_id) is TenantStatus.PENDING
    await runtime.relay.drain()
    # Not `pending` for ever: the tenant that was never provisioned is closed.
    assert await tenant_status(runtime, tenant.tenant_id) is TenantStatus.CANCELLED
    assert await runtime.jobs.pending_id(f"provision:{tenant.tenant_id}") is None


async def test_cancelling_before_the_first_payment_closes_the_waiting_tenant(
    runtime: Runtime,
) -> None:
    tenant = await onboard(runtime, plan="enterprise")
    async with runtime.central.transaction() as session:
        subscription = await runtime.billing.cancel(session, tenant.tenant_id)
    assert subscription.status == "expired"
    assert [i.status for i in await invoices_of(runtime, tenant.tenant_id)] == ["void"]
    await runtime.relay.drain()
    assert await tenant_status(runtime, tenant.tenant_id) is TenantStatus.CANCELLED


async def test_invoice_numbers_are_gap_free_per_month_even_with_rollbacks(
    runtime: Runtime,
) -> None:
    moment = datetime(2031, 5, 10, 8, 0, tzinfo=UTC)

    async def issue(fail: bool) -> None:
        async with runtime.central.transaction() as session:
            await runtime.billing.onboard(
                session,
                tenant_id=uuid.uuid4(),
                owner_user_id=None,
                plan_code="enterprise",
                interval="monthly",
                now=moment,
            )
            if fail:
                raise RuntimeError("the issuing transaction rolls back")

    outcomes = await asyncio.gather(
        *[issue(fail=index % 3 == 0) for index in range(12)], return_exceptions=True
    )
    assert sum(isinstance(o, RuntimeError) for o in outcomes) == 4
    async with runtime.central.transaction() as session:
        issued = await InvoiceRepository(session).issued_between(
            moment.replace(day=1), moment.replace(month=6, day=1)
        )
    assert sorted(i.number or "" for i in issued) == [f"INV/2031/05/{n:06d}" for n in range(1, 9)]


async def test_onboarding_twice_changes_nothing(runtime: Runtime) -> None:
    tenant = await onboard(runtime, plan="enterprise")
    async with runtime.central.transaction() as session:
        again = await runtime.billing.onboard(
            session,
            tenant_id=tenant.tenant_id,
            owner_user_id=tenant.owner.id,
            plan_code="enterprise",
            interval="monthly",
        )
    assert again.id == (await subscription_of(runtime, tenant.tenant_id)).id
    assert len(await invoices_of(runtime, tenant.tenant_id)) == 1
