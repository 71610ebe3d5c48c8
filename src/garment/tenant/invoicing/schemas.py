"""Request and response bodies of invoicing."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from garment.platform.contract import RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.customers.schemas import Address, Nitku, Npwp
from garment.tenant.invoicing.states import InvoiceKind, InvoiceStatus
from garment.tenant.orders.schemas import BusinessDate, Notes, Reference
from garment.tenant.orders.states import PaymentMethod

Rupiah = Annotated[int, Field(strict=True, ge=1, le=1_000_000_000_000)]
# A day of 2000-2999, stated as a pattern too: JSON Schema has no bounds for a `date`.
DAY_PATTERN = r"^2[0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
Day = Annotated[BusinessDate, Field(json_schema_extra={"pattern": DAY_PATTERN})]
UNIT_CODE_PATTERN = r"^UM\.[0-9]{4}$"
GOODS_CODE_PATTERN = r"^[0-9]{6}$"
NSFP_PATTERN = r"^[0-9]{17}$"
UnitCode = Annotated[str, Field(pattern=UNIT_CODE_PATTERN, examples=["UM.0018"])]
GoodsCode = Annotated[str, Field(pattern=GOODS_CODE_PATTERN, examples=["000000"])]
Nsfp = Annotated[
    str,
    Field(
        pattern=NSFP_PATTERN,
        examples=["04002600000012345"],
        description="The tax invoice number Coretax assigned (17 digits).",
    ),
]
InvoiceNumber = Annotated[
    str, Field(pattern=r"^INV/[0-9]{4}/[0-9]{6}$", examples=["INV/2026/000001"])
]


# --- tax settings ----------------------------------------------------------------------------


class TaxSettingsIn(RequestBody):
    """The whole settings (PUT). `pkp` is the same flag as `/sales-settings`' `pkp`."""

    pkp: StrictBool
    npwp: Npwp | None = None
    nitku: Nitku | None = None
    ppn_rate: Annotated[int, Field(strict=True, ge=0, le=100, description="Percent.")] = 12
    base_numerator: Annotated[int, Field(strict=True, ge=1, le=1000)] = 11
    base_denominator: Annotated[int, Field(strict=True, ge=1, le=1000)] = 12
    seller_address: Address | None = None
    unit_code: UnitCode = "UM.0018"
    goods_code: GoodsCode = "000000"


class TaxSettingsOut(BaseModel):
    pkp: bool
    npwp: str | None
    nitku: str | None
    ppn_rate: int
    base_numerator: int
    base_denominator: int
    seller_address: str | None
    unit_code: str
    goods_code: str
    version: int = Field(description="The version to send back as If-Match (also the ETag).")
    updated_at: datetime


# --- invoices --------------------------------------------------------------------------------


class InvoiceCreate(RequestBody):
    order_id: uuid.UUID
    kind: InvoiceKind
    amount: Rupiah | None = Field(
        None,
        description="A down payment invoice only: the down payment in rupiah, PPN included "
        "(default: the order's `down_payment_due`). The invoice's price is the smallest whose "
        "price + PPN reaches it.",
    )
    notes: Notes | None = None


class InvoiceUpdate(RequestBody):
    """Only the members sent change; `null` leaves a member as it is."""

    due_date: Day | None = None
    notes: Notes | None = None


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    position: int
    description: str
    opt: str
    goods_code: str
    unit_code: str
    qty: int
    unit_price: int
    amount: int


class InvoicePaymentIn(RequestBody):
    """Either apply (part of) an order payment already recorded (`order_payment_id`), or record
    a new payment on the order (`method`, `paid_on`) and apply it."""

    amount: Rupiah
    order_payment_id: uuid.UUID | None = None
    method: PaymentMethod | None = None
    paid_on: Day | None = None
    proof_reference: Reference | None = None


class InvoicePaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    invoice_id: uuid.UUID
    order_payment_id: uuid.UUID
    amount: int
    paid_on: date
    created_at: datetime


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    number: str | None = Field(description="`INV/YYYY/NNNNNN`, taken when issued.")
    kind: InvoiceKind
    status: InvoiceStatus
    order_id: uuid.UUID
    order_number: str
    customer_id: uuid.UUID
    replaces_id: uuid.UUID | None
    issue_date: date | None
    due_date: date | None
    pkp: bool
    ppn_rate: int
    base_numerator: int
    base_denominator: int
    subtotal: int
    discount: int
    deduction: int = Field(description="Final invoice: the DP invoice's price deducted.")
    deducted_ppn: int = Field(description="Final invoice: the PPN already on the DP invoice.")
    down_payment_invoice_id: uuid.UUID | None
    price: int = Field(description="The taxable amount (DPP).")
    other_tax_base: int = Field(description="DPP nilai lain (11/12 of the price).")
    ppn: int
    total: int
    paid_amount: int
    balance: int
    notes: str | None
    coretax_exported_at: datetime | None
    nsfp: str | None
    version: int = Field(description="The version to send back as If-Match (also the ETag).")
    created_at: datetime
    updated_at: datetime


class InvoiceDetail(InvoiceOut):
    lines: list[InvoiceLineOut]
    payments: list[InvoicePaymentOut]


class InvoiceList(BaseModel):
    data: list[InvoiceOut]
    meta: PageMeta


# --- Coretax ---------------------------------------------------------------------------------


class CoretaxExportIn(RequestBody):
    invoice_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class NsfpIn(RequestBody):
    nsfp: Nsfp


class NsfpItem(RequestBody):
    number: InvoiceNumber
    nsfp: Nsfp


class NsfpImportIn(RequestBody):
    """What Coretax assigned, as rows or as CSV text (`number,nsfp` per row; a header row is
    optional). All rows apply or none."""

    items: list[NsfpItem] | None = Field(None, min_length=1, max_length=1000)
    csv: Annotated[str, StringConstraints(min_length=1, max_length=100_000)] | None = None


class NsfpImportOut(BaseModel):
    data: list[InvoiceOut]


# --- reports ---------------------------------------------------------------------------------


class TurnoverOut(BaseModel):
    month: str = Field(examples=["2026-12"])
    gross_turnover: int = Field(description="Σ totals of the month's invoices without PPN.")
    tax_rate_per_mille: int = Field(description="5: the 0.5% final income tax (PP 55/2022).")
    tax: int = Field(description="floor(gross_turnover x 5 / 1000).")
    invoice_count: int
    pkp: bool = Field(
        description="Whether the tenant is PKP now (the report counts non-PKP invoices only)."
    )


class AgeingBuckets(BaseModel):
    not_due: int
    days_0_30: int
    days_31_60: int
    days_61_90: int
    days_over_90: int
    total: int


class CustomerAgeing(AgeingBuckets):
    customer_id: uuid.UUID
    customer_name: str
    invoice_count: int


class AgeingOut(BaseModel):
    as_of: date
    customers: list[CustomerAgeing]
    totals: AgeingBuckets


class ReplacementIn(RequestBody):
    """A replacement of an issued invoice (a correction): a new draft that references it and
    takes over its payments; the original becomes `replaced` when the replacement is made."""

    amount: Rupiah | None = Field(
        None, description="A down payment invoice only: the new down payment (PPN included)."
    )
    notes: Notes | None = None
