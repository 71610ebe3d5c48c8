"""The webhook service, the chain of webhook routes (permission, then the plan feature) and
the page parameters of the lists."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.context import RequirePermission, TenantMember, UsableTenantMember
from garment.tenant.webhooks.service import WebhookService


async def webhook_service(request: Request) -> WebhookService:
    return cast(WebhookService, app_services(request).webhooks)


Webhooks = Annotated[WebhookService, Depends(webhook_service)]


class RequireWebhookPermission(RequirePermission):
    """Step 7 of the webhook routes: the permission, then the plan feature `webhooks` (402
    `PLAN_FEATURE_UNAVAILABLE` without it; a 403 comes first, so a member without the
    permission learns nothing about the plan)."""

    async def __call__(self, request: Request, member: UsableTenantMember) -> TenantMember:
        member = await RequirePermission.__call__(self, request, member)
        cast(WebhookService, app_services(request).webhooks).require_feature(
            member.tenant.plan_code
        )
        return member


WebhookViewer = Annotated[TenantMember, Depends(RequireWebhookPermission("webhooks.view"))]
WebhookManager = Annotated[TenantMember, Depends(RequireWebhookPermission("webhooks.manage"))]
EndpointPage = Annotated[PageParams, Depends(WebhookService.endpoint_keyset.params())]
MessagePage = Annotated[PageParams, Depends(WebhookService.message_keyset.params())]
AttemptPage = Annotated[PageParams, Depends(WebhookService.attempt_keyset.params())]
