"""The webhook service, the chain of webhook routes (permission, then the plan feature) and
the page parameters of the lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.context import RequirePermission, TenantMember
from garment.tenant.webhooks.service import WebhookService


async def webhook_service(request: Request) -> WebhookService:
    return cast(WebhookService, app_services(request).webhooks)


Webhooks = Annotated[WebhookService, Depends(webhook_service)]


def with_feature(permission: str) -> Callable[..., Awaitable[TenantMember]]:
    """The member holding `permission` on a plan with the `webhooks` feature (402 without)."""

    async def member_on_plan(
        member: Annotated[TenantMember, Depends(RequirePermission(permission))],
        webhooks: Webhooks,
    ) -> TenantMember:
        webhooks.require_feature(member.tenant.plan_code)
        return member

    return member_on_plan


WebhookViewer = Annotated[TenantMember, Depends(with_feature("webhooks.view"))]
WebhookManager = Annotated[TenantMember, Depends(with_feature("webhooks.manage"))]
EndpointPage = Annotated[PageParams, Depends(WebhookService.endpoint_keyset.params())]
MessagePage = Annotated[PageParams, Depends(WebhookService.message_keyset.params())]
AttemptPage = Annotated[PageParams, Depends(WebhookService.attempt_keyset.params())]
