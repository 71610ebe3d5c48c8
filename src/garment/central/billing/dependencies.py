"""Billing's services for routers (built once by the composition root, found on the app)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.central.billing.providers.sandbox import sandbox_secret
from garment.central.billing.service import BillingService, BillingWebhookForensicService
from garment.config import Environment
from garment.platform.http.dependencies import app_services


async def billing_service(request: Request) -> BillingService:
    return cast(BillingService, app_services(request).billing)


async def webhook_service(request: Request) -> BillingWebhookForensicService:
    return cast(BillingWebhookForensicService, app_services(request).billing_webhooks)


Billing = Annotated[BillingService, Depends(billing_service)]
BillingWebhooks = Annotated[BillingWebhookForensicService, Depends(webhook_service)]


async def sandbox_secret_of(request: Request) -> str | None:
    """The sandbox's secret, or None in production (its payment page does not exist there)."""
    settings = app_services(request).settings
    if settings.environment is Environment.PRODUCTION:
        return None
    return sandbox_secret(settings)


SandboxSecret = Annotated[str | None, Depends(sandbox_secret_of)]
