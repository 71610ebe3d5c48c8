"""The sandbox: its generated secret (once, 0600, never in production), simulated deliveries
that the sandbox adapter verifies, and forged ones it refuses."""

from __future__ import annotations

import json
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from garment.central.billing.providers.base import PaymentEventKind, PaymentRequest
from garment.central.billing.providers.sandbox import (
    SECRET_FILE,
    SandboxProvider,
    build_simulated_delivery,
    generated_secret,
    new_secret,
    sandbox_secret,
)
from garment.central.billing.providers.standard import StandardWebhooksProvider, parse_secrets
from garment.config import Environment, Settings
from tests.billing.providers.stubs import delivery

SECRET = new_secret()


def adapter(secret: str | None = SECRET) -> SandboxProvider:
    return SandboxProvider(secret=secret, public_url="http://127.0.0.1:8000/")


def test_simulated_payment_verifies_and_parses() -> None:
    body, headers = build_simulated_delivery("INV-2026-11-0001", 145000, fail=False, secret=SECRET)
    received = delivery(body, headers)
    sandbox = adapter()
    assert sandbox.verify(received).valid
    event = sandbox.parse(received)
    assert event.provider == "sandbox"
    assert event.kind is PaymentEventKind.SUCCEEDED
    assert event.reference == "INV-2026-11-0001"
    assert event.amount == 145000
    assert event.event_id == headers["webhook-id"]
    assert event.provider_reference == "sandbox_INV-2026-11-0001"
    assert event.occurred_at is not None
    assert headers["content-type"] == "application/json"


def test_simulated_failure() -> None:
    body, headers = build_simulated_delivery("INV-1", 145000, fail=True, secret=SECRET)
    event = adapter().parse(delivery(body, headers))
    assert event.kind is PaymentEventKind.FAILED


def test_each_simulation_is_a_new_event_unless_the_id_is_given() -> None:
    first = build_simulated_delivery("INV-1", 1, fail=False, secret=SECRET)[1]["webhook-id"]
    second = build_simulated_delivery("INV-1", 1, fail=False, secret=SECRET)[1]["webhook-id"]
    assert first != second
    fixed = build_simulated_delivery("INV-1", 1, fail=False, secret=SECRET, msg_id="msg_fixed")
    assert fixed[1]["webhook-id"] == "msg_fixed"


def test_forged_sandbox_deliveries_are_refused() -> None:
    sandbox = adapter()
    body, headers = build_simulated_delivery("INV-1", 145000, fail=False, secret=new_secret())
    assert sandbox.verify(delivery(body, headers)).reason == "signature_mismatch"

    body, headers = build_simulated_delivery("INV-1", 145000, fail=False, secret=SECRET)
    altered = body.replace(b"145000", b"1000")
    assert sandbox.verify(delivery(altered, headers)).reason == "signature_mismatch"

    old = datetime.now(UTC) - timedelta(minutes=10)
    body, headers = build_simulated_delivery("INV-1", 1, fail=False, secret=SECRET, now=old)
    assert sandbox.verify(delivery(body, headers)).reason == "timestamp_out_of_tolerance"

    body, headers = build_simulated_delivery("INV-1", 1, fail=False, secret=SECRET)
    for broken in ("garbage", "v1,", "v1,abc", "v2," + headers["webhook-signature"][3:]):
        forged = {**headers, "webhook-signature": broken}
        assert sandbox.verify(delivery(body, forged)).reason == "malformed_header"
    assert sandbox.verify(delivery(body, {})).reason == "missing_header"


def test_the_sandbox_and_standard_secrets_are_separate() -> None:
    body, headers = build_simulated_delivery("INV-1", 1, fail=False, secret=SECRET)
    standard = StandardWebhooksProvider(secrets=new_secret())
    assert standard.verify(delivery(body, headers)).reason == "signature_mismatch"


