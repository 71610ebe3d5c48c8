"""Outbound webhook endpoints on the Tenant API (`webhooks.view`, `webhooks.manage`; plan
feature `webhooks`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Query, Request, Response, status

from garment.platform.errors import CONFLICT, RESOURCE_NOT_FOUND, VALIDATION_FAILED
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.platform.pagination import PageMeta
from garment.tenant.context import TENANT_CHAIN_ERRORS, TenantSession
from garment.tenant.conventions.dependencies import (
    IDEMPOTENCY_ERRORS,
    ConventionRoute,
    Idempotent,
    IfMatch,
    etag_response,
    set_etag,
)
from garment.tenant.conventions.errors import PLAN_FEATURE_UNAVAILABLE
from garment.tenant.webhooks.dependencies import (
    AttemptPage,
    EndpointPage,
    MessagePage,
    WebhookManager,
    Webhooks,
    WebhookViewer,
)
from garment.tenant.webhooks.errors import WEBHOOK_ENDPOINT_DISABLED
from garment.tenant.webhooks.events import EVENT_TYPES
from garment.tenant.webhooks.schemas import (
    WEBHOOK_ID_PATTERN,
    AttemptList,
    AttemptOut,
    EndpointCreate,
    EndpointList,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecret,
    EventTypeList,
    EventTypeOut,
    MessageDetail,
    MessageList,
    MessageOut,
)
from garment.tenant.webhooks.states import MessageStatus

router = Router(prefix="/tenant/webhook-endpoints", tags=["tenant"], route_class=ConventionRoute)
event_types_router = Router(
    prefix="/tenant/webhook-event-types", tags=["tenant"], route_class=ConventionRoute
)

CHAIN = (*TENANT_CHAIN_ERRORS, PLAN_FEATURE_UNAVAILABLE)
WebhookId = Annotated[
    str, Path(pattern=WEBHOOK_ID_PATTERN, description="The message's `webhook-id` (msg_...).")
]


@event_types_router.get(
    "",
    response_model=EventTypeList,
    summary="The events an endpoint can select",
    responses=error_responses(*CHAIN),
)
async def list_event_types(member: WebhookViewer) -> EventTypeList:
    return EventTypeList(
        data=[
            EventTypeOut(name=name, description_id=texts[0], description_en=texts[1])
            for name, texts in EVENT_TYPES.items()
        ]
    )


@router.get(
    "",
    response_model=EndpointList,
    summary="Webhook endpoints, newest first",
    responses=error_responses(*CHAIN, VALIDATION_FAILED),
)
async def list_endpoints(
    member: WebhookViewer, webhooks: Webhooks, db: TenantSession, page: EndpointPage
) -> EndpointList:
    rows, cursor = await webhooks.list_endpoints(db, member.tenant_id, page)
    return EndpointList(
        data=[EndpointOut.model_validate(row) for row in rows],
        meta=PageMeta(next_cursor=cursor, limit=page.limit),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointWithSecret,
    summary="Create an endpoint; the answer carries its signing secret, shown only now "
    "(Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created.", location="The new endpoint."),
        **error_responses(*CHAIN, VALIDATION_FAILED, *IDEMPOTENCY_ERRORS),
    },
)
async def create_endpoint(
    body: EndpointCreate,
    member: WebhookManager,
    webhooks: Webhooks,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> EndpointWithSecret:
    endpoint, secret = await webhooks.create(
        db, member.tenant_id, member.user_id, body.model_dump(mode="json")
    )
    response.headers["Location"] = request.url_for(
        "get_endpoint", endpoint_id=str(endpoint.id)
    ).path
    set_etag(response, endpoint.version)
    return EndpointWithSecret.model_validate(
        {**EndpointOut.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.get(
    "/{endpoint_id}",
    response_model=EndpointOut,
    summary="One endpoint (its ETag is its version; the secret is never shown again)",
    responses={
        **etag_response(200, "The endpoint."),
        **error_responses(*CHAIN, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def get_endpoint(
    endpoint_id: uuid.UUID,
    member: WebhookViewer,
    webhooks: Webhooks,
    db: TenantSession,
    response: Response,
) -> EndpointOut:
    endpoint = await webhooks.get(db, member.tenant_id, endpoint_id)
    set_etag(response, endpoint.version)
    return EndpointOut.model_validate(endpoint)


@router.patch(
    "/{endpoint_id}",
    response_model=EndpointOut,
    summary="Change url, events, description or status (If-Match; enabling resumes pending "
    "messages)",
    responses={
        **etag_response(200, "The changed endpoint."),
        **error_responses(*CHAIN, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT),
    },
)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: EndpointUpdate,
    member: WebhookManager,
    webhooks: Webhooks,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> EndpointOut:
    endpoint = await webhooks.update(
        db,
        central,
        member.tenant_id,
        member.user_id,
        endpoint_id,
        body.model_dump(mode="json", exclude_unset=True),
        expected_version=expected,
    )
    set_etag(response, endpoint.version)
    return EndpointOut.model_validate(endpoint)


@router.delete(
    "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an endpoint with its messages and delivery log (If-Match)",
    responses=error_responses(*CHAIN, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT),
)
async def delete_endpoint(
    endpoint_id: uuid.UUID,
    member: WebhookManager,
    webhooks: Webhooks,
    db: TenantSession,
    expected: IfMatch,
) -> Response:
    await webhooks.delete(
        db, member.tenant_id, member.user_id, endpoint_id, expected_version=expected
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    summary="A new signing secret, shown only now; the previous one also signs for 24 hours "
    "(If-Match)",
    responses={
        **etag_response(200, "The endpoint with its new secret."),
        **error_responses(*CHAIN, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT),
    },
)
async def rotate_secret(
    endpoint_id: uuid.UUID,
    member: WebhookManager,
    webhooks: Webhooks,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> EndpointWithSecret:
    endpoint, secret = await webhooks.rotate_secret(
        db, member.tenant_id, member.user_id, endpoint_id, expected_version=expected
    )
    set_etag(response, endpoint.version)
    return EndpointWithSecret.model_validate(
        {**EndpointOut.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.get(
    "/{endpoint_id}/messages",
    response_model=MessageList,
    summary="The endpoint's messages, latest in send order first",
    responses=error_responses(*CHAIN, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def list_messages(
    endpoint_id: uuid.UUID,
    member: WebhookViewer,
    webhooks: Webhooks,
    db: TenantSession,
    page: MessagePage,
    status_filter: Annotated[
        MessageStatus | None, Query(alias="status", description="Only messages in this status.")
    ] = None,
) -> MessageList:
    rows, cursor = await webhooks.list_messages(
        db, member.tenant_id, endpoint_id, status_filter, page
    )
    return MessageList(
        data=[MessageOut.model_validate(row) for row in rows],
        meta=PageMeta(next_cursor=cursor, limit=page.limit),
    )


@router.get(
    "/{endpoint_id}/messages/{webhook_id}",
    response_model=MessageDetail,
    summary="One message with the exact body it sends",
    responses=error_responses(*CHAIN, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def get_message(
    endpoint_id: uuid.UUID,
    webhook_id: WebhookId,
    member: WebhookViewer,
    webhooks: Webhooks,
    db: TenantSession,
) -> MessageDetail:
    message = await webhooks.get_message(db, member.tenant_id, endpoint_id, webhook_id)
    return MessageDetail.model_validate(
        {**MessageOut.model_validate(message).model_dump(), "payload": message.body.decode()}
    )


@router.post(
    "/{endpoint_id}/messages/{webhook_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageOut,
    summary="Send a message again: the identical body and webhook-id, after the endpoint's "
    "earlier pending messages",
    responses=error_responses(
        *CHAIN, VALIDATION_FAILED, RESOURCE_NOT_FOUND, WEBHOOK_ENDPOINT_DISABLED
    ),
)
async def replay_message(
    endpoint_id: uuid.UUID,
    webhook_id: WebhookId,
    member: WebhookManager,
    webhooks: Webhooks,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
) -> MessageOut:
    message = await webhooks.replay(
        db, central, member.tenant_id, member.user_id, endpoint_id, webhook_id
    )
    return MessageOut.model_validate(message)


@router.get(
    "/{endpoint_id}/attempts",
    response_model=AttemptList,
    summary="The endpoint's delivery log, newest attempt first",
    responses=error_responses(*CHAIN, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
)
async def list_attempts(
    endpoint_id: uuid.UUID,
    member: WebhookViewer,
    webhooks: Webhooks,
    db: TenantSession,
    page: AttemptPage,
    webhook_id: Annotated[
        str | None, Query(pattern=WEBHOOK_ID_PATTERN, description="Only this message's attempts.")
    ] = None,
) -> AttemptList:
    rows, cursor = await webhooks.list_attempts(db, member.tenant_id, endpoint_id, webhook_id, page)
    return AttemptList(
        data=[AttemptOut.model_validate(row) for row in rows],
        meta=PageMeta(next_cursor=cursor, limit=page.limit),
    )
