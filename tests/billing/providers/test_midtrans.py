"""Midtrans: SHA-512 `signature_key` over the exact `gross_amount` string, the full status
table, and the Snap and Core APIs against a stub server."""

from __future__ import annotations

import base64
import hashlib
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
from garment.central.billing.providers.midtrans import (
    MidtransProvider,
    midtrans_kind,
    midtrans_signature,
)
from tests.billing.providers.stubs import Reply, StubServer, delivery

SERVER_KEY = "SB-Mid-server-TestServerKey0123456789"


def provider(url: str = "http://127.0.0.1:9", timeout: float = 2.0) -> MidtransProvider:
    return MidtransProvider(
        server_key=SERVER_KEY, api_url=url, snap_url=url, timeout_seconds=timeout
    )


def notification(*, sign: bool = True, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "transaction_time": "2026-11-12 15:10:00",
        "transaction_status": "settlement",
        "transaction_id": "513f1f01-c9da-474c-9fc9-d5c64364b709",
        "status_message": "midtrans payment notification",
        "status_code": "200",
        "settlement_time": "2026-11-12 15:12:30",
        "payment_type": "bank_transfer",
        "order_id": "INV-2026-11-0001",
        "merchant_id": "G141532850",
        "gross_amount": "145000.00",
        "fraud_status": "accept",
        "currency": "IDR",
    }
    payload.update(overrides)
    payload = {key: value for key, value in payload.items() if value is not None}
    if sign:
        payload["signature_key"] = midtrans_signature(
            payload["order_id"], payload["status_code"], payload["gross_amount"], SERVER_KEY
        )
    return payload


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def test_signature_is_sha512_of_the_four_strings() -> None:
    expected = hashlib.sha512(b"INV-1" + b"200" + b"145000.00" + SERVER_KEY.encode()).hexdigest()
    assert midtrans_signature("INV-1", "200", "145000.00", SERVER_KEY) == expected


def test_valid_notification_verifies_and_parses() -> None:
    adapter = provider()
    received = delivery(body(notification()))
    assert adapter.verify(received).valid
    event = adapter.parse(received)
    assert event.provider == "midtrans"
    assert event.kind is PaymentEventKind.SUCCEEDED
    assert event.reference == "INV-2026-11-0001"
    assert event.amount == 145000
    assert type(event.amount) is int
    assert event.event_id == "513f1f01-c9da-474c-9fc9-d5c64364b709:settlement"
    assert event.provider_reference == "513f1f01-c9da-474c-9fc9-d5c64364b709"
    # Jakarta time (UTC+7) without an offset
    assert event.occurred_at == datetime(2026, 11, 12, 8, 12, 30, tzinfo=UTC)


def test_signature_uses_gross_amount_exactly_as_received() -> None:
    payload = notification(sign=False)
    # Signed over "145000" but received as "145000.00": the same number, not the same string.
    payload["signature_key"] = midtrans_signature(
        payload["order_id"], payload["status_code"], "145000", SERVER_KEY
    )
    assert provider().verify(delivery(body(payload))).reason == "signature_mismatch"
    # Signed and received as "145000": valid.
    valid = notification(gross_amount="145000")
    assert provider().verify(delivery(body(valid))).valid


def test_gross_amount_as_a_json_number_is_malformed() -> None:
    payload = notification()
    raw = body(payload).replace(b'"gross_amount": "145000.00"', b'"gross_amount": 145000.00')
    assert b"145000.00," in raw
    assert provider().verify(delivery(raw)).reason == "malformed_body"


def test_altered_amount_breaks_the_signature() -> None:
    payload = notification()
    payload["gross_amount"] = "1000.00"
    assert provider().verify(delivery(body(payload))).reason == "signature_mismatch"


def test_altered_status_breaks_the_signature() -> None:
    payload = notification(transaction_status="pending", status_code="201")
    payload["status_code"] = "200"
    assert provider().verify(delivery(body(payload))).reason == "signature_mismatch"