async def test_create_payment_is_a_local_url() -> None:
    expires_at = datetime(2026, 11, 13, tzinfo=UTC)
    request = PaymentRequest(
        reference="INV-2026-11-0001",
        amount=145000,
        description="Growth",
        customer_email="owner@example.com",
        expires_at=expires_at,
    )
    link = await adapter().create_payment(request)
    assert link.provider == "sandbox"
    assert link.url == "http://127.0.0.1:8000/billing/sandbox/pay/INV-2026-11-0001"
    assert link.provider_reference == "sandbox_INV-2026-11-0001"
    assert link.expires_at == expires_at
    assert await adapter().fetch_payment("INV-2026-11-0001") is None
    assert await adapter().list_payments(expires_at) == []
    assert await adapter().retry_charge("INV-2026-11-0001") is False


def test_unconfigured_sandbox_refuses_everything() -> None:
    body, headers = build_simulated_delivery("INV-1", 1, fail=False, secret=SECRET)
    assert adapter(None).verify(delivery(body, headers)).reason == "not_configured"
    broken = adapter("whsec_***")
    assert not broken.configured
    assert broken.config_problem is not None
    assert "billing.sandbox.secret" in broken.config_problem


def test_new_secrets_are_valid_whsec_secrets() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert parse_secrets(secret) == (secret,)
    assert secret != new_secret()


# The generated secret -------------------------------------------------------------------------


def settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path, **overrides)  # type: ignore[arg-type]


def test_embedded_default_generates_the_secret_once_with_mode_0600(tmp_path: Path) -> None:
    config = settings(tmp_path)
    assert config.uses_embedded_database
    first = sandbox_secret(config)
    assert first is not None
    path = tmp_path / SECRET_FILE
    assert path.read_text(encoding="utf-8") == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sandbox_secret(config) == first  # read back, not regenerated
    assert SandboxProvider.from_settings(config).configured
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_concurrent_first_use_agrees_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "nested" / SECRET_FILE
    results: list[str] = []
    lock = threading.Lock()

    def generate() -> None:
        secret = generated_secret(path)
        with lock:
            results.append(secret)

    threads = [threading.Thread(target=generate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert results[0] == path.read_text(encoding="utf-8")


def test_a_configured_secret_wins_and_nothing_is_written(tmp_path: Path) -> None:
    configured = new_secret()
    config = settings(tmp_path, billing={"sandbox": {"secret": configured}})
    assert sandbox_secret(config) == configured
    assert not (tmp_path / SECRET_FILE).exists()


def test_production_never_generates_a_sandbox_secret(tmp_path: Path) -> None:
    config = settings(tmp_path, environment=Environment.PRODUCTION)
    assert sandbox_secret(config) is None
    assert not (tmp_path / SECRET_FILE).exists()
    assert not SandboxProvider.from_settings(config).configured
    explicit = settings(
        tmp_path,
        environment=Environment.PRODUCTION,
        billing={"sandbox": {"secret": SecretStr(SECRET)}},
    )
    assert sandbox_secret(explicit) == SECRET


def test_simulated_delivery_body_is_the_standard_shape() -> None:
    body, _ = build_simulated_delivery("INV-9", 7, fail=False, secret=SECRET)
    payload = json.loads(body)
    assert payload["type"] == "payment.succeeded"
    assert payload["data"]["reference"] == "INV-9"
    assert payload["data"]["amount"] == 7
    assert datetime.fromisoformat(payload["data"]["occurred_at"]).tzinfo is not None


@pytest.mark.parametrize("fail", [True, False])
def test_simulated_deliveries_verify_with_the_generated_secret(tmp_path: Path, fail: bool) -> None:
    config = settings(tmp_path)
    secret = sandbox_secret(config)
    assert secret is not None
    body, headers = build_simulated_delivery("INV-1", 1, fail=fail, secret=secret)
    assert SandboxProvider.from_settings(config).verify(delivery(body, headers)).valid
