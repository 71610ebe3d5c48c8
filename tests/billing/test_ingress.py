"""The webhook ingress in the spec's order, against the sandbox provider (Standard Webhooks wire
format): receipts first, forged deliveries kept and refused, duplicates, out-of-order events,
oversized bodies, unknown providers, and a worker dying mid-way."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from garment.central.billing.models import WebhookReceipt
from garment.central.billing.providers.base import PaymentEventKind
from garment.central.billing.providers.sandbox import sandbox_secret
from garment.central.billing.providers.standard import event_body, sign_delivery
from garment.central.billing.repository import ReceiptRepository
from garment.platform.jobs import decode_payload, encode_payload
from garment.runtime import Runtime
from tests.billing.conftest import (
    WEBHOOKS,
    BilledTenant,
    invoices_of,
    onboard,
    open_invoice,
    post_webhook,
    sandbox_delivery,
    subscription_of,
)


async def receipt(runtime: Runtime, receipt_id: int) -> WebhookReceipt:
    async with runtime.central.transaction() as session:
        row = await ReceiptRepository(session).get(receipt_id)
    assert row is not None
    return row


async def latest_receipt(runtime: Runtime) -> WebhookReceipt:
    async with runtime.central.transaction() as session:
        rows = await ReceiptRepository(session).listed(limit=1)
    return rows[0]


async def invoice_status(runtime: Runtime, tenant: BilledTenant) -> str:
    return (await invoices_of(runtime, tenant.tenant_id))[0].status


async def test_a_valid_delivery_is_stored_verified_enqueued_and_applied(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    headers["Authorization"] = "Bearer leaked-secret"
    answer = await post_webhook(client, "sandbox", body, headers)
    assert answer.status_code == 200, answer.text
    ack = answer.json()
    assert ack["status"] == "verified"
    stored = await receipt(runtime, ack["receipt_id"])
    assert bytes(stored.body) == body
    assert stored.size == len(body)
    assert stored.verified is True
    assert stored.provider_event_id == headers["webhook-id"]
    assert stored.headers["authorization"] == "[redacted]"
    assert stored.headers["webhook-signature"] == headers["webhook-signature"]
    assert stored.remote_addr is not None
    assert await runtime.jobs.pending_id(f"billing-webhook:{stored.id}") is not None
    assert await runtime.billing_webhooks.process(stored.id) == "processed"
    assert await invoice_status(runtime, tenant) == "paid"
    stored = await receipt(runtime, ack["receipt_id"])
    assert (stored.status, stored.outcome, stored.attempts) == ("processed", "paid", 1)


def forgeries(
    runtime: Runtime, body: bytes, headers: dict[str, str]
) -> dict[str, tuple[bytes, dict[str, str]]]:
    altered = json.loads(body)
    altered["data"]["amount"] = 1
    stale = datetime.now(UTC) - timedelta(minutes=10)
    secret = sandbox_secret(runtime.settings)
    assert secret is not None
    stale_headers = sign_delivery(secret, body, "msg_stale", stale)
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    return {
        "wrong_signature": (
            body,
            {**headers, **sign_delivery(other, body, headers["webhook-id"], datetime.now(UTC))},
        ),
        "altered_amount": (json.dumps(altered, separators=(",", ":")).encode(), headers),
        "stale_timestamp": (body, stale_headers),
        "garbage_header": (body, {**headers, "webhook-signature": "garbage"}),
        "missing_part": (body, {**headers, "webhook-signature": "v1,"}),
        "bad_base64": (body, {**headers, "webhook-signature": "v1,@@@not-base64@@@"}),
        "wrong_version": (
            body,
            {**headers, "webhook-signature": "v9," + headers["webhook-signature"].split(",", 1)[1]},
        ),
        "missing_header": (body, {k: v for k, v in headers.items() if k != "webhook-signature"}),
        "no_timestamp": (body, {k: v for k, v in headers.items() if k != "webhook-timestamp"}),
        "timestamp_not_a_number": (body, {**headers, "webhook-timestamp": "yesterday"}),
    }


async def test_forged_deliveries_are_kept_refused_and_change_nothing(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    for name, (forged_body, forged_headers) in forgeries(runtime, body, headers).items():
        answer = await post_webhook(client, "sandbox", forged_body, forged_headers)
        assert answer.status_code == 401, (name, answer.text)
        problem = answer.json()
        assert problem["code"] == "WEBHOOK_SIGNATURE_INVALID", name
        kept = await receipt(runtime, problem["receipt_id"])
        assert kept.status == "rejected", name
        assert kept.verified is False, name
        assert kept.verification_reason, name
        assert problem["reason"] == kept.verification_reason
        assert bytes(kept.body) == forged_body, name
        assert await runtime.jobs.pending_id(f"billing-webhook:{kept.id}") is None
    assert await invoice_status(runtime, tenant) == "open"
    assert (await subscription_of(runtime, tenant.tenant_id)).status == "incomplete"


async def test_the_same_event_ten_times_and_concurrently_changes_state_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    answers = await asyncio.gather(
        *[post_webhook(client, "sandbox", body, headers) for _ in range(10)]
    )
    assert [a.status_code for a in answers] == [200] * 10
    statuses = sorted(a.json()["status"] for a in answers)
    assert statuses == ["duplicate"] * 9 + ["verified"]
    first = next(a.json()["receipt_id"] for a in answers if a.json()["status"] == "verified")
    for answer in answers:
        if answer.json()["receipt_id"] != first:
            assert (await receipt(runtime, answer.json()["receipt_id"])).duplicate_of == first
    # Ten different events paying the same invoice, processed concurrently: paid once.
    receipts = [first]
    for _ in range(9):
        other_body, other_headers = sandbox_delivery(runtime, invoice)
        answer = await post_webhook(client, "sandbox", other_body, other_headers)
        receipts.append(answer.json()["receipt_id"])
    outcomes = await asyncio.gather(*[runtime.billing_webhooks.process(r) for r in receipts])
    assert sorted(outcomes) == ["ignored"] * 9 + ["processed"]
    notes = sorted([(await receipt(runtime, r)).outcome or "" for r in receipts])
    assert notes == ["already_paid"] * 9 + ["paid"]
    paid = await open_invoice_or_paid(runtime, tenant)
    assert paid.status == "paid" and paid.paid_at is not None
    await runtime.relay.drain()
    assert (await subscription_of(runtime, tenant.tenant_id)).status == "active"


async def open_invoice_or_paid(runtime: Runtime, tenant: BilledTenant):  # type: ignore[no-untyped-def]
    return (await invoices_of(runtime, tenant.tenant_id))[0]


async def test_a_late_pending_or_failure_after_paid_stays_paid(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    secret = sandbox_secret(runtime.settings)
    assert secret is not None
    now = datetime.now(UTC)
    paid_body, paid_headers = sandbox_delivery(runtime, invoice)
    pending_body = event_body(PaymentEventKind.PENDING, invoice.reference, invoice.total)
    pending_headers = sign_delivery(secret, pending_body, "msg_pending_late", now)
    failed_body, failed_headers = sandbox_delivery(runtime, invoice, fail=True)
    ids = []
    for body, headers in (
        (paid_body, paid_headers),
        (pending_body, pending_headers),
        (failed_body, failed_headers),
    ):
        answer = await post_webhook(client, "sandbox", body, headers)
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["receipt_id"])
    assert [await runtime.billing_webhooks.process(i) for i in ids] == [
        "processed",
        "ignored",
        "ignored",
    ]
    assert (await receipt(runtime, ids[1])).outcome == "late_pending_after_paid"
    assert (await receipt(runtime, ids[2])).outcome == "late_failed_after_paid"
    assert await invoice_status(runtime, tenant) == "paid"


async def test_a_pending_before_payment_changes_nothing_and_a_failure_is_recorded(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice, fail=True)
    answer = await post_webhook(client, "sandbox", body, headers)
    assert await runtime.billing_webhooks.process(answer.json()["receipt_id"]) == "processed"
    assert await invoice_status(runtime, tenant) == "open"
    # The same invoice can still be paid afterwards.
    body, headers = sandbox_delivery(runtime, invoice)
    answer = await post_webhook(client, "sandbox", body, headers)
    assert await runtime.billing_webhooks.process(answer.json()["receipt_id"]) == "processed"
    assert await invoice_status(runtime, tenant) == "paid"


async def test_an_altered_amount_that_is_correctly_signed_does_not_pay(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice, amount=invoice.total - 1)
    answer = await post_webhook(client, "sandbox", body, headers)
    assert await runtime.billing_webhooks.process(answer.json()["receipt_id"]) == "ignored"
    assert (await receipt(runtime, answer.json()["receipt_id"])).outcome.startswith(  # type: ignore[union-attr]
        "amount_mismatch"
    )
    assert await invoice_status(runtime, tenant) == "open"


async def test_an_oversized_body_is_413_and_recorded(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    limit = runtime.settings.billing.webhook_max_body_bytes
    body = b'{"pad":"' + b"x" * (limit + 10) + b'"}'
    answer = await client.post(
        f"{WEBHOOKS}/sandbox", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "REQUEST_TOO_LARGE"
    kept = await receipt(runtime, answer.json()["receipt_id"])
    assert kept.status == "rejected"
    assert kept.verification_reason == "body_too_large"
    assert kept.truncated is True
    assert kept.size == len(body)
    assert len(bytes(kept.body)) == limit


async def test_a_body_over_the_application_limit_is_recorded_too(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    body = b"x" * (runtime.settings.http.max_body_bytes * 2)
    answer = await client.post(f"{WEBHOOKS}/midtrans", content=body)
    assert answer.status_code == 413
    kept = await receipt(runtime, answer.json()["receipt_id"])
    assert (kept.size, kept.truncated, kept.verification_reason) == (
        len(body),
        True,
        "body_too_large",
    )
    assert len(bytes(kept.body)) == runtime.settings.billing.webhook_max_body_bytes


async def test_an_unknown_provider_is_404_and_recorded(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    answer = await client.post(f"{WEBHOOKS}/stripe", content=b'{"id":"evt_1"}')
    assert answer.status_code == 404
    assert answer.json()["code"] == "WEBHOOK_PROVIDER_UNKNOWN"
    kept = await receipt(runtime, answer.json()["receipt_id"])
    assert (kept.provider, kept.status, kept.verification_reason) == (
        "stripe",
        "rejected",
        "unknown_provider",
    )


async def test_a_worker_killed_before_processing_is_picked_up_later_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    answer = await post_webhook(client, "sandbox", body, headers)
    receipt_id = answer.json()["receipt_id"]
    # The worker took the job, marked the receipt `processing` and died: its job is gone and
    # nothing was applied.
    async with runtime.central.transaction() as session:
        await ReceiptRepository(session).mark(
            receipt_id,
            status="processing",
            attempts=1,
            processing_started_at=datetime.now(UTC) - timedelta(hours=1),
        )
    await runtime.jobs.pool.execute(
        "DELETE FROM pgqueuer WHERE dedupe_key = $1", f"billing-webhook:{receipt_id}"
    )
    assert await invoice_status(runtime, tenant) == "open"
    swept = await runtime.billing_webhooks.sweep_stuck()
    assert receipt_id in swept
    assert await runtime.billing_webhooks.sweep_stuck() == []  # back to verified, not again
    worker = asyncio.create_task(runtime.jobs.run_worker(concurrency=2))
    try:
        for _ in range(200):
            if (await receipt(runtime, receipt_id)).status == "processed":
                break
            await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    kept = await receipt(runtime, receipt_id)
    assert (kept.status, kept.attempts) == ("processed", 2)
    assert await invoice_status(runtime, tenant) == "paid"
    # Replaying it is idempotent: nothing is paid twice.
    assert await runtime.billing_webhooks.replay(receipt_id) == "ignored"
    assert (await receipt(runtime, receipt_id)).outcome == "already_paid"


@pytest.mark.parametrize("provider", ["xendit", "midtrans", "standard"])
async def test_unconfigured_providers_refuse_and_record(
    provider: str, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    answer = await client.post(
        f"{WEBHOOKS}/{provider}",
        content=b'{"order_id":"x","status":"PAID"}',
        headers={"content-type": "application/json", "x-callback-token": "guess"},
    )
    assert answer.status_code == 401, answer.text
    kept = await receipt(runtime, answer.json()["receipt_id"])
    assert kept.status == "rejected"
    assert kept.headers.get("x-callback-token") == "[redacted]"


async def test_the_job_written_with_the_receipt_is_the_one_enqueue_makes(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """The ingress writes its job in the receipt's statement (`enqueue_from`), not through
    pgqueuer's enqueue: the row must be what `enqueue_in` makes — entrypoint, payload, dedupe
    key, queued, logged."""
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    ack = (await post_webhook(client, "sandbox", body, headers)).json()
    key = f"billing-webhook:{ack['receipt_id']}"
    async with runtime.central.transaction() as session:
        await runtime.billing_webhooks.enqueue(session, -1)  # the reference row, by enqueue_in
    rows = await runtime.jobs.pool.fetch(
        "SELECT j.entrypoint, j.payload, j.status::text, j.priority, j.execute_after <= now() "
        "AS due, (SELECT count(*) FROM pgqueuer_log l WHERE l.job_id = j.id AND "
        "l.status = 'queued') AS logged FROM pgqueuer j WHERE j.dedupe_key = ANY($1) "
        "ORDER BY j.dedupe_key",
        [key, "billing-webhook:-1"],
    )
    reference, ours = (dict(row) for row in sorted(rows, key=lambda r: bytes(r["payload"])))
    assert decode_payload(bytes(reference["payload"])) == {"receipt_id": -1}
    assert decode_payload(bytes(ours["payload"])) == {"receipt_id": ack["receipt_id"]}
    assert bytes(ours["payload"]) == encode_payload({"receipt_id": ack["receipt_id"]})
    for field in ("entrypoint", "status", "priority", "due", "logged"):
        assert ours[field] == reference[field], field
    await runtime.jobs.pool.execute("DELETE FROM pgqueuer WHERE dedupe_key = 'billing-webhook:-1'")


async def test_a_failing_ingest_statement_still_keeps_the_receipt(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    statements = runtime.billing_webhooks.statements

    async def broken(values: dict[str, object]) -> None:
        raise RuntimeError("the job table is gone")

    monkeypatch.setattr(statements, "accept", broken)
    with pytest.raises(RuntimeError):
        await runtime.billing_webhooks.receive(
            "sandbox", body=body, headers=headers, size=len(body)
        )
    kept = await latest_receipt(runtime)
    assert bytes(kept.body) == body
    assert (kept.status, kept.verified, kept.provider_event_id) == (
        "received",
        True,
        headers["webhook-id"],
    )
    assert kept.error is not None and "the job table is gone" in kept.error
    assert await invoice_status(runtime, tenant) == "open"


async def test_an_adapter_that_raises_while_mapping_still_keeps_the_receipt(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    body, headers = sandbox_delivery(runtime, invoice)
    sandbox = runtime.billing_webhooks.providers.get("sandbox")

    def broken(delivery: object) -> None:
        raise KeyError("data")

    monkeypatch.setattr(sandbox, "parse", broken)
    with pytest.raises(KeyError):
        await runtime.billing_webhooks.receive(
            "sandbox", body=body, headers=headers, size=len(body)
        )
    kept = await latest_receipt(runtime)
    assert bytes(kept.body) == body
    assert (kept.status, kept.verified) == ("received", True)
    assert kept.error is not None and "KeyError" in kept.error
