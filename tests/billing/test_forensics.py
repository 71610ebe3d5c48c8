"""The forensic record through the admin API and `garment billing webhooks list|show|replay`,
`seed-plans`, the public plan list and the invoice-issued mail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from garment.central.billing.models import Invoice
from garment.runtime import Runtime
from tests.auth.conftest import bearer, login, mails_to, make_user
from tests.billing.conftest import WEBHOOKS, onboard, open_invoice, post_webhook, sandbox_delivery
from tests.conftest import garment

ADMIN = "/api/v1/admin/billing/webhooks"


async def test_admin_lists_shows_and_replays_receipts(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    good = (await post_webhook(client, "sandbox", body, headers)).json()["receipt_id"]
    forged = (
        await post_webhook(client, "sandbox", body, {**headers, "webhook-signature": "v1,AAAA"})
    ).json()["receipt_id"]
    admin = await make_user(runtime, admin=True)
    token = (await login(client, admin))["access_token"]

    listed = await client.get(ADMIN, params={"status": "rejected"}, headers=bearer(token))
    assert listed.status_code == 200, listed.text
    assert forged in [row["id"] for row in listed.json()["data"]]
    assert good not in [row["id"] for row in listed.json()["data"]]
    shown = await client.get(f"{ADMIN}/{forged}", headers=bearer(token))
    assert shown.status_code == 200
    detail = shown.json()
    assert detail["verification_reason"] == "malformed_header"
    assert json.loads(detail["body"])["data"]["reference"] == invoice.reference
    assert detail["headers"]["webhook-signature"] == "v1,AAAA"

    replayed = await client.post(f"{ADMIN}/{good}/replay", headers=bearer(token))
    assert replayed.json() == {"receipt_id": good, "status": "processed"}
    again = await client.post(f"{ADMIN}/{good}/replay", headers=bearer(token))
    assert again.json() == {"receipt_id": good, "status": "ignored"}
    refused = await client.post(f"{ADMIN}/{forged}/replay", headers=bearer(token))
    assert refused.status_code == 409
    missing = await client.get(f"{ADMIN}/999999999", headers=bearer(token))
    assert missing.status_code == 404

    member = await make_user(runtime)
    member_token = (await login(client, member))["access_token"]
    assert (await client.get(ADMIN, headers=bearer(member_token))).status_code == 403
    assert (await client.get(ADMIN)).status_code == 401


@pytest.mark.usefixtures("cli_env")
async def test_the_webhooks_commands(runtime: Runtime, client: httpx.AsyncClient) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    receipt_id = (await post_webhook(client, "sandbox", body, headers)).json()["receipt_id"]

    listed = await garment(
        "billing", "webhooks", "list", "--provider", "sandbox", "--status", "verified", "--json"
    )
    assert listed.exit_code == 0, listed.output
    assert receipt_id in [row["id"] for row in json.loads(listed.output)]
    table = await garment("billing", "webhooks", "list", "--since", "1h")
    assert table.exit_code == 0, table.output
    bad_since = await garment("billing", "webhooks", "list", "--since", "soon")
    assert bad_since.exit_code == 1
    assert "SINCE_INVALID" in bad_since.output

    shown = await garment("billing", "webhooks", "show", str(receipt_id))
    assert shown.exit_code == 0, shown.output
    assert '"reference"' in shown.output  # the body, pretty-printed
    assert "webhook-signature" in shown.output
    as_json = json.loads(
        (await garment("billing", "webhooks", "show", str(receipt_id), "--json")).output
    )
    assert as_json["status"] == "verified"

    replay = await garment("billing", "webhooks", "replay", str(receipt_id), "--json")
    assert replay.exit_code == 0, replay.output
    assert json.loads(replay.output) == {
        "receipt_id": receipt_id,
        "status": "processed",
        "outcome": "paid",
    }
    replay = await garment("billing", "webhooks", "replay", str(receipt_id), "--json")
    assert json.loads(replay.output)["outcome"] == "already_paid"
    missing = await garment("billing", "webhooks", "show", "987654321")
    assert missing.exit_code == 1
    assert "RECEIPT_NOT_FOUND" in missing.output


@pytest.mark.usefixtures("cli_env")
async def test_plans_are_public_and_seeded(runtime: Runtime, client: httpx.AsyncClient) -> None:
    plans = (await client.get("/api/v1/billing/plans")).json()["data"]
    assert [(p["code"], p["monthly_price"], p["trial_days"]) for p in plans] == [
        ("starter", 149_000, 14),
        ("growth", 449_000, 14),
        ("enterprise", 1_490_000, 0),
    ]
    assert plans[1]["limits"]["max_members"] == 15
    seeded = await garment("billing", "seed-plans", "--json")
    assert seeded.exit_code == 0, seeded.output
    assert [p["code"] for p in json.loads(seeded.output)] == ["starter", "growth", "enterprise"]
    assert runtime.plans.loaded and runtime.plans.limit("growth", "max_members") == 15


async def test_the_invoice_issued_mail(runtime: Runtime, mail_dir: Path) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    await runtime.relay.drain()
    [mail] = mails_to(mail_dir, tenant.owner.email, about="Tagihan")
    assert invoice.number is not None and invoice.number in str(mail["Subject"])
    assert "Rp 1.653.900" in mail.get_body().get_content()  # type: ignore[union-attr]


async def test_the_sandbox_pay_page_pays_through_the_ingress(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    page = await client.get(f"/billing/sandbox/pay/{invoice.reference}")
    assert page.status_code == 200, page.text
    assert invoice.number is not None and invoice.number in page.text
    assert "<form" in page.text
    paid = await client.post(
        f"/billing/sandbox/pay/{invoice.reference}",
        content=b"result=paid",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert paid.status_code == 200, paid.text
    assert "verified" in paid.text
    async with runtime.central.transaction() as session:
        [receipt] = await runtime.billing_webhooks.list(session, reference=invoice.reference)
    assert (receipt.provider, receipt.verified) == ("sandbox", True)
    assert await runtime.billing_webhooks.process(receipt.id) == "processed"
    assert (await open_invoice_status(runtime, invoice)) == "paid"
    assert (await client.get("/billing/sandbox/pay/not-an-invoice")).status_code == 404

    metrics = (await client.get("/metrics")).text
    assert 'garment_billing_webhook_receipts_total{provider="sandbox",status="verified"}' in metrics
    assert "garment_billing_webhook_receipts_stored{" in metrics


async def open_invoice_status(runtime: Runtime, invoice: Invoice) -> str:
    async with runtime.central.transaction() as session:
        found = await runtime.billing.invoice_of(session, str(invoice.id))
    assert found is not None
    return found.status


async def test_a_failed_payment_is_mailed_and_dunning_is_counted(
    runtime: Runtime, client: httpx.AsyncClient, mail_dir: Path
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice, fail=True)
    answer = await post_webhook(client, "sandbox", body, headers)
    assert await runtime.billing_webhooks.process(answer.json()["receipt_id"]) == "processed"
    await runtime.relay.drain()
    assert mails_to(mail_dir, tenant.owner.email, about="tidak berhasil")
    assert invoice.due_at is not None
    await runtime.dunning.run(now=invoice.due_at + timedelta(days=1, hours=1))
    metrics = (await client.get("/metrics")).text
    assert 'garment_billing_dunning_actions_total{action="reminder"}' in metrics


@pytest.mark.usefixtures("cli_env")
async def test_reconcile_without_configured_providers_finds_nothing() -> None:
    result = await garment("billing", "reconcile", "--since", "1d", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    unknown = await garment("billing", "reconcile", "--provider", "paypal")
    assert unknown.exit_code == 1
    assert "paypal" in unknown.output


async def test_old_receipts_are_purged(runtime: Runtime, client: httpx.AsyncClient) -> None:
    answer = await client.post(f"{WEBHOOKS}/nobody", content=b"{}")
    receipt_id = answer.json()["receipt_id"]
    retention = runtime.settings.billing.receipt_retention_days
    soon = datetime.now(UTC) + timedelta(days=retention - 1)
    assert await runtime.billing_webhooks.purge(now=soon) >= 0
    async with runtime.central.transaction() as session:
        assert await runtime.billing_webhooks.show(session, receipt_id) is not None
    later = datetime.now(UTC) + timedelta(days=retention + 1)
    assert await runtime.billing_webhooks.purge(now=later) >= 1
    async with runtime.central.transaction() as session:
        assert await runtime.billing_webhooks.show(session, receipt_id) is None
