"""The registry: the four names, KeyError for others, adapters built from the documented
environment variables."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from garment.central.billing.providers.base import PaymentProvider
from garment.central.billing.providers.midtrans import MidtransProvider
from garment.central.billing.providers.registry import PROVIDER_NAMES, ProviderRegistry
from garment.central.billing.providers.sandbox import SandboxProvider
from garment.central.billing.providers.standard import StandardWebhooksProvider
from garment.central.billing.providers.xendit import XenditProvider
from garment.config import Settings

WHSEC = "whsec_" + base64.b64encode(b"w" * 32).decode()


def test_names_and_lookup(tmp_path: Path) -> None:
    registry = ProviderRegistry.from_settings(Settings(data_dir=tmp_path))
    assert registry.names() == ["xendit", "midtrans", "standard", "sandbox"]
    assert tuple(registry.names()) == PROVIDER_NAMES
    assert isinstance(registry.get("xendit"), XenditProvider)
    assert isinstance(registry.get("midtrans"), MidtransProvider)
    assert isinstance(registry.get("standard"), StandardWebhooksProvider)
    assert isinstance(registry.get("sandbox"), SandboxProvider)
    for name in registry.names():
        provider = registry.get(name)
        assert isinstance(provider, PaymentProvider)
        assert provider.name == name
    assert "sandbox" in registry
    assert "stripe" not in registry


@pytest.mark.parametrize("name", ["stripe", "", "Xendit", "sandbox/../x"])
def test_unknown_names_raise_key_error(tmp_path: Path, name: str) -> None:
    registry = ProviderRegistry.from_settings(Settings(data_dir=tmp_path))
    with pytest.raises(KeyError):
        registry.get(name)


def test_the_embedded_default_configures_only_the_sandbox(tmp_path: Path) -> None:
    registry = ProviderRegistry.from_settings(Settings(data_dir=tmp_path))
    assert registry.configured_names() == ["sandbox"]
    assert registry.problems() == []


def test_environment_variables_configure_every_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {
        "GARMENT_BILLING__XENDIT__CALLBACK_TOKEN": "xendit-token",
        "GARMENT_BILLING__XENDIT__API_KEY": "xnd_development_key",
        "GARMENT_BILLING__XENDIT__API_URL": "http://127.0.0.1:1/xendit",
        "GARMENT_BILLING__MIDTRANS__SERVER_KEY": "SB-Mid-server-key",
        "GARMENT_BILLING__MIDTRANS__API_URL": "http://127.0.0.1:1/core",
        "GARMENT_BILLING__MIDTRANS__SNAP_URL": "http://127.0.0.1:1/snap",
        "GARMENT_BILLING__STANDARD_WEBHOOKS__SECRET": f"{WHSEC} {WHSEC}",
        "GARMENT_BILLING__SANDBOX__SECRET": WHSEC,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings(data_dir=tmp_path)
    billing = settings.billing
    assert billing.xendit.callback_token is not None
    assert billing.xendit.callback_token.get_secret_value() == "xendit-token"
    assert billing.xendit.api_key is not None
    assert billing.xendit.api_url == "http://127.0.0.1:1/xendit"
    assert billing.midtrans.server_key is not None
    assert billing.midtrans.api_url == "http://127.0.0.1:1/core"
    assert billing.midtrans.snap_url == "http://127.0.0.1:1/snap"
    assert billing.standard_webhooks.secret is not None
    assert billing.sandbox.secret is not None
    registry = ProviderRegistry.from_settings(settings)
    assert registry.configured_names() == list(PROVIDER_NAMES)
    assert not (tmp_path / "billing_sandbox_secret").exists()  # configured: nothing generated


def test_defaults_point_at_the_providers_sandboxes() -> None:
    billing = Settings().billing
    assert billing.xendit.api_url == "https://api.xendit.co"
    assert billing.midtrans.api_url == "https://api.sandbox.midtrans.com"
    assert billing.midtrans.snap_url == "https://app.sandbox.midtrans.com"
    assert billing.standard_webhooks.api_url is None
    assert billing.provider_timeout_seconds == 10.0


def test_a_malformed_secret_is_a_problem_named_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GARMENT_BILLING__STANDARD_WEBHOOKS__SECRET", "whsec_$$secret-value$$")
    registry = ProviderRegistry.from_settings(Settings(data_dir=tmp_path))
    assert "standard" not in registry.configured_names()
    (problem,) = registry.problems()
    assert "billing.standard_webhooks.secret" in problem
    assert "secret-value" not in problem


def test_duplicate_names_are_refused() -> None:
    twice = [XenditProvider(callback_token=None, api_key=None)] * 2
    with pytest.raises(ValueError, match="xendit"):
        ProviderRegistry(twice)
