"""Request and response bodies of sales: orders with a size grid per line, payments, the sales
policy, quotations with revisions and delivery notes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.orders.states import (
    ArtworkStatus,
    DownPaymentKind,
    OrderStatus,
    PaymentMethod,
    QuotationStatus,
)
from garment.tenant.products.schemas import ColorCode, SizeCode
from garment.tenant.products.schemas import Pieces as CatalogPieces
from garment.tenant.products.schemas import Rupiah as CatalogRupiah

# Integers only (never `true` or `2.0`).
Rupiah = Annotated[CatalogRupiah, Field(strict=True)]
Pieces = Annotated[CatalogPieces, Field(strict=True)]
Notes = Annotated[str, StringConstraints(max_length=2000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TRIMMED_TEXT)]
Reference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=TRIMMED_TEXT),
    Field(examples=["https://drive.example/bukti-transfer-0123.jpg"]),
]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TRIMMED_TEXT)]


# Day-to-day dates: a year 2000-2999 keeps numbering and ageing sane.
def _iso_text(value: object) -> object:
    """A day travels as `YYYY-MM-DD` text only (never a number, which pydantic would read as a
    timestamp)."""
    if not isinstance(value, (str, date)):
        raise ValueError("a day is YYYY-MM-DD text")
    return value


BusinessDate = Annotated[
    date, BeforeValidator(_iso_text), Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))
]
Breakdown = Annotated[
    dict[SizeCode, Annotated[int, Field(strict=True, ge=1, le=1_000_000)]],
    Field(
        min_length=1,
        max_length=30,
        description='Pieces per size of the product, e.g. `{"S": 10, "M": 20}`.',
        examples=[{"S": 10, "M": 20, "L": 15, "XL": 5, "XXL": 2}],
    ),
]
# An edit of the grid: a size with 0 leaves the line.
BreakdownEdit = Annotated[
    dict[SizeCode, Annotated[int, Field(strict=True, ge=0, le=1_000_000)]],
    Field(
        min_length=1,
        max_length=30,
        description="The cells that change: a size with its new quantity (0 removes it); "
        "sizes not named keep theirs.",
        examples=[{"M": 25}],
    ),
]


class LineIn(RequestBody):
    product_id: uuid.UUID
    color: ColorCode
    sizes: Breakdown


class OrderCreate(RequestBody):
    customer_id: uuid.UUID
    order_date: BusinessDate | None = Field(None, description="Default: today (Asia/Jakarta).")
    due_date: BusinessDate | None = None
    discount: Rupiah = Field(0, description="Whole rupiah off the subtotal.")
    notes: Notes | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=50)


class OrderUpdate(RequestBody):
    """Only the members sent change; `null` clears an optional one."""

    due_date: BusinessDate | None = None
    discount: Rupiah | None = None
    notes: Notes | None = None


class LineSizesUpdate(RequestBody):
    sizes: BreakdownEdit


class ArtworkUpdate(RequestBody):
    status: ArtworkStatus
    file_ref: Reference | None = None
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class TransitionIn(RequestBody):
    to: OrderStatus
    reason: Reason | None = Field(None, description="Kept in the history; required to cancel.")


class PaymentIn(RequestBody):
    method: PaymentMethod
    amount: Annotated[int, Field(strict=True, ge=1, le=1_000_000_000_000, examples=[1_500_000])]
    paid_on: BusinessDate
    proof_reference: Reference | None = None


class SalesPolicyIn(RequestBody):
    down_payment_kind: DownPaymentKind
    down_payment_value: Annotated[
        int,
        Field(
            strict=True,
            ge=0,
            le=1_000_000_000_000,
            description="Percent of the total (0-100) or whole rupiah (fixed).",
        ),
    ]
    pkp: StrictBool = Field(False, description="The tenant charges PPN (tax base 11/12, PPN 12%).")


class SalesPolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    down_payment_kind: DownPaymentKind
    down_payment_value: int
    pkp: bool


class SizeRowOut(BaseModel):
    """One variant row of the grid: line x size."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    variant_id: uuid.UUID
    size: str
    qty: int
    unit_price: int
    amount: int
    delivered: int
    remaining: int


class LineOut(BaseModel):
    id: uuid.UUID
    position: int
    product_id: uuid.UUID
    color: str
    sizes: dict[str, int] = Field(description="The grid as entered, in the product's size order.")
    quantity: int
    amount: int
    artwork_status: ArtworkStatus
    artwork_file_ref: str | None
    artwork_note: str | None
    people: int = Field(description="Persons on the attached names-and-sizes list.")
    rows: list[SizeRowOut]
    version: int


