"""Pure rules of outbound webhooks: the retry schedule, the SSRF guard, the signature headers,
the event mapping and the frozen body."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from garment.config import Environment, WebhookSettings
from garment.tenant.webhooks.delivery import (
    WebhookSender,
    is_public_address,
    private_targets_allowed,
    sign_headers,
)
from garment.tenant.webhooks.events import EVENT_TYPES, MAPPINGS, public_events
from garment.tenant.webhooks.service import backoff, new_secret


def test_the_default_retry_schedule_doubles_and_is_capped() -> None:
    settings = WebhookSettings()
    waits = [backoff(settings, attempt) for attempt in range(1, settings.max_attempts)]
    assert waits[:4] == [timedelta(seconds=s) for s in (15, 30, 60, 120)]
    assert all(later >= earlier for earlier, later in itertools.pairwise(waits))
    assert max(waits) <= timedelta(seconds=settings.retry_max_seconds)
    capped = WebhookSettings(retry_base_seconds=100, retry_max_seconds=150)
    assert backoff(capped, 5) == timedelta(seconds=150)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.8", False),
        ("172.16.3.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_only_public_addresses_pass_the_guard(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_private_targets_follow_the_environment_unless_set() -> None:
    from garment.config import Settings

    assert private_targets_allowed(Settings(environment=Environment.DEVELOPMENT))
    assert not private_targets_allowed(Settings(environment=Environment.PRODUCTION))
    assert private_targets_allowed(
        Settings(environment=Environment.PRODUCTION, webhooks={"allow_private_targets": True})
    )


async def test_the_sender_refuses_names_that_resolve_to_private_addresses() -> None:
    sender = WebhookSender(WebhookSettings(), allow_private=False)
    assert await sender.blocked_reason("http://localhost:8000/x") == "target_not_public"
    assert await sender.blocked_reason("http://127.0.0.1/x") == "target_not_public"
    assert await sender.blocked_reason("http://8.8.8.8/x") is None
    allowing = WebhookSender(WebhookSettings(), allow_private=True)
    assert await allowing.blocked_reason("http://127.0.0.1/x") is None


def test_signature_headers_verify_with_standardwebhooks() -> None:
    secret = new_secret()
    body = '{"type":"order.created","data":{"number":"SO-1","note":"kaos hitam ü"}}'.encode()
    headers = sign_headers("msg_" + "a" * 32, body, [secret], datetime.now(UTC))
    assert Webhook(secret).verify(body, headers)["data"]["number"] == "SO-1"
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_every_mapping_targets_a_catalogue_event() -> None:
    targets = {mapping.event_type for mappings in MAPPINGS.values() for mapping in mappings}
    assert targets == set(EVENT_TYPES)


def test_a_public_body_is_frozen_bytes_with_a_fixed_id() -> None:
    event_id = uuid.uuid4()
    moment = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    payload = {
        "tenant_id": str(uuid.uuid4()),
        "order_id": str(uuid.uuid4()),
        "number": "SO-7",
        "from_status": "draft",
        "to_status": "confirmed",
        "version": 2,
    }
    first = public_events("orders.OrderStatusChanged", event_id, moment, payload)
    again = public_events("orders.OrderStatusChanged", event_id, moment, payload)
    assert [event.event_type for event in first] == ["order.confirmed", "order.status_changed"]
    assert first == again  # same ids and the same bytes
    envelope = json.loads(first[0].body)
    assert envelope == {"type": "order.confirmed", "timestamp": moment.isoformat(), "data": payload}
    other = public_events(
        "orders.OrderStatusChanged", event_id, moment, {**payload, "to_status": "ready"}
    )
    assert [event.event_type for event in other] == ["order.status_changed"]
    assert public_events("customers.CustomerCreated", event_id, moment, payload) == []


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "http://host:99999/x", "http://host:abc/x", "mailto://x", "http:///nohost"],
)
def test_malformed_urls_are_a_field_error_not_a_crash(url: str) -> None:
    from garment.tenant.webhooks.service import url_problem

    assert url_problem(url, allow_private=True) is not None


async def test_the_sender_records_a_malformed_url_as_a_failed_attempt() -> None:
    sender = WebhookSender(WebhookSettings(), allow_private=False)
    assert await sender.blocked_reason("http://[::1/x") == "invalid_url"
    result = await WebhookSender(WebhookSettings(), allow_private=True).send(
        "http://%zz%/x", "msg_" + "0" * 32, b"{}", [new_secret()]
    )
    assert result.outcome.value == "failed"


async def test_redirects_are_not_followed_and_slow_answers_time_out() -> None:
    import asyncio

    import httpx

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            await asyncio.sleep(1)
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"location": "http://169.254.169.254/"})
        return httpx.Response(200, content=b"x" * 100_000)

    sender = WebhookSender(
        WebhookSettings(timeout_seconds=0.2),
        allow_private=True,
        transport=httpx.MockTransport(answer),
    )
    secret = [new_secret()]
    moved = await sender.send("http://erp.test/moved", "msg_" + "1" * 32, b"{}", secret)
    assert (moved.outcome.value, moved.status_code, moved.error) == (
        "failed",
        302,
        "redirect_not_followed",
    )
    slow = await sender.send("http://erp.test/slow", "msg_" + "1" * 32, b"{}", secret)
    assert (slow.outcome.value, slow.error) == ("failed", "timeout")
    big = await sender.send("http://erp.test/big", "msg_" + "1" * 32, b"{}", secret)
    assert big.outcome.value == "succeeded"
    assert big.response_excerpt is not None and len(big.response_excerpt) == 1000
