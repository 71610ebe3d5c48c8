"""Bodies of the tracking-link routes (staff) and of the public tracking view (the end
customer). The public view carries only what the customer may see: the order's number, status,
dates and totals, per-size progress and deliveries; never line prices, notes, the customer
record or anything of another order."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.orders.states import OrderStatus
from garment.tenant.tracking.states import TrackingLinkStatus

DEFAULT_EXPIRY_DAYS = 60
MAX_EXPIRY_DAYS = 365

LinkLabel = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=TRIMMED_TEXT)]


class TrackingLinkCreate(RequestBody):
    expires_in_days: int = Field(
        DEFAULT_EXPIRY_DAYS,
        ge=1,
        le=MAX_EXPIRY_DAYS,
        description="Days until the link stops working (default 60).",
    )
    label: LinkLabel | None = Field(
        None,
        description="Who the link was shared with, for the staff list (never shown).",
        examples=["Grup WA panitia"],
    )


class TrackingLinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_id: uuid.UUID
    label: str | None
    status: TrackingLinkStatus
    expires_at: datetime
    revoked_at: datetime | None
    view_count: int = Field(description="Times the page or its JSON was opened.")
    last_viewed_at: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime


class TrackingLinkCreated(TrackingLinkOut):
    token: str = Field(
        description="The secret part of the link. Shown once: only its hash is stored."
    )
    url: str = Field(description="The page to share (`{public_url}/t/{token}`).")
    api_url: str = Field(description="The same data as JSON (`/api/v1/public/tracking/{token}`).")


class TrackingLinkList(BaseModel):
    data: list[TrackingLinkOut]
    meta: PageMeta


# --- the public view --------------------------------------------------------------------------


class StageProgress(BaseModel):
    stage: str = Field(description="The stage code (`potong`, `jahit`, ...).")
    label: str = Field(description="The stage's name in the page's language.")
    done: int = Field(description="Pieces of this size out of the stage.")


class SizeProgress(BaseModel):
    size: str
    ordered: int
    stages: list[StageProgress] = Field(description="Empty before production starts.")
    delivered: int


class LineProgress(BaseModel):
    product: str = Field(description="The design's name.")
    color: str
    quantity: int
    sizes: list[SizeProgress]


class StageName(BaseModel):
    stage: str
    label: str


class DeliveryView(BaseModel):
    number: str = Field(description="The delivery note (`SJ/2026/000045`).")
    delivered_on: date
    quantity: int
    sizes: dict[str, int] = Field(description="Pieces per size on this note.")


class TrackingView(BaseModel):
    business: str = Field(description="The shop's name.")
    order_number: str
    status: OrderStatus
    status_label: str
    order_date: date
    due_date: date | None
    quantity: int
    total: int = Field(description="The order's total in rupiah (PPN included where charged).")
    down_payment_due: int
    paid_amount: int
    balance: int
    in_production: bool
    stages: list[StageName] = Field(description="Every stage the order's lines pass, in order.")
    lines: list[LineProgress]
    deliveries: list[DeliveryView]
    expires_at: datetime = Field(description="When this link stops working.")
    generated_at: datetime
    locale: str = Field(description="`id` or `en`: the language of the labels.")