class Totals(BaseModel):
    quantity: int
    subtotal: int
    discount: int
    tax_base: int
    ppn: int
    total: int


class OrderOut(BaseModel):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    quotation_id: uuid.UUID | None
    status: OrderStatus
    order_date: date
    due_date: date | None
    notes: str | None
    quantity: int
    subtotal: int
    discount: int
    tax_base: int
    ppn: int
    total: int
    down_payment_due: int
    paid_amount: int
    balance: int
    version: int = Field(description="The version to send back as If-Match (also the ETag).")
    created_at: datetime
    updated_at: datetime


class OrderDetail(OrderOut):
    lines: list[LineOut]


class OrderList(BaseModel):
    data: list[OrderOut]
    meta: PageMeta


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str | None
    actor_id: uuid.UUID | None
    created_at: datetime


class HistoryList(BaseModel):
    data: list[HistoryOut]


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    order_id: uuid.UUID
    method: PaymentMethod
    amount: int
    paid_on: date
    proof_reference: str | None
    created_at: datetime


class PaymentList(BaseModel):
    data: list[PaymentOut]
    total: int
    paid_amount: int
    balance: int
    down_payment_due: int


class PersonIn(RequestBody):
    name: PersonName
    size: SizeCode
    note: Annotated[str, StringConstraints(max_length=200)] | None = None


class PeopleIn(RequestBody):
    """A names-and-sizes (uniform) list: as CSV text (`name,size[,note]`, a header row is
    optional) or as rows. It replaces the line's list and its breakdown."""

    csv: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] | None = None
    people: list[PersonIn] | None = Field(None, min_length=1, max_length=5000)


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    position: int
    name: str
    size: str
    note: str | None


class PackingEntry(BaseModel):
    line_id: uuid.UUID
    product_id: uuid.UUID
    color: str
    position: int
    name: str
    size: str
    note: str | None


class PackingList(BaseModel):
    order_id: uuid.UUID
    number: str
    data: list[PackingEntry]


# --- quotations ---------------------------------------------------------------------------


class QuotationCreate(RequestBody):
    customer_id: uuid.UUID
    valid_until: BusinessDate
    due_date: BusinessDate | None = None
    discount: Rupiah = 0
    notes: Notes | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=50)


class RevisionCreate(RequestBody):
    valid_until: BusinessDate
    due_date: BusinessDate | None = None
    discount: Rupiah = 0
    notes: Notes | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=50)


class ConvertIn(RequestBody):
    revision: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = Field(
        None, description="The revision the customer accepted (default: the latest)."
    )


class QuotedRowOut(BaseModel):
    size: str
    variant_id: uuid.UUID
    qty: int
    unit_price: int
    amount: int


class QuotedLineOut(BaseModel):
    product_id: uuid.UUID
    color: str
    sizes: dict[str, int]
    quantity: int
    amount: int
    rows: list[QuotedRowOut]


class RevisionOut(BaseModel):
    revision: int
    valid_until: date
    due_date: date | None
    notes: str | None
    quantity: int
    subtotal: int
    discount: int
    tax_base: int
    ppn: int
    total: int
    lines: list[QuotedLineOut]
    created_at: datetime


class QuotationOut(BaseModel):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    status: QuotationStatus
    current_revision: int
    order_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class QuotationDetail(QuotationOut):
    revisions: list[RevisionOut]


class QuotationList(BaseModel):
    data: list[QuotationOut]
    meta: PageMeta


# --- deliveries ---------------------------------------------------------------------------


class DeliveryLineIn(RequestBody):
    line_id: uuid.UUID
    size: SizeCode
    qty: Pieces


class DeliveryCreate(RequestBody):
    order_id: uuid.UUID
    delivered_on: BusinessDate | None = Field(None, description="Default: today.")
    recipient: PersonName | None = None
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    notes: Notes | None = None
    lines: list[DeliveryLineIn] = Field(min_length=1, max_length=500)


class DeliveryLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    line_id: uuid.UUID
    line_size_id: uuid.UUID
    size: str
    qty: int


class DeliveryOut(BaseModel):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    delivered_on: date
    recipient: str | None
    address: str | None
    notes: str | None
    quantity: int
    lines: list[DeliveryLineOut]
    created_at: datetime


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    meta: PageMeta
