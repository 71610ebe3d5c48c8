"""Reconciliation against a stub Xendit API (a real HTTP server on 127.0.0.1): each seeded
mismatch kind is found, and `--fix` repairs "paid remotely, open here" through the state
machine with a receipt of source `reconciliation`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from garment.central.billing.models import Invoice
from garment.central.billing.providers.registry import ProviderRegistry
from garment.central.billing.providers.xendit import XenditProvider
from garment.central.billing.reconcile import Reconciler
from garment.central.billing.repository import InvoiceRepository, ReceiptRepository
from garment.runtime import Runtime
from tests.billing.conftest import onboard, open_invoice, post_webhook, sandbox_delivery
from tests.billing.providers.stubs import Reply, StubServer, start_stub_server

PATH = "/v2/invoices"


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server_stub, server, thread = start_stub_server()
    try:
        yield server_stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def remote(invoice: Invoice | str, status: str, amount: int) -> dict[str, Any]:
    reference = invoice if isinstance(invoice, str) else invoice.reference
    return {
        "id": f"xnd_{reference[:8]}",
        "external_id": reference,
        "status": status,
        "amount": amount,
        "paid_at": datetime.now(UTC).isoformat() if status == "PAID" else None,
    }


async def xendit_invoice(runtime: Runtime) -> Invoice:
    tenant = await onboard(runtime)
    invoice = await open_invoice(runtime, tenant.tenant_id)
    async with runtime.central.transaction() as session:
        stored = await InvoiceRepository(session).get(invoice.id)
        assert stored is not None
        stored.provider = "xendit"
    return stored


async def test_every_mismatch_kind_is_found_and_fix_repairs_it(
    runtime: Runtime, client: httpx.AsyncClient, stub: StubServer
) -> None:
    paid_remotely = await xendit_invoice(runtime)
    # From this test's first invoice on: an invoice an earlier test on this worker's database
    # issued a moment before would take the stub's first scripted answer.
    assert paid_remotely.issued_at is not None
    since = paid_remotely.issued_at
    differs = await xendit_invoice(runtime)
    pending = await xendit_invoice(runtime)
    paid_here = await xendit_invoice(runtime)
    body, headers = sandbox_delivery(runtime, paid_here)
    answer = await post_webhook(client, "sandbox", body, headers)
    assert await runtime.billing_webhooks.process(answer.json()["receipt_id"]) == "processed"

    listed = [
        remote(paid_remotely, "PAID", paid_remotely.total),
        remote(differs, "PAID", differs.total - 1_000),
        remote(pending, "PENDING", pending.total),
        remote(paid_here, "EXPIRED", paid_here.total),
        remote("inv-we-never-issued", "PAID", 50_000),
    ]

    def script() -> None:
        stub.reply("GET", PATH, *[Reply(body=[item]) for item in listed[:4]], Reply(body=listed))

    providers = ProviderRegistry(
        [XenditProvider(callback_token="tok", api_key="key", api_url=stub.url, timeout_seconds=5)]
    )
    reconciler = Reconciler(
        central=runtime.central,
        billing=runtime.billing,
        webhooks=runtime.billing_webhooks,
        providers=providers,
    )
    script()
    found = await reconciler.run(provider="xendit", since=since)
    kinds = {(m.kind, m.reference) for m in found}
    assert kinds == {
        ("paid_remotely_open_here", paid_remotely.reference),
        ("amount_differs", differs.reference),
        ("paid_here_not_remotely", paid_here.reference),
        ("unknown_remote_payment", "inv-we-never-issued"),
    }
    assert not any(m.fixed for m in found)
    async with runtime.central.transaction() as session:
        assert (await InvoiceRepository(session).get(paid_remotely.id)).status == "open"  # type: ignore[union-attr]

    script()
    fixed = await reconciler.run(provider="xendit", since=since, fix=True)
    [repair] = [m for m in fixed if m.kind == "paid_remotely_open_here"]
    assert (repair.fixed, repair.outcome) == (True, "paid")
    async with runtime.central.transaction() as session:
        repaired = await InvoiceRepository(session).get(paid_remotely.id)
        assert repaired is not None and repaired.status == "paid"
        assert (await InvoiceRepository(session).get(differs.id)).status == "open"  # type: ignore[union-attr]
        receipts = await ReceiptRepository(session).listed(reference=paid_remotely.reference)
    assert [(r.source, r.status, r.outcome) for r in receipts] == [
        ("reconciliation", "processed", "paid")
    ]

    script()
    after = await reconciler.run(provider="xendit", since=since, fix=True)
    assert "paid_remotely_open_here" not in {m.kind for m in after}