def test_signature_with_another_server_key_is_refused() -> None:
    payload = notification(sign=False)
    payload["signature_key"] = midtrans_signature(
        payload["order_id"], payload["status_code"], payload["gross_amount"], "SB-Mid-server-other"
    )
    assert provider().verify(delivery(body(payload))).reason == "signature_mismatch"


def test_upper_case_hex_signature_verifies() -> None:
    payload = notification()
    payload["signature_key"] = payload["signature_key"].upper()
    assert provider().verify(delivery(body(payload))).valid


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "malformed_body"),
        (b"\xff\xfe\x00", "malformed_body"),
        (b"[1, 2]", "malformed_body"),
        (b'"a string"', "malformed_body"),
        (body(notification(sign=False)), "missing_signature"),
        (body({**notification(), "signature_key": ""}), "missing_signature"),
        (body({**notification(), "signature_key": "abc"}), "malformed_signature"),
        (body({**notification(), "signature_key": "z" * 128}), "malformed_signature"),
        (body({**notification(), "signature_key": 12345}), "malformed_signature"),
        (body({**notification(), "signature_key": "ab" * 32}), "malformed_signature"),  # SHA-256
        (body({**notification(), "order_id": None}), "malformed_body"),
        (body({**notification(), "order_id": 1}), "malformed_body"),
        (body({**notification(), "status_code": 200}), "malformed_body"),
        (body({**notification(), "gross_amount": ""}), "malformed_body"),
    ],
)
def test_malformed_notifications_are_refused_without_raising(raw: bytes, reason: str) -> None:
    verification = provider().verify(delivery(raw))
    assert not verification.valid
    assert verification.reason == reason


def test_unconfigured_adapter_refuses_everything() -> None:
    adapter = MidtransProvider(server_key=None)
    assert not adapter.configured
    assert adapter.verify(delivery(body(notification()))).reason == "not_configured"


@pytest.mark.parametrize(
    ("status", "fraud", "kind"),
    [
        ("settlement", None, PaymentEventKind.SUCCEEDED),
        ("settlement", "accept", PaymentEventKind.SUCCEEDED),
        ("capture", "accept", PaymentEventKind.SUCCEEDED),
        ("capture", "challenge", PaymentEventKind.PENDING),
        ("capture", "deny", PaymentEventKind.FAILED),
        ("capture", None, PaymentEventKind.PENDING),
        ("deny", None, PaymentEventKind.FAILED),
        ("cancel", None, PaymentEventKind.FAILED),
        ("failure", None, PaymentEventKind.FAILED),
        ("expire", None, PaymentEventKind.EXPIRED),
        ("pending", None, PaymentEventKind.PENDING),
        ("authorize", None, PaymentEventKind.PENDING),
        ("refund", None, PaymentEventKind.REFUNDED),
        ("partial_refund", None, PaymentEventKind.REFUNDED),
    ],
)
def test_status_mapping(status: str, fraud: str | None, kind: PaymentEventKind) -> None:
    assert midtrans_kind(status, fraud) is kind
    event = provider().parse(
        delivery(body(notification(transaction_status=status, fraud_status=fraud)))
    )
    assert event.kind is kind


@pytest.mark.parametrize(
    ("status", "fraud"), [("chargeback", None), ("capture", "maybe"), ("", None)]
)
def test_unknown_statuses_are_malformed(status: str, fraud: str | None) -> None:
    with pytest.raises(ValueError, match="unknown"):
        midtrans_kind(status, fraud)
    with pytest.raises(MalformedWebhook):
        provider().parse(
            delivery(body(notification(transaction_status=status, fraud_status=fraud)))
        )


def test_event_ids_distinguish_the_notifications_of_one_transaction() -> None:
    adapter = provider()

    def event_id(**fields: Any) -> str:
        return adapter.parse(delivery(body(notification(**fields)))).event_id

    pending = event_id(transaction_status="pending", fraud_status=None)
    settled = event_id(transaction_status="settlement")
    expired = event_id(transaction_status="expire", fraud_status=None)
    challenge = event_id(transaction_status="capture", fraud_status="challenge")
    accepted = event_id(transaction_status="capture", fraud_status="accept")
    refund_1 = event_id(transaction_status="partial_refund", refund_amount="10000.00")
    refund_2 = event_id(transaction_status="partial_refund", refund_amount="20000.00")
    ids = [pending, settled, expired, challenge, accepted, refund_1, refund_2]
    assert len(set(ids)) == len(ids)
    assert event_id(transaction_status="settlement") == settled  # a redelivery is the same


