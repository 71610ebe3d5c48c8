"""Request and response bodies of customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, Email, RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.customers.states import CustomerType

# A NIK (Nomor Induk Kependudukan): province code 11-94, regency and district (4 digits), day of
# birth (01-31, plus 40 for women: 41-71), month 01-12, year (2 digits), a 4-digit serial.
NIK_PATTERN = (
    r"(?:1[1-9]|[2-8][0-9]|9[0-4])[0-9]{4}"
    r"(?:0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])(?:0[1-9]|1[0-2])[0-9]{6}"
)
# NPWP: the old 15 digits, or the 16-digit form (a NIK for a person, 0 + the 15 digits for a
# business).
NPWP_PATTERN = rf"^(?:[0-9]{{15}}|0[0-9]{{15}}|{NIK_PATTERN})$"
# NITKU: the 16-digit NPWP and a 6-digit place of business (000000 for the head office).
NITKU_PATTERN = r"^[0-9]{22}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{5,30}$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TRIMMED_TEXT)]
Npwp = Annotated[str, Field(pattern=NPWP_PATTERN, examples=["0012345678901000"])]
Nik = Annotated[str, Field(pattern=f"^{NIK_PATTERN}$", examples=["3273015506900002"])]
Nitku = Annotated[str, Field(pattern=NITKU_PATTERN, examples=["0012345678901000000000"])]
Phone = Annotated[str, Field(max_length=32, pattern=PHONE_PATTERN, examples=["+62 812-3456-7890"])]
Address = Annotated[str, StringConstraints(max_length=500)]
Notes = Annotated[str, StringConstraints(max_length=2000)]
CreditDays = Annotated[int, Field(ge=0, le=365, description="0: pay before delivery.")]
CreditLimit = Annotated[
    int, Field(ge=0, le=1_000_000_000_000, description="Whole rupiah; 0: no credit.")
]


class CustomerCreate(RequestBody):
    name: Name
    type: CustomerType = CustomerType.RETAIL
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    npwp: Npwp | None = None
    nik: Nik | None = None
    nitku: Nitku | None = None
    credit_days: CreditDays = 0
    credit_limit: CreditLimit = 0
    notes: Notes | None = None


class CustomerUpdate(RequestBody):
    """Only the members sent change; `null` clears an optional one."""

    name: Name | None = None
    type: CustomerType | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    npwp: Npwp | None = None
    nik: Nik | None = None
    nitku: Nitku | None = None
    credit_days: CreditDays | None = None
    credit_limit: CreditLimit | None = None
    notes: Notes | None = None
    archived: bool | None = None


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    type: CustomerType
    phone: str | None
    email: str | None
    address: str | None
    npwp: str | None
    nik: str | None
    nitku: str | None
    credit_days: int
    credit_limit: int
    notes: str | None
    archived: bool
    version: int = Field(description="The version to send back as If-Match (also the ETag).")
    created_at: datetime
    updated_at: datetime


class CustomerList(BaseModel):
    data: list[CustomerOut]
    meta: PageMeta
