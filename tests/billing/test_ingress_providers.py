"""The ingress with each real provider configured (a second runtime on the same databases):
for Xendit, Midtrans and Standard Webhooks a valid delivery applies; forged ones are 401 with
the receipt kept and the reason recorded, never a 500; the same event ten times concurrently
changes state once; `paid` then a late `pending` stays paid; an oversized body is 413 and
recorded."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from garment.app import create_app
from garment.central.billing.models import Invoice
from garment.central.billing.providers.base import PaymentEventKind
from garment.central.billing.providers.midtrans import midtrans_signature
from garment.central.billing.providers.standard import event_body, sign_delivery
from garment.central.billing.providers.xendit import xendit_signature
from garment.central.billing.repository import ReceiptRepository
from garment.platform.dbsetup import Targets
from garment.runtime import Runtime
from tests.billing.conftest import invoices_of, onboard, open_invoice
from tests.conftest import make_client, settings_for

XENDIT_TOKEN = "xnd-callback-token-ingress-0123456789"
MIDTRANS_KEY = "SB-Mid-server-IngressServerKey0123456789"
STANDARD_SECRET = "whsec_" + "c3RhbmRhcmQtd2ViaG9va3Mtc2VjcmV0LWZvci10ZXN0cw=="
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="

Delivery = tuple[bytes, dict[str, str]]


@pytest.fixture(scope="module")
async def configured(targets: Targets, mail_dir: Path) -> AsyncIterator[Runtime]:
    settings = settings_for(
        targets,
        mail_dir,
        # A second runtime on the shared server: small pools, so it does not crowd others out.
        db_pool_size=2,
        db_max_overflow=2,
        billing={
            "xendit": {"callback_token": XENDIT_TOKEN, "api_key": "xnd_key"},
            "midtrans": {"server_key": MIDTRANS_KEY},
            "standard_webhooks": {"secret": STANDARD_SECRET},
        },
    )
    runtime = await Runtime.create(settings, migrate=False)
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def http(configured: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(create_app(runtime=configured)) as client:
        yield client


# --- deliveries as each provider sends them ------------------------------------------------------


def xendit(
    invoice: Invoice, status: str = "PAID", amount: int | None = None, **kw: Any
) -> Delivery:
    total = invoice.total if amount is None else amount
    body = json.dumps(
        {
            "id": kw.get("charge_id", f"xnd_{invoice.id.hex[:12]}"),
            "external_id": invoice.reference,
            "status": status,
            "amount": total,
            "paid_amount": total,
            "paid_at": datetime.now(UTC).isoformat(),
            "currency": "IDR",
        }
    ).encode()
    timestamp = str(int(datetime.now(UTC).timestamp()))
    return body, {
        "content-type": "application/json",
        "x-callback-token": XENDIT_TOKEN,
        "x-callback-timestamp": timestamp,
        "x-callback-signature": xendit_signature(XENDIT_TOKEN, timestamp, body),
    }


def midtrans(
    invoice: Invoice, status: str = "settlement", amount: int | None = None, **kw: Any
) -> Delivery:
    gross = f"{invoice.total if amount is None else amount}.00"
    payload = {
        "transaction_time": "2026-12-01 15:10:00",
        "transaction_status": status,
        "transaction_id": kw.get("charge_id", str(uuid.uuid4())),
        "status_code": "200" if status in ("settlement", "capture") else "201",
        "order_id": invoice.reference,
        "gross_amount": gross,
        "fraud_status": "accept",
        "currency": "IDR",
        "payment_type": "bank_transfer",
    }
    payload["signature_key"] = midtrans_signature(
        payload["order_id"], payload["status_code"], gross, MIDTRANS_KEY
    )
    return json.dumps(payload).encode(), {"content-type": "application/json"}


def standard(
    invoice: Invoice, status: str = "succeeded", amount: int | None = None, **kw: Any
) -> Delivery:
    kind = {"succeeded": PaymentEventKind.SUCCEEDED, "pending": PaymentEventKind.PENDING}[status]
    body = event_body(kind, invoice.reference, invoice.total if amount is None else amount)
    headers = sign_delivery(
        kw.get("secret", STANDARD_SECRET),
        body,
        kw.get("msg_id", f"msg_{uuid.uuid4().hex}"),
        kw.get("at", datetime.now(UTC)),
    )
    return body, {**headers, "content-type": "application/json"}


PAID_STATUS = {"xendit": "PAID", "midtrans": "settlement", "standard": "succeeded"}
PENDING_STATUS = {"xendit": "PENDING", "midtrans": "pending", "standard": "pending"}
BUILD: dict[str, Callable[..., Delivery]] = {
    "xendit": xendit,
    "midtrans": midtrans,
    "standard": standard,
}


def forgeries(provider: str, invoice: Invoice) -> dict[str, Delivery]:
    body, headers = BUILD[provider](invoice)
    cheaper, _ = BUILD[provider](invoice, amount=1_000)
    if provider == "xendit":
        return {
            "wrong_token": (body, {**headers, "x-callback-token": "guessed"}),
            "no_token": (body, {k: v for k, v in headers.items() if k != "x-callback-token"}),
            "altered_amount": (cheaper, headers),
            "wrong_signature": (body, {**headers, "x-callback-signature": "ab" * 32}),
            "malformed_signature": (body, {**headers, "x-callback-signature": "garbage"}),
            "malformed_timestamp": (body, {**headers, "x-callback-timestamp": "yesterday"}),
        }
    if provider == "midtrans":
        payload = json.loads(body)
        altered = {**payload, "gross_amount": "1000.00"}
        garbage = {**payload, "signature_key": "not-hex"}
        wrong = {
            **payload,
            "signature_key": midtrans_signature(
                payload["order_id"], "200", payload["gross_amount"], "other-key"
            ),
        }
        missing = {k: v for k, v in payload.items() if k != "signature_key"}
        return {
            "altered_amount": (json.dumps(altered).encode(), headers),
            "wrong_signature": (json.dumps(wrong).encode(), headers),
            "malformed_signature": (json.dumps(garbage).encode(), headers),
            "missing_signature": (json.dumps(missing).encode(), headers),
            "not_json": (b"{not json", headers),
        }
    stale = datetime.now(UTC) - timedelta(minutes=6)
    return {
        "altered_amount": (cheaper, headers),
        "wrong_secret": standard(invoice, secret=OTHER_SECRET),
        "stale_timestamp": standard(invoice, at=stale),
        "garbage_signature": (body, {**headers, "webhook-signature": "garbage"}),
        "bad_base64": (body, {**headers, "webhook-signature": "v1,!!!"}),
        "wrong_version": (
            body,
            {**headers, "webhook-signature": "v2," + headers["webhook-signature"][3:]},
        ),
        "no_id": (body, {k: v for k, v in headers.items() if k != "webhook-id"}),
    }


async def post(http: httpx.AsyncClient, provider: str, delivery: Delivery) -> httpx.Response:
    body, headers = delivery
    return await http.post(f"/api/v1/billing/webhooks/{provider}", content=body, headers=headers)


async def status_of(runtime: Runtime, invoice: Invoice) -> str:
    found = await invoices_of(runtime, invoice.tenant_id)
    return next(i for i in found if i.id == invoice.id).status


PROVIDERS = pytest.mark.parametrize("provider", ["xendit", "midtrans", "standard"])


@PROVIDERS
async def test_a_valid_delivery_applies(
    provider: str, configured: Runtime, http: httpx.AsyncClient
) -> None:
    invoice = await open_invoice(configured, (await onboard(configured)).tenant_id)
    answer = await post(http, provider, BUILD[provider](invoice))
    assert answer.status_code == 200, answer.text
    assert await configured.billing_webhooks.process(answer.json()["receipt_id"]) == "processed"
    assert await status_of(configured, invoice) == "paid"


@PROVIDERS
async def test_forged_deliveries_are_401_kept_and_change_nothing(
    provider: str, configured: Runtime, http: httpx.AsyncClient
) -> None:
    invoice = await open_invoice(configured, (await onboard(configured)).tenant_id)
    for name, delivery in forgeries(provider, invoice).items():
        answer = await post(http, provider, delivery)
        assert answer.status_code == 401, (name, answer.text)
        assert answer.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"
        async with configured.central.transaction() as session:
            kept = await ReceiptRepository(session).get(answer.json()["receipt_id"])
        assert kept is not None
        assert (kept.status, kept.verified) == ("rejected", False), name
        assert kept.verification_reason, name
        assert bytes(kept.body) == delivery[0]
        if "x-callback-token" in kept.headers:
            assert kept.headers["x-callback-token"] == "[redacted]"
    assert await status_of(configured, invoice) == "open"


@PROVIDERS
async def test_the_same_event_ten_times_concurrently_changes_state_once(
    provider: str, configured: Runtime, http: httpx.AsyncClient
) -> None:
    invoice = await open_invoice(configured, (await onboard(configured)).tenant_id)
    delivery = BUILD[provider](
        invoice, charge_id=f"charge-{uuid.uuid4().hex[:8]}", msg_id=f"msg_{uuid.uuid4().hex}"
    )
    answers = await asyncio.gather(*[post(http, provider, delivery) for _ in range(10)])
    assert [a.status_code for a in answers] == [200] * 10
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 9 + ["verified"]
    outcomes = await asyncio.gather(
        *[configured.billing_webhooks.process(a.json()["receipt_id"]) for a in answers]
    )
    assert sorted(outcomes) == ["duplicate"] * 9 + ["processed"]
    assert await status_of(configured, invoice) == "paid"


@PROVIDERS
async def test_paid_then_a_late_pending_stays_paid(
    provider: str, configured: Runtime, http: httpx.AsyncClient
) -> None:
    invoice = await open_invoice(configured, (await onboard(configured)).tenant_id)
    paid = await post(http, provider, BUILD[provider](invoice, PAID_STATUS[provider]))
    late = await post(http, provider, BUILD[provider](invoice, PENDING_STATUS[provider]))
    assert (paid.status_code, late.status_code) == (200, 200), late.text
    assert await configured.billing_webhooks.process(paid.json()["receipt_id"]) == "processed"
    assert await configured.billing_webhooks.process(late.json()["receipt_id"]) == "ignored"
    assert await status_of(configured, invoice) == "paid"


@PROVIDERS
async def test_an_oversized_body_is_413_and_recorded(
    provider: str, configured: Runtime, http: httpx.AsyncClient
) -> None:
    limit = configured.settings.billing.webhook_max_body_bytes
    answer = await post(
        http, provider, (b"{" + b" " * limit + b"}", {"x-callback-token": XENDIT_TOKEN})
    )
    assert answer.status_code == 413
    async with configured.central.transaction() as session:
        kept = await ReceiptRepository(session).get(answer.json()["receipt_id"])
    assert kept is not None and kept.verification_reason == "body_too_large"
    assert kept.provider == provider
