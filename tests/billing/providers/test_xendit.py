"""Xendit: callback token (constant-time), the optional HMAC signature, status mapping, and the
invoice API against a stub server."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from garment.central.billing.providers.base import (
    MalformedWebhook,
    PaymentEventKind,
    PaymentRequest,
    ProviderError,
)
from garment.central.billing.providers.xendit import XenditProvider, xendit_signature
from tests.billing.providers.stubs import Reply, StubServer, delivery

TOKEN = "xnd-callback-token-for-tests-0123456789"
API_KEY = "xnd_development_secret_api_key_for_tests"


def provider(api_url: str = "http://127.0.0.1:9", timeout: float = 2.0) -> XenditProvider:
    return XenditProvider(
        callback_token=TOKEN, api_key=API_KEY, api_url=api_url, timeout_seconds=timeout
    )


def callback(**overrides: Any) -> bytes:
    payload: dict[str, Any] = {
        "id": "579c8d61f23fa4ca35e52da4",
        "external_id": "INV-2026-11-0001",
        "user_id": "5781d19b2e2385880609791c",
        "status": "PAID",
        "merchant_name": "Garment.id",
        "amount": 145000,
        "paid_amount": 145000,
        "paid_at": "2026-11-12T08:15:03.404Z",
        "updated": "2026-11-12T08:15:03.404Z",
        "currency": "IDR",
    }
    payload.update(overrides)
    return json.dumps({k: v for k, v in payload.items() if v is not None}).encode()


def test_valid_callback_verifies_and_parses() -> None:
    adapter = provider()
    received = delivery(callback(), {"x-callback-token": TOKEN})
    assert adapter.verify(received).valid
    event = adapter.parse(received)
    assert event.provider == "xendit"
    assert event.kind is PaymentEventKind.SUCCEEDED
    assert event.reference == "INV-2026-11-0001"
    assert event.amount == 145000
    assert event.event_id == "579c8d61f23fa4ca35e52da4:PAID"
    assert event.provider_reference == "579c8d61f23fa4ca35e52da4"
    assert event.raw_status == "PAID"
    assert event.occurred_at == datetime(2026, 11, 12, 8, 15, 3, 404000, tzinfo=UTC)


def test_header_names_are_matched_in_any_case() -> None:
    received = delivery(callback(), {})
    received = type(received)(callback(), {"X-CALLBACK-TOKEN": TOKEN}, received.received_at)
    assert provider().verify(received).valid


def test_paid_and_expired_of_one_invoice_are_distinct_events() -> None:
    adapter = provider()
    paid = adapter.parse(delivery(callback(status="PAID")))
    expired = adapter.parse(delivery(callback(status="EXPIRED", paid_amount=None)))
    assert paid.event_id != expired.event_id
    assert adapter.parse(delivery(callback(status="PAID"))).event_id == paid.event_id


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("PAID", PaymentEventKind.SUCCEEDED),
        ("SETTLED", PaymentEventKind.SUCCEEDED),
        ("EXPIRED", PaymentEventKind.EXPIRED),
        ("PENDING", PaymentEventKind.PENDING),
    ],
)
def test_status_mapping(status: str, kind: PaymentEventKind) -> None:
    event = provider().parse(delivery(callback(status=status)))
    assert event.kind is kind
    assert event.raw_status == status


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_header"),
        ({"x-callback-token": ""}, "token_mismatch"),
        ({"x-callback-token": "wrong-token"}, "token_mismatch"),
        ({"x-callback-token": TOKEN[:-1]}, "token_mismatch"),
        ({"x-callback-token": TOKEN + "x"}, "token_mismatch"),
        ({"x-callback-token": "tökén-ñon-ascii"}, "token_mismatch"),
    ],
)
def test_forged_token_is_refused(headers: dict[str, str], reason: str) -> None:
    verification = provider().verify(delivery(callback(), headers))
    assert not verification.valid
    assert verification.reason == reason


def test_unconfigured_adapter_refuses_everything() -> None:
    adapter = XenditProvider(callback_token=None, api_key=None)
    assert not adapter.configured
    assert adapter.verify(delivery(callback(), {"x-callback-token": TOKEN})).reason == (
        "not_configured"
    )


def signed_headers(body: bytes, timestamp: str = "1763000000") -> dict[str, str]:
    return {
        "x-callback-token": TOKEN,
        "x-callback-timestamp": timestamp,
        "x-callback-signature": xendit_signature(TOKEN, timestamp, body),
    }


def test_signed_callback_verifies() -> None:
    body = callback()
    assert provider().verify(delivery(body, signed_headers(body))).valid
    upper = signed_headers(body)
    upper["x-callback-signature"] = upper["x-callback-signature"].upper()
    assert provider().verify(delivery(body, upper)).valid


def test_altered_amount_breaks_the_signature() -> None:
    body = callback()
    headers = signed_headers(body)
    forged = callback(amount=1000, paid_amount=1000)
    verification = provider().verify(delivery(forged, headers))
    assert verification.reason == "signature_mismatch"


def test_signature_with_the_wrong_key_or_timestamp_is_refused() -> None:
    body = callback()
    headers = signed_headers(body)
    headers["x-callback-signature"] = xendit_signature("another-token", "1763000000", body)
    assert provider().verify(delivery(body, headers)).reason == "signature_mismatch"
    headers = signed_headers(body)
    headers["x-callback-timestamp"] = "1763000001"
    assert provider().verify(delivery(body, headers)).reason == "signature_mismatch"


@pytest.mark.parametrize(
    "change",
    [
        {"x-callback-signature": None},  # timestamp without signature
        {"x-callback-timestamp": None},  # signature without timestamp
        {"x-callback-signature": "garbage"},
        {"x-callback-signature": "ab" * 31},  # cut short
        {"x-callback-signature": "zz" * 32},  # not hex
        {"x-callback-signature": "sha256=" + "ab" * 32},  # a prefix we do not know
        {"x-callback-timestamp": "yesterday"},
        {"x-callback-timestamp": "-1763000000"},
        {"x-callback-timestamp": ""},
    ],
)
def test_malformed_signature_headers_are_refused_without_raising(
    change: dict[str, str | None],
) -> None:
    body = callback()
    headers: dict[str, str | None] = {**signed_headers(body), **change}
    present = {name: value for name, value in headers.items() if value is not None}
    verification = provider().verify(delivery(body, present))
    assert not verification.valid
    assert verification.reason == "malformed_header"


def test_token_is_checked_before_the_signature() -> None:
    body = callback()
    headers = {**signed_headers(body), "x-callback-token": "wrong"}
    assert provider().verify(delivery(body, headers)).reason == "token_mismatch"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"external_id": "INV-1", "status": "PAID"}).encode(),  # no id
        json.dumps({"id": "x", "status": "PAID"}).encode(),  # no external_id
        json.dumps({"id": "x", "external_id": "INV-1"}).encode(),  # no status
        callback(status="VOIDED"),
        callback(status="paid"),
        callback(paid_amount="lots"),
        callback(paid_amount=145000.5),
        callback(paid_amount=-1),
        callback(paid_amount=True),
        b'{"id": "x", "external_id": "I", "status": "PAID", "amount": NaN}',
    ],
)
def test_unmappable_bodies_raise_malformed_webhook(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        provider().parse(delivery(body))


def test_amounts_are_integers_never_floats() -> None:
    adapter = provider()
    event = adapter.parse(delivery(callback(amount=145000.0, paid_amount=None)))
    assert event.amount == 145000
    assert type(event.amount) is int
    assert adapter.parse(delivery(callback(amount=None, paid_amount=None))).amount is None
    assert adapter.parse(delivery(callback(amount=150000, paid_amount=145000))).amount == 145000


def test_the_callback_token_is_a_secret_header() -> None:
    assert "x-callback-token" in provider().secret_headers()
    assert "authorization" in provider().secret_headers()


# API -------------------------------------------------------------------------------------------

INVOICE = {
    "id": "65f0c1e2a1b2c3d4e5f60718",
    "external_id": "INV-2026-11-0001",
    "status": "PENDING",
    "amount": 145000,
    "invoice_url": "https://checkout-staging.xendit.co/web/65f0c1e2a1b2c3d4e5f60718",
    "expiry_date": "2026-11-13T08:00:00.000Z",
}


def request(**overrides: Any) -> PaymentRequest:
    fields: dict[str, Any] = {
        "reference": "INV-2026-11-0001",
        "amount": 145000,
        "description": "Garment.id Growth, November 2026",
        "customer_email": "owner@example.com",
        "customer_name": "Siti",
        "success_url": "https://app.garment.id/billing/done",
    }
    fields.update(overrides)
    return PaymentRequest(**fields)


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()


async def test_create_invoice_posts_with_basic_auth(stub_server: StubServer) -> None:
    stub_server.reply("GET", "/v2/invoices", Reply(200, []))
    stub_server.reply("POST", "/v2/invoices", Reply(200, INVOICE))
    expires_at = datetime.now(UTC) + timedelta(hours=24)
    link = await provider(stub_server.url).create_payment(request(expires_at=expires_at))
    assert link.provider == "xendit"
    assert link.provider_reference == INVOICE["id"]
    assert link.url == INVOICE["invoice_url"]
    assert link.expires_at == datetime(2026, 11, 13, 8, 0, tzinfo=UTC)

    lookup, create = stub_server.requests
    assert (lookup.method, lookup.path) == ("GET", "/v2/invoices")
    assert lookup.query == {"external_id": ["INV-2026-11-0001"]}
    assert (create.method, create.path) == ("POST", "/v2/invoices")
    assert create.headers["authorization"] == basic_auth()
    sent = create.json()
    assert sent["external_id"] == "INV-2026-11-0001"
    assert sent["amount"] == 145000
    assert isinstance(sent["amount"], int)
    assert sent["currency"] == "IDR"
    assert sent["payer_email"] == "owner@example.com"
    assert sent["description"] == "Garment.id Growth, November 2026"
    assert sent["success_redirect_url"] == "https://app.garment.id/billing/done"
    assert sent["customer"] == {"given_names": "Siti", "email": "owner@example.com"}
    assert 86_000 < sent["invoice_duration"] <= 86_400


async def test_create_twice_returns_the_existing_invoice(stub_server: StubServer) -> None:
    stub_server.reply(
        "GET", "/v2/invoices", Reply(200, [{**INVOICE, "id": "old", "status": "EXPIRED"}, INVOICE])
    )
    link = await provider(stub_server.url).create_payment(request())
    assert link.provider_reference == INVOICE["id"]
    assert link.url == INVOICE["invoice_url"]
    assert [r.method for r in stub_server.requests] == ["GET"]  # nothing created


async def test_an_expiry_in_the_past_is_refused(stub_server: StubServer) -> None:
    stub_server.reply("GET", "/v2/invoices", Reply(200, []))
    with pytest.raises(ProviderError, match="expiry"):
        await provider(stub_server.url).create_payment(
            request(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )


async def test_fetch_payment_prefers_the_paid_invoice(stub_server: StubServer) -> None:
    paid = {
        **INVOICE,
        "id": "paid-one",
        "status": "SETTLED",
        "paid_amount": 145000,
        "paid_at": "2026-11-12T09:00:00Z",
    }
    stub_server.reply("GET", "/v2/invoices", Reply(200, [{**INVOICE, "status": "EXPIRED"}, paid]))
    remote = await provider(stub_server.url).fetch_payment("INV-2026-11-0001")
    assert remote is not None
    assert remote.status is PaymentEventKind.SUCCEEDED
    assert remote.provider_reference == "paid-one"
    assert remote.amount == 145000
    assert remote.paid_at == datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
    assert remote.extra["status"] == "SETTLED"
    assert stub_server.requests[0].headers["authorization"] == basic_auth()


@pytest.mark.parametrize(
    "reply", [Reply(200, []), Reply(404, {"error_code": "INVOICE_NOT_FOUND_ERROR"})]
)
async def test_fetch_payment_of_an_unknown_reference_is_none(
    stub_server: StubServer, reply: Reply
) -> None:
    stub_server.reply("GET", "/v2/invoices", reply)
    assert await provider(stub_server.url).fetch_payment("INV-unknown") is None


async def test_list_payments_pages_through_invoices(stub_server: StubServer) -> None:
    first = [{**INVOICE, "id": f"inv-{n:03}", "external_id": f"INV-{n}"} for n in range(100)]
    second = [{**INVOICE, "id": "inv-100", "external_id": "INV-100", "status": "PAID"}]
    stub_server.reply("GET", "/v2/invoices", Reply(200, first), Reply(200, second))
    since = datetime(2026, 11, 1, tzinfo=UTC)
    payments = await provider(stub_server.url).list_payments(since)
    assert len(payments) == 101
    assert payments[-1].status is PaymentEventKind.SUCCEEDED
    page_one, page_two = stub_server.requests
    assert page_one.query["created_after"] == ["2026-11-01T00:00:00.000Z"]
    assert "created_before" in page_one.query
    assert page_one.query["limit"] == ["100"]
    assert "last_invoice_id" not in page_one.query
    assert page_two.query["last_invoice_id"] == ["inv-099"]


async def test_retry_charge_is_not_supported() -> None:
    assert await provider().retry_charge("INV-1") is False


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_raise_provider_error_without_secrets(
    stub_server: StubServer, status: int
) -> None:
    stub_server.reply("GET", "/v2/invoices", Reply(status, {"message": f"boom {API_KEY}"}))
    with pytest.raises(ProviderError) as caught:
        await provider(stub_server.url).fetch_payment("INV-1")
    message = str(caught.value)
    assert str(status) in message
    assert API_KEY not in message and TOKEN not in message
    assert API_KEY not in repr(caught.value)


async def test_a_client_error_names_the_provider_code_but_scrubs_secrets(
    stub_server: StubServer,
) -> None:
    stub_server.reply("GET", "/v2/invoices", Reply(200, []))
    stub_server.reply(
        "POST",
        "/v2/invoices",
        Reply(400, {"error_code": "API_VALIDATION_ERROR", "message": f"bad key {API_KEY}"}),
    )
    with pytest.raises(ProviderError) as caught:
        await provider(stub_server.url).create_payment(request())
    message = str(caught.value)
    assert "API_VALIDATION_ERROR" in message
    assert API_KEY not in message
    assert "***" in message


async def test_refused_credentials(stub_server: StubServer) -> None:
    stub_server.reply("GET", "/v2/invoices", Reply(401, {"error_code": "INVALID_API_KEY"}))
    with pytest.raises(ProviderError, match="credentials were refused") as caught:
        await provider(stub_server.url).fetch_payment("INV-1")
    assert API_KEY not in str(caught.value)


async def test_timeout_raises_provider_error(stub_server: StubServer) -> None:
    stub_server.reply("GET", "/v2/invoices", Reply(200, [], delay_seconds=1.0))
    with pytest.raises(ProviderError, match="timed out") as caught:
        await provider(stub_server.url, timeout=0.2).fetch_payment("INV-1")
    assert API_KEY not in str(caught.value)


async def test_unreachable_server_raises_provider_error() -> None:
    with pytest.raises(ProviderError, match="failed") as caught:
        await provider("http://127.0.0.1:9", timeout=1.0).fetch_payment("INV-1")
    assert API_KEY not in str(caught.value)


async def test_a_body_that_is_not_json_raises_provider_error(stub_server: StubServer) -> None:
    stub_server.reply("GET", "/v2/invoices", Reply(200, b"<html>gateway</html>"))
    with pytest.raises(ProviderError, match="not JSON"):
        await provider(stub_server.url).fetch_payment("INV-1")


async def test_an_invoice_with_a_fractional_amount_raises_provider_error(
    stub_server: StubServer,
) -> None:
    stub_server.reply(
        "GET",
        "/v2/invoices",
        Reply(
            200, b'[{"id": "i", "external_id": "INV-1", "status": "PAID", "paid_amount": 145000.5}]'
        ),
    )
    with pytest.raises(ProviderError, match="whole rupiah"):
        await provider(stub_server.url).fetch_payment("INV-1")


async def test_api_without_an_api_key_raises_provider_error() -> None:
    adapter = XenditProvider(callback_token=TOKEN, api_key=None)
    with pytest.raises(ProviderError, match=r"billing\.xendit\.api_key"):
        await adapter.fetch_payment("INV-1")
