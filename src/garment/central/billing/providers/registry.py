"""The payment providers of this installation, by the names used in paths and commands."""

from __future__ import annotations

from collections.abc import Iterable

from garment.central.billing.providers.base import PaymentProvider
from garment.central.billing.providers.midtrans import MidtransProvider
from garment.central.billing.providers.sandbox import SandboxProvider
from garment.central.billing.providers.standard import StandardWebhooksProvider
from garment.central.billing.providers.xendit import XenditProvider
from garment.config import Settings

PROVIDER_NAMES = ("xendit", "midtrans", "standard", "sandbox")


class ProviderRegistry:
    """Every adapter, built once from settings. Unconfigured adapters are present (their
    webhooks are refused as `not_configured`), so every provider name has an ingress."""

    def __init__(self, providers: Iterable[PaymentProvider]) -> None:
        self._providers: dict[str, PaymentProvider] = {}
        for provider in providers:
            if provider.name in self._providers:
                raise ValueError(f"two payment providers are named {provider.name!r}")
            self._providers[provider.name] = provider

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderRegistry:
        return cls(
            [
                XenditProvider.from_settings(settings),
                MidtransProvider.from_settings(settings),
                StandardWebhooksProvider.from_settings(settings),
                SandboxProvider.from_settings(settings),
            ]
        )

    def get(self, name: str) -> PaymentProvider:
        """The provider called `name`; `KeyError` for an unknown name (the ingress: 404)."""
        try:
            return self._providers[name]
        except KeyError:
            raise KeyError(name) from None

    def names(self) -> list[str]:
        return list(self._providers)

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    def configured_names(self) -> list[str]:
        return [name for name, provider in self._providers.items() if provider.configured]

    def problems(self) -> list[str]:
        """Configuration mistakes that leave a provider unconfigured (for `garment doctor`);
        they name the setting, never a secret."""
        found = []
        for provider in self._providers.values():
            problem = getattr(provider, "config_problem", None)
            if isinstance(problem, str):
                found.append(problem)
        return found
