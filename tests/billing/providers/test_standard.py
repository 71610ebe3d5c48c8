"""Standard Webhooks through the `standardwebhooks` package: rotation, several signatures, the
5-minute tolerance, and every malformed header refused with its reason, never raised."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from garment.central.billing.providers.base import (
    MalformedWebhook,
    PaymentEventKind,
    PaymentRequest,
    ProviderError,
)
from garment.central.billing.providers.standard import (
    StandardWebhooksProvider,
    event_body,
    library_verdict,
    parse_secrets,
    sign_delivery,
)
from tests.billing.providers.stubs import delivery

SECRET_NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()
SECRET_OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
SECRET_OTHER = "whsec_" + base64.b64encode(b"x" * 32).decode()
MSG_ID = "msg_2pQz7v1kT0d3yJ"


def provider(secrets: str | None = f"{SECRET_NEW} {SECRET_OLD}") -> StandardWebhooksProvider:
    return StandardWebhooksProvider(secrets=secrets, api_url="https://pay.example.com/p/")


def payment_body(**data: Any) -> bytes:
    fields: dict[str, Any] = {
        "reference": "INV-2026-11-0001",
        "amount": 145000,
        "provider_reference": "ch_123",
        "occurred_at": "2026-11-12T08:15:03+00:00",
    }
    fields.update(data)
    fields = {key: value for key, value in fields.items() if value is not None}
    return json.dumps({"type": "payment.succeeded", "data": fields}).encode()


def signed(
    body: bytes, secret: str | list[str] = SECRET_NEW, *, at: datetime | None = None
) -> tuple[bytes, dict[str, str], datetime]:
    moment = at or datetime.now(UTC)
    return body, sign_delivery(secret, body, MSG_ID, moment), moment


def signature_of(body: bytes, secret: str, moment: datetime) -> str:
    return sign_delivery(secret, body, MSG_ID, moment)["webhook-signature"]


def test_valid_delivery_verifies_and_parses() -> None:
    body, headers, _ = signed(payment_body())
    received = delivery(body, headers)
    adapter = provider()
    assert adapter.configured
    assert adapter.verify(received).valid
    event = adapter.parse(received)
    assert event.provider == "standard"
    assert event.event_id == MSG_ID
    assert event.kind is PaymentEventKind.SUCCEEDED
    assert event.reference == "INV-2026-11-0001"
    assert event.amount == 145000
    assert event.provider_reference == "ch_123"
    assert event.occurred_at == datetime(2026, 11, 12, 8, 15, 3, tzinfo=UTC)
    assert event.raw_status == "payment.succeeded"


def test_signatures_are_what_the_package_computes() -> None:
    moment = datetime(2026, 11, 12, 8, 0, tzinfo=UTC)
    headers = sign_delivery(SECRET_NEW, b'{"a":1}', MSG_ID, moment)
    expected = Webhook(SECRET_NEW).sign(MSG_ID, moment, '{"a":1}')
    assert headers == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": expected,
    }


def test_sign_converts_other_zones_and_reads_naive_as_utc() -> None:
    utc = datetime(2026, 11, 12, 8, 0, tzinfo=UTC)
    jakarta = utc.astimezone(timezone(timedelta(hours=7)))
    naive = utc.replace(tzinfo=None)
    assert sign_delivery(SECRET_NEW, b"{}", MSG_ID, jakarta) == sign_delivery(
        SECRET_NEW, b"{}", MSG_ID, utc
    )
    assert sign_delivery(SECRET_NEW, b"{}", MSG_ID, naive) == sign_delivery(
        SECRET_NEW, b"{}", MSG_ID, utc
    )


@pytest.mark.parametrize("secret", [SECRET_NEW, SECRET_OLD])
def test_rotation_any_configured_secret_verifies(secret: str) -> None:
    body, headers, _ = signed(payment_body(), secret)
    assert provider().verify(delivery(body, headers)).valid


def test_several_signatures_in_the_header() -> None:
    body = payment_body()
    moment = datetime.now(UTC)
    good = signature_of(body, SECRET_OLD, moment)
    bad = signature_of(body, SECRET_OTHER, moment)
    asymmetric = "v1a," + base64.b64encode(b"s" * 64).decode()  # a version we do not use
    headers = sign_delivery(SECRET_OTHER, body, MSG_ID, moment)
    headers["webhook-signature"] = f"{bad} {asymmetric} {good}"
    assert provider().verify(delivery(body, headers)).valid
    # The sender signing with both secrets during a rotation:
    body, both, _ = signed(body, [SECRET_NEW, SECRET_OLD])
    assert len(both["webhook-signature"].split(" ")) == 2
    assert provider(SECRET_OLD).verify(delivery(body, both)).valid


def test_wrong_secret_is_refused() -> None:
    body, headers, _ = signed(payment_body(), SECRET_OTHER)
    verification = provider().verify(delivery(body, headers))
    assert (verification.valid, verification.reason) == (False, "signature_mismatch")


def test_altered_amount_is_refused() -> None:
    _, headers, _ = signed(payment_body(amount=145000))
    forged = payment_body(amount=1000)
    assert provider().verify(delivery(forged, headers)).reason == "signature_mismatch"


def test_altered_id_is_refused() -> None:
    body, headers, _ = signed(payment_body())
    headers["webhook-id"] = "msg_other"
    assert provider().verify(delivery(body, headers)).reason == "signature_mismatch"


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=-1)]
)
def test_stale_or_future_timestamps_are_refused(offset: timedelta) -> None:
    now = datetime.now(UTC)
    body, headers, _ = signed(payment_body(), at=now + offset)
    verification = provider().verify(delivery(body, headers, received_at=now))
    assert verification.reason == "timestamp_out_of_tolerance"


def test_tolerance_is_checked_against_received_at() -> None:
    now = datetime.now(UTC)
    body, headers, _ = signed(payment_body(), at=now - timedelta(minutes=4))
    assert provider().verify(delivery(body, headers, received_at=now)).valid
    # The same delivery, received six minutes after it was signed:
    received = delivery(body, headers, received_at=now + timedelta(minutes=2))
    assert provider().verify(received).reason == "timestamp_out_of_tolerance"


def valid_headers(body: bytes) -> dict[str, str]:
    return signed(body)[1]


def v1(raw: bytes) -> str:
    return "v1," + base64.b64encode(raw).decode()


MALFORMED: list[tuple[str, dict[str, str | None], str]] = [
    ("no id", {"webhook-id": None}, "missing_header"),
    ("no timestamp", {"webhook-timestamp": None}, "missing_header"),
    ("no signature", {"webhook-signature": None}, "missing_header"),
    ("empty signature", {"webhook-signature": ""}, "missing_header"),
    ("empty id", {"webhook-id": ""}, "missing_header"),
    ("garbage", {"webhook-signature": "garbage"}, "malformed_header"),
    ("version only", {"webhook-signature": "v1"}, "malformed_header"),
    ("version and comma", {"webhook-signature": "v1,"}, "malformed_header"),
    ("no version", {"webhook-signature": "," + "A" * 44}, "malformed_header"),
    ("two commas", {"webhook-signature": "v1,abcd,efgh"}, "malformed_header"),
    ("bad base64 characters", {"webhook-signature": "v1,!!!!####"}, "malformed_header"),
    ("bad base64 padding", {"webhook-signature": "v1,abc"}, "malformed_header"),
    ("cut signature", {"webhook-signature": v1(b"s" * 16)}, "malformed_header"),
    (
        "wrong version",
        {"webhook-signature": "v2," + base64.b64encode(b"s" * 32).decode()},
        "malformed_header",
    ),
    (
        "upper-case version",
        {"webhook-signature": "V1," + base64.b64encode(b"s" * 32).decode()},
        "malformed_header",
    ),
    (
        "only asymmetric",
        {"webhook-signature": "v1a," + base64.b64encode(b"s" * 64).decode()},
        "malformed_header",
    ),
    (
        "double space",
        {"webhook-signature": f"{v1(b's' * 32)}  {v1(b't' * 32)}"},
        "malformed_header",
    ),
    ("trailing space", {"webhook-signature": v1(b"s" * 32) + " "}, "malformed_header"),
    ("text timestamp", {"webhook-timestamp": "yesterday"}, "malformed_header"),
    ("fractional timestamp", {"webhook-timestamp": "1763000000.5"}, "malformed_header"),
    ("exponent timestamp", {"webhook-timestamp": "1.7e9"}, "malformed_header"),
    ("negative timestamp", {"webhook-timestamp": "-1763000000"}, "malformed_header"),
    ("nan timestamp", {"webhook-timestamp": "nan"}, "malformed_header"),
    ("huge timestamp", {"webhook-timestamp": "9" * 30}, "malformed_header"),
    ("millisecond timestamp", {"webhook-timestamp": "1763000000000"}, "malformed_header"),
    ("id with a newline", {"webhook-id": "msg\nx"}, "malformed_header"),
    ("id too long", {"webhook-id": "m" * 256}, "malformed_header"),
]


@pytest.mark.parametrize(
    ("change", "reason"), [(c, r) for _, c, r in MALFORMED], ids=[n for n, _, _ in MALFORMED]
)
def test_malformed_headers_are_refused_with_a_reason(
    change: dict[str, str | None], reason: str
) -> None:
    body = payment_body()
    headers: dict[str, str | None] = {**valid_headers(body), **change}
    present = {name: value for name, value in headers.items() if value is not None}
    verification = provider().verify(delivery(body, present))
    assert (verification.valid, verification.reason) == (False, reason)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body = b"\xff\xfe not utf-8"
    moment = datetime.now(UTC)
    headers = sign_delivery(SECRET_NEW, b"{}", MSG_ID, moment)
    assert provider().verify(delivery(body, headers)).reason == "malformed_body"


# The package's verdicts, reached directly (the shape check normally stops malformed input
# first, with its own reason). `None`: no headers at all; otherwise changes to valid headers
# signed for `{}`. The package (1.3) compares whole `v1,<base64>` entries and verifies bytes, so
# a malformed signature or a body that is not UTF-8 is, to it, a signature that does not match.
LIBRARY_CASES: list[tuple[str, dict[str, str] | None, bytes, str]] = [
    ("no headers", None, b"{}", "missing_header"),
    ("no comma", {"webhook-signature": "garbage"}, b"{}", "signature_mismatch"),
    ("two commas", {"webhook-signature": "v1,a,b"}, b"{}", "signature_mismatch"),
    ("double space", {"webhook-signature": "v1,AAAA  v1,AAAA"}, b"{}", "signature_mismatch"),
    ("bad padding", {"webhook-signature": "v1,abc"}, b"{}", "signature_mismatch"),
    ("text timestamp", {"webhook-timestamp": "soon"}, b"{}", "malformed_header"),
    ("nan timestamp", {"webhook-timestamp": "nan"}, b"{}", "malformed_header"),
    ("infinite timestamp", {"webhook-timestamp": "1e400"}, b"{}", "malformed_header"),
    ("old timestamp", {"webhook-timestamp": "1000000000"}, b"{}", "timestamp_out_of_tolerance"),
    ("future timestamp", {"webhook-timestamp": "9999999999"}, b"{}", "timestamp_out_of_tolerance"),
    ("wrong version", {"webhook-signature": "v2,AAAA"}, b"{}", "signature_mismatch"),
    ("not utf-8", {}, b"\xff", "signature_mismatch"),
]


@pytest.mark.parametrize(
    ("change", "body", "reason"),
    [(c, b, r) for _, c, b, r in LIBRARY_CASES],
    ids=[n for n, _, _, _ in LIBRARY_CASES],
)
def test_every_verdict_of_the_package_becomes_a_refusal(
    change: dict[str, str] | None, body: bytes, reason: str
) -> None:
    headers = {} if change is None else {**valid_headers(b"{}"), **change}
    hooks = [Webhook(SECRET_NEW), Webhook(SECRET_OLD)]
    verification = library_verdict(hooks, body, headers)
    assert (verification.valid, verification.reason) == (False, reason)


def test_the_package_accepts_a_valid_delivery_through_library_verdict() -> None:
    body, headers, _ = signed(b'{"a":1}', SECRET_OLD)
    assert library_verdict([Webhook(SECRET_NEW), Webhook(SECRET_OLD)], body, headers).valid
    assert library_verdict([], body, headers).reason == "not_configured"


def test_unconfigured_or_misconfigured_secrets_refuse_everything() -> None:
    body, headers, _ = signed(payment_body())
    for secrets in (None, "", "   "):
        adapter = provider(secrets)
        assert not adapter.configured
        assert adapter.config_problem is None
        assert adapter.verify(delivery(body, headers)).reason == "not_configured"
    broken = "whsec_!!!notbase64!!!"
    adapter = provider(f"{SECRET_NEW} {broken}")
    assert not adapter.configured
    assert adapter.config_problem is not None
    assert "secret #2" in adapter.config_problem
    assert broken not in adapter.config_problem
    assert adapter.verify(delivery(body, headers)).reason == "not_configured"


@pytest.mark.parametrize("text", ["whsec_", "whsec_!!!!", "whsec_ab$d", "plain words"])
def test_parse_secrets_refuses_what_is_not_base64(text: str) -> None:
    with pytest.raises(ValueError, match="secret #1"):
        parse_secrets(text)


def test_parse_secrets_accepts_several_and_unprefixed() -> None:
    raw = base64.b64encode(b"r" * 24).decode()
    assert parse_secrets(f" {SECRET_NEW}   {raw} ") == (SECRET_NEW, raw)
    body, headers, _ = signed(payment_body(), raw)
    assert provider(raw).verify(delivery(body, headers)).valid


@pytest.mark.parametrize("kind", list(PaymentEventKind))
def test_every_event_type_maps(kind: PaymentEventKind) -> None:
    body = event_body(kind, "INV-1", 5000)
    event = provider().parse(delivery(body, {"webhook-id": "msg_1"}))
    assert event.kind is kind
    assert event.amount == 5000
    assert event.occurred_at is None
    assert event.provider_reference == ""


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"type": "payment.unknown", "data": {"reference": "INV-1"}}',
        b'{"type": 7, "data": {"reference": "INV-1"}}',
        b'{"data": {"reference": "INV-1"}}',
        b'{"type": "payment.succeeded"}',
        b'{"type": "payment.succeeded", "data": []}',
        b'{"type": "payment.succeeded", "data": {"amount": 1}}',
        b'{"type": "payment.succeeded", "data": {"reference": ""}}',
        payment_body(amount=145000.5),
        payment_body(amount=145000.0),
        payment_body(amount="145000"),
        payment_body(amount=True),
        payment_body(amount=-5),
        payment_body(occurred_at="yesterday"),
        payment_body(occurred_at="2026-11-12T08:15:03"),  # no offset
        payment_body(occurred_at=1763000000),
    ],
)
def test_unmappable_bodies_raise_malformed_webhook(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        provider().parse(delivery(body, {"webhook-id": "msg_1"}))


def test_parse_needs_the_webhook_id() -> None:
    with pytest.raises(MalformedWebhook, match="webhook-id"):
        provider().parse(delivery(payment_body(), {}))


async def test_api_is_a_link_under_api_url_or_nothing() -> None:
    request = PaymentRequest(
        reference="INV 2026/11", amount=145000, description="d", customer_email="a@example.com"
    )
    link = await provider().create_payment(request)
    assert link.url == "https://pay.example.com/p/INV%202026%2F11"
    assert link.provider == "standard"
    no_api = StandardWebhooksProvider(secrets=SECRET_NEW)
    with pytest.raises(ProviderError, match="api_url") as caught:
        await no_api.create_payment(request)
    assert SECRET_NEW not in str(caught.value)
    assert await provider().fetch_payment("INV-1") is None
    assert await provider().list_payments(datetime(2026, 1, 1, tzinfo=UTC)) == []
    assert await provider().retry_charge("INV-1") is False


def test_provider_sign_uses_every_configured_secret() -> None:
    adapter = provider()
    headers = adapter.sign(b"{}", MSG_ID, datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert adapter.verify(delivery(b"{}", headers)).valid
    with pytest.raises(ProviderError, match="not configured"):
        provider(None).sign(b"{}", MSG_ID, datetime.now(UTC))


def test_no_secret_header_but_authorization() -> None:
    assert provider().secret_headers() == frozenset(
        {"authorization", "proxy-authorization", "cookie"}
    )
