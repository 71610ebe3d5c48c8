"""Dunning over a simulated clock (every run is given `now`): renewal at trial end, past due,
reminders on the configured days, suspension after the grace period (the tenant follows),
resumption on payment, cancellation after `cancel_after_days`; twice in a row does nothing
twice; `--explain` says why."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from garment.central.billing.dunning import DunningRun
from garment.central.billing.models import Invoice
from garment.central.tenancy.states import TenantStatus
from garment.runtime import Runtime
from tests.auth.conftest import mails_to, make_user
from tests.billing.conftest import (
    invoices_of,
    post_webhook,
    sandbox_delivery,
    subscription_of,
)
from tests.conftest import garment
from tests.tenancy.conftest import create_tenant

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def steps_for(run: DunningRun, invoice: Invoice) -> list[str]:
    return [step.step for step in run.steps if step.invoice_id == invoice.id]


async def tenant_status(runtime: Runtime, tenant_id: uuid.UUID) -> TenantStatus:
    async with runtime.central.transaction() as session:
        ref = await runtime.tenancy.tenant(session, tenant_id)
    assert ref is not None
    return ref.status


async def renewed_tenant(runtime: Runtime) -> tuple[uuid.UUID, str, Invoice, datetime]:
    """A provisioned trial tenant whose trial ended: its renewal invoice is open. Returns the
    tenant, the owner's email, the invoice and its due date."""
    owner = await make_user(runtime)
    tenant = await create_tenant(runtime, owner, plan="starter")
    await runtime.relay.drain()
    subscription = await subscription_of(runtime, tenant.id)
    assert subscription.status == "trialing"
    trial_end = subscription.current_period_end
    run = await runtime.dunning.run(now=trial_end + HOUR)
    assert any(str(tenant.id) in line for line in run.renewals)
    [invoice] = await invoices_of(runtime, tenant.id)
    assert (invoice.kind, invoice.status, invoice.subtotal, invoice.tax) == (
        "renewal",
        "open",
        149_000,
        16_390,
    )
    assert invoice.due_at is not None
    assert invoice.due_at == trial_end + HOUR + timedelta(
        days=runtime.settings.billing.invoice_due_days
    )
    subscription = await subscription_of(runtime, tenant.id)
    assert subscription.current_period_start == trial_end
    return tenant.id, owner.email, invoice, invoice.due_at


async def test_reminders_suspension_and_resumption(
    runtime: Runtime, client: httpx.AsyncClient, mail_dir: Path
) -> None:
    tenant_id, email, invoice, due = await renewed_tenant(runtime)
    assert steps_for(await runtime.dunning.run(now=due - HOUR), invoice) == []

    first = await runtime.dunning.run(now=due + DAY + HOUR)
    assert steps_for(first, invoice) == ["past_due", "reminder:1"]
    assert (await subscription_of(runtime, tenant_id)).status == "past_due"
    again = await runtime.dunning.run(now=due + DAY + 2 * HOUR)
    assert steps_for(again, invoice) == []  # the same hour twice: nothing twice
    await runtime.relay.drain()
    assert len(mails_to(mail_dir, email, about="Pengingat")) == 1

    assert steps_for(await runtime.dunning.run(now=due + 2 * DAY + HOUR), invoice) == []
    assert steps_for(await runtime.dunning.run(now=due + 3 * DAY + HOUR), invoice) == ["reminder:3"]
    assert steps_for(await runtime.dunning.run(now=due + 5 * DAY + HOUR), invoice) == ["reminder:5"]
    assert await tenant_status(runtime, tenant_id) is TenantStatus.ACTIVE
    seventh = await runtime.dunning.run(now=due + 7 * DAY + HOUR)
    assert steps_for(seventh, invoice) == ["reminder:7", "suspend"]
    assert (await subscription_of(runtime, tenant_id)).status == "suspended"
    await runtime.relay.drain()
    assert await tenant_status(runtime, tenant_id) is TenantStatus.SUSPENDED
    assert len(mails_to(mail_dir, email, about="Pengingat")) == 4
    assert mails_to(mail_dir, email, about="dinonaktifkan sementara")

    explained = await runtime.dunning.explain(invoice.number or "", now=due + 8 * DAY)
    assert explained.due == []
    assert any("cancellation after 30" in line for line in explained.lines)
    assert any(line.startswith("suspended since") for line in explained.lines)

    body, headers = sandbox_delivery(runtime, invoice)
    answer = await post_webhook(client, "sandbox", body, headers)
    assert await runtime.billing_webhooks.process(answer.json()["receipt_id"]) == "processed"
    assert (await subscription_of(runtime, tenant_id)).status == "active"
    await runtime.relay.drain()
    assert await tenant_status(runtime, tenant_id) is TenantStatus.ACTIVE
    assert mails_to(mail_dir, email, about="aktif kembali")
    assert steps_for(await runtime.dunning.run(now=due + 9 * DAY), invoice) == []


async def test_cancellation_after_the_configured_days_suspended(runtime: Runtime) -> None:
    tenant_id, _, invoice, due = await renewed_tenant(runtime)
    run = await runtime.dunning.run(now=due + 7 * DAY + HOUR)
    assert steps_for(run, invoice) == [
        "past_due",
        "reminder:1",
        "reminder:3",
        "reminder:5",
        "reminder:7",
        "suspend",
    ]
    # Only the latest reminder is mailed when several fall due in one run.
    mailed = [
        s.details["mailed"]
        for s in run.steps
        if s.invoice_id == invoice.id and s.action == "reminder"
    ]
    assert mailed == [False, False, False, True]
    suspended_at = (await subscription_of(runtime, tenant_id)).suspended_at
    assert suspended_at is not None
    cancel_days = runtime.settings.billing.cancel_after_days
    early = await runtime.dunning.run(now=suspended_at + (cancel_days - 1) * DAY)
    assert steps_for(early, invoice) == []
    late = await runtime.dunning.run(now=suspended_at + cancel_days * DAY + HOUR)
    assert steps_for(late, invoice) == ["cancel"]
    assert (await subscription_of(runtime, tenant_id)).status == "cancelled"
    [stored] = await invoices_of(runtime, tenant_id)
    assert stored.status == "uncollectible"
    assert steps_for(await runtime.dunning.run(now=suspended_at + 40 * DAY), invoice) == []


@pytest.mark.usefixtures("cli_env")
async def test_the_command_explains_and_dry_runs(runtime: Runtime) -> None:
    tenant_id, _, invoice, due = await renewed_tenant(runtime)
    at = (due + 3 * DAY + HOUR).isoformat()
    explained = await garment(
        "billing", "dunning", "--explain", invoice.number or "", "--at", at, "--json"
    )
    assert explained.exit_code == 0, explained.output
    body = json.loads(explained.output)
    assert body["days_overdue"] == 3
    assert [step["step"] for step in body["would_do"]] == ["past_due", "reminder:1", "reminder:3"]
    assert "next reminder on day 5" in body["reasons"]
    dry = await garment("billing", "dunning", "--dry-run", "--at", at, "--json")
    assert dry.exit_code == 0, dry.output
    actions = [a for a in json.loads(dry.output)["actions"] if a["invoice_id"] == str(invoice.id)]
    assert [a["step"] for a in actions] == ["past_due", "reminder:1", "reminder:3"]
    # A dry run changed nothing.
    assert (await subscription_of(runtime, tenant_id)).status == "trialing"
    missing = await garment("billing", "dunning", "--explain", "INV/1999/01/000001")
    assert missing.exit_code == 1
    assert "INV/1999/01/000001" in missing.output