@pytest.mark.parametrize(
    ("amount", "expected"), [("145000.00", 145000), ("145000", 145000), ("0.00", 0)]
)
def test_amount_parsing(amount: str, expected: int) -> None:
    event = provider().parse(delivery(body(notification(gross_amount=amount))))
    assert event.amount == expected


@pytest.mark.parametrize("amount", ["145000.50", "145000.01", "1.5e5", "-145000.00", "abc", " 1"])
def test_non_integral_or_odd_amounts_are_malformed(amount: str) -> None:
    with pytest.raises(MalformedWebhook):
        provider().parse(delivery(body(notification(gross_amount=amount))))


@pytest.mark.parametrize(
    "missing", ["order_id", "transaction_id", "transaction_status", "gross_amount"]
)
def test_notifications_missing_a_field_are_malformed(missing: str) -> None:
    payload = notification()
    del payload[missing]
    with pytest.raises(MalformedWebhook, match=missing):
        provider().parse(delivery(body(payload)))


def test_body_that_is_not_json_is_malformed_on_parse() -> None:
    with pytest.raises(MalformedWebhook):
        provider().parse(delivery(b"{"))


# API -------------------------------------------------------------------------------------------


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()


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


async def test_snap_create_transaction(stub_server: StubServer) -> None:
    stub_server.reply(
        "POST",
        "/snap/v1/transactions",
        Reply(
            201,
            {
                "token": "66e4fa55-fdac-4ef9-91b5-733b97d1b862",
                "redirect_url": "https://app.sandbox.midtrans.com/snap/v4/redirection/66e4fa55",
            },
        ),
    )
    expires_at = datetime.now(UTC) + timedelta(hours=2, seconds=30)
    link = await provider(stub_server.url).create_payment(request(expires_at=expires_at))
    assert link.provider == "midtrans"
    assert link.provider_reference == "66e4fa55-fdac-4ef9-91b5-733b97d1b862"
    assert link.url == "https://app.sandbox.midtrans.com/snap/v4/redirection/66e4fa55"
    assert link.expires_at == expires_at

    (sent,) = stub_server.requests
    assert (sent.method, sent.path) == ("POST", "/snap/v1/transactions")
    assert sent.headers["authorization"] == basic_auth()
    payload = sent.json()
    assert payload["transaction_details"] == {
        "order_id": "INV-2026-11-0001",
        "gross_amount": 145000,
    }
    assert payload["item_details"] == [
        {
            "id": "INV-2026-11-0001",
            "price": 145000,
            "quantity": 1,
            "name": "Garment.id Growth, November 2026",
        }
    ]
    assert payload["customer_details"] == {"email": "owner@example.com", "first_name": "Siti"}
    assert payload["callbacks"] == {"finish": "https://app.garment.id/billing/done"}
    assert payload["expiry"]["unit"] == "minute"
    assert payload["expiry"]["duration"] == 120
    assert payload["expiry"]["start_time"].endswith(" +0700")


async def test_snap_refusing_a_used_order_id_is_a_provider_error(stub_server: StubServer) -> None:
    stub_server.reply(
        "POST",
        "/snap/v1/transactions",
        Reply(400, {"error_messages": ["transaction_details.order_id sudah digunakan"]}),
    )
    with pytest.raises(ProviderError, match=r"400.*order_id") as caught:
        await provider(stub_server.url).create_payment(request())
    assert SERVER_KEY not in str(caught.value)


async def test_snap_answer_without_a_token_is_a_provider_error(stub_server: StubServer) -> None:
    stub_server.reply("POST", "/snap/v1/transactions", Reply(201, {"redirect_url": "x"}))
    with pytest.raises(ProviderError, match="token"):
        await provider(stub_server.url).create_payment(request())


