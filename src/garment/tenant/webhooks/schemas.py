"""Request and response bodies of outbound webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.webhooks.events import EVENT_TYPES
from garment.tenant.webhooks.states import (
    AttemptOutcome,
    AttemptTrigger,
    EndpointStatus,
    MessageStatus,
)

# The catalogue as an enum, so the OpenAPI document lists the accepted names.
EventType = StrEnum("EventType", {name.replace(".", "_").upper(): name for name in EVENT_TYPES})  # type: ignore[misc]

Url = Annotated[
    str,
    StringConstraints(min_length=8, max_length=2000, pattern=r"^[hH][tT][tT][pP][sS]?://\S+$"),
    Field(examples=["https://erp.example.co.id/hooks/garment"]),
]
Description = Annotated[str, StringConstraints(max_length=500, pattern=TRIMMED_TEXT)]
EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(EVENT_TYPES), examples=[["order.confirmed"]]),
]
WEBHOOK_ID_PATTERN = r"^msg_[0-9a-f]{32}$"


class EndpointCreate(RequestBody):
    url: Url
    event_types: EventTypes
    description: Description | None = None
    status: EndpointStatus = EndpointStatus.ENABLED


class EndpointUpdate(RequestBody):
    """Only the members sent change; `null` clears the description and leaves the rest."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    status: EndpointStatus | None = None


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    status: EndpointStatus
    disabled_reason: str | None = Field(
        description="Why it is disabled: `gone` after the endpoint answered 410; null when a "
        "member disabled it or it is enabled."
    )
    version: int = Field(description="The version to send back as If-Match (also the ETag).")
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(
        description="The `whsec_...` signing secret. Shown only in this answer (create, "
        "rotate): store it now.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class EndpointList(BaseModel):
    data: list[EndpointOut]
    meta: PageMeta


class EventTypeOut(BaseModel):
    name: str
    description_id: str
    description_en: str


class EventTypeList(BaseModel):
    data: list[EventTypeOut]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    webhook_id: str = Field(description="`webhook-id` header of every attempt of the message.")
    event_type: str
    sequence: int = Field(description="Its place in the endpoint's send order.")
    status: MessageStatus
    attempts: int = Field(description="Attempts since it was created or last replayed.")
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class MessageDetail(MessageOut):
    payload: str = Field(description="The exact body sent (UTF-8 JSON).")


class MessageList(BaseModel):
    data: list[MessageOut]
    meta: PageMeta


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    webhook_id: str
    trigger: AttemptTrigger
    outcome: AttemptOutcome
    status_code: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None = Field(description="The first 1,000 characters of the answer.")
    attempted_at: datetime


class AttemptList(BaseModel):
    data: list[AttemptOut]
    meta: PageMeta