async def test_status_of_a_settled_transaction(stub_server: StubServer) -> None:
    stub_server.reply(
        "GET",
        "/v2/INV-2026-11-0001/status",
        Reply(200, {**notification(), "status_message": "Success, transaction is found"}),
    )
    remote = await provider(stub_server.url).fetch_payment("INV-2026-11-0001")
    assert remote is not None
    assert remote.status is PaymentEventKind.SUCCEEDED
    assert remote.reference == "INV-2026-11-0001"
    assert remote.provider_reference == "513f1f01-c9da-474c-9fc9-d5c64364b709"
    assert remote.amount == 145000
    assert remote.paid_at == datetime(2026, 11, 12, 8, 12, 30, tzinfo=UTC)
    assert remote.extra["transaction_status"] == "settlement"
    (sent,) = stub_server.requests
    assert sent.method == "GET"
    assert sent.headers["authorization"] == basic_auth()


async def test_status_path_escapes_the_order_id(stub_server: StubServer) -> None:
    stub_server.reply("GET", "/v2/INV%2F1%20x/status", Reply(404, {"status_code": "404"}))
    assert await provider(stub_server.url).fetch_payment("INV/1 x") is None
    assert stub_server.requests[0].path == "/v2/INV%2F1%20x/status"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, {"status_code": "404", "status_message": "Transaction doesn't exist."}),
        Reply(404, {"status_code": "404", "status_message": "Transaction doesn't exist."}),
    ],
)
async def test_status_of_an_unknown_order_is_none(stub_server: StubServer, reply: Reply) -> None:
    stub_server.reply("GET", "/v2/INV-unknown/status", reply)
    assert await provider(stub_server.url).fetch_payment("INV-unknown") is None


async def test_status_with_an_unknown_transaction_status_is_a_provider_error(
    stub_server: StubServer,
) -> None:
    stub_server.reply(
        "GET", "/v2/INV-1/status", Reply(200, {**notification(), "transaction_status": "odd"})
    )
    with pytest.raises(ProviderError, match="unknown"):
        await provider(stub_server.url).fetch_payment("INV-1")


async def test_list_payments_is_empty_because_midtrans_has_no_such_api(
    stub_server: StubServer,
) -> None:
    assert await provider(stub_server.url).list_payments(datetime(2026, 1, 1, tzinfo=UTC)) == []
    assert stub_server.requests == []
    assert await provider(stub_server.url).retry_charge("INV-1") is False


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_raise_provider_error_without_secrets(
    stub_server: StubServer, status: int
) -> None:
    stub_server.reply("GET", "/v2/INV-1/status", Reply(status, {"status_message": SERVER_KEY}))
    with pytest.raises(ProviderError) as caught:
        await provider(stub_server.url).fetch_payment("INV-1")
    assert str(status) in str(caught.value)
    assert SERVER_KEY not in str(caught.value)


async def test_a_client_error_detail_is_scrubbed(stub_server: StubServer) -> None:
    stub_server.reply(
        "POST",
        "/snap/v1/transactions",
        Reply(400, {"error_messages": [f"server key {SERVER_KEY} is not allowed here"]}),
    )
    with pytest.raises(ProviderError) as caught:
        await provider(stub_server.url).create_payment(request())
    assert SERVER_KEY not in str(caught.value)
    assert "***" in str(caught.value)


async def test_timeout_raises_provider_error(stub_server: StubServer) -> None:
    stub_server.reply("GET", "/v2/INV-1/status", Reply(200, {}, delay_seconds=1.0))
    with pytest.raises(ProviderError, match="timed out") as caught:
        await provider(stub_server.url, timeout=0.2).fetch_payment("INV-1")
    assert SERVER_KEY not in str(caught.value)


async def test_api_without_a_server_key_raises_provider_error() -> None:
    with pytest.raises(ProviderError, match=r"billing\.midtrans\.server_key"):
        await MidtransProvider(server_key=None).create_payment(request())
