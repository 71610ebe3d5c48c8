"""The HTTP contract of production (routing, jobs, the piece ledger, the board), makloon and
borongan wages."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.production.states import (
    DispatchStatus,
    EventKind,
    JobStatus,
    PeriodStatus,
    RecordKind,
    RoutingScope,
)

MAX_PIECES = 100_000
MAX_RUPIAH = 1_000_000_000

StageCode = Annotated[
    str,
    StringConstraints(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]{1,31}$"),
    Field(description="A stage code, e.g. `potong`, `jahit`, `qc`.", examples=["jahit"]),
]
SizeCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=8, pattern=r"^[A-Za-z0-9]{1,8}$"),
    Field(description="A size code of the job's design, e.g. `M`.", examples=["M"]),
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=TRIMMED_TEXT)]
Worker = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=TRIMMED_TEXT),
    Field(
        description="The worker's code or name (borongan earnings group by it).", examples=["W-012"]
    ),
]
Pieces = Annotated[int, Field(ge=1, le=MAX_PIECES, description="A count of pieces.")]
Count = Annotated[int, Field(ge=0, le=MAX_PIECES)]
Rupiah = Annotated[int, Field(ge=0, le=MAX_RUPIAH, description="Integer rupiah.")]
MaterialQuantity = Annotated[
    str,
    StringConstraints(max_length=14, pattern=r"^(0|[1-9][0-9]{0,10})(\.[0-9]{1,3})?$"),
    Field(description="Decimal text in the material's unit, e.g. `4.3`.", examples=["4.3"]),
]

PositiveMaterialQuantity = Annotated[
    str,
    StringConstraints(
        max_length=14,
        pattern=r"^([1-9][0-9]{0,9}(\.[0-9]{1,3})?|0\.([1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$",
    ),
    Field(description="Decimal text greater than zero, e.g. `12.5`.", examples=["12.5"]),
]


# --- routing ---------------------------------------------------------------------------------


class StageIn(RequestBody):
    code: StageCode
    label_id: Label
    label_en: Label
    capacity_per_day: int = Field(
        0, ge=0, le=MAX_PIECES, description="Pieces the workshop finishes per day (0: unknown)."
    )


class StageOut(BaseModel):
    code: str
    label_id: str
    label_en: str
    capacity_per_day: int


class RoutingCreate(RequestBody):
    scope: RoutingScope = Field(description="`product` or `category` (`default` exists).")
    target_id: uuid.UUID | None = Field(None, description="The product or category term.")
    stages: list[StageIn] = Field(min_length=1, max_length=12)


class RoutingUpdate(RequestBody):
    stages: list[StageIn] = Field(min_length=1, max_length=12)


class RoutingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    scope: RoutingScope
    target_id: uuid.UUID | None
    stages: list[StageOut]
    version: int


class RoutingList(BaseModel):
    data: list[RoutingOut]


# --- jobs and the ledger ---------------------------------------------------------------------


class StartProduction(RequestBody):
    order_id: uuid.UUID = Field(description="A confirmed order whose down payment is paid.")


class CounterOut(BaseModel):
    size: str
    stage: str
    received: int
    output: int
    rejected: int
    reworked: int
    written_off: int
    at_partner: int
    available: int = Field(description="received - output - rejected - at_partner.")
    open_rejects: int = Field(description="rejected - reworked - written_off.")


class JobOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    order_line_id: uuid.UUID
    order_number: str
    product_id: uuid.UUID
    color: str | None
    due_date: date | None
    stages: list[str]
    planned: dict[str, int]
    packed: dict[str, int]
    written_off: dict[str, int]
    status: JobStatus
    created_at: datetime
    completed_at: datetime | None


class JobDetail(JobOut):
    counters: list[CounterOut]


class JobList(BaseModel):
    data: list[JobOut]
    meta: PageMeta


class StartedOut(BaseModel):
    order_id: uuid.UUID
    jobs: list[JobOut]


class MaterialUse(RequestBody):
    material_id: uuid.UUID
    quantity: MaterialQuantity = Field(description="What was actually used, in its unit.")
    lot_id: uuid.UUID | None = Field(None, description="The roll it came from.")


class RecordEvent(RequestBody):
    job_id: uuid.UUID
    size: SizeCode
    stage: StageCode
    kind: RecordKind = Field(
        description="`in` (pieces enter the first stage), `out` (done; they enter the next "
        "stage, or are packed at the last), `reject` (needs `reason_code`), `rework` (open "
        "rejects back to `to_stage`), `write_off` (open rejects given up)."
    )
    quantity: Pieces
    reason_code: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TRIMMED_TEXT)] | None
    ) = Field(None, examples=["jahitan loncat"])
    worker: Worker | None = None
    to_stage: StageCode | None = Field(None, description="Rework only: the stage to re-enter.")
    materials: list[MaterialUse] | None = Field(
        None,
        max_length=20,
        description="`out` at the first stage only: the materials actually used (without it, "
        "the BOM's planned use is posted).",
    )
    occurred_at: AwareDatetime | None = Field(
        None,
        description="When the pieces were done, for a phone that syncs late (default: now; "
        "never in the future). Work of a worker dated inside a locked wage period is refused "
        "with `WAGE_PERIOD_LOCKED`.",
    )


class ConsumptionOut(BaseModel):
    material_id: uuid.UUID
    planned: str
    actual: str
    variance: str = Field(description="actual - planned (positive: more than the BOM).")


class EventOut(BaseModel):
    id: uuid.UUID
    seq: int
    job_id: uuid.UUID
    order_id: uuid.UUID
    size: str
    stage: str
    kind: EventKind
    quantity: int
    to_stage: str | None
    reason_code: str | None
    worker: str | None
    dispatch_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    occurred_at: datetime


class RecordedOut(EventOut):
    counters: list[CounterOut] = Field(description="The job's counters of this size after it.")
    consumption: list[ConsumptionOut]
    job_status: JobStatus


class EventList(BaseModel):
    data: list[EventOut]
    meta: PageMeta


# --- what order costing reads (GET /orders/{id}/costing, in the costing context) --------------


class MakloonCharge(BaseModel):
    stage: str
    sent: int
    accepted: int
    rate_per_piece: int
    charge: int = Field(description="accepted x rate.")


class JobCostFacts(BaseModel):
    """What one job (an order line in production) used: pieces cut, pieces out of each stage
    by a named worker (borongan pays them), material issued at cutting, makloon dispatches."""

    job_id: uuid.UUID
    order_line_id: uuid.UUID
    product_id: uuid.UUID
    stages: list[str]
    planned: dict[str, int]
    cut: int = Field(description="Pieces that entered the first stage.")
    paid_out: dict[str, int] = Field(description="Per stage: pieces out by a named worker.")
    materials: dict[uuid.UUID, Decimal] = Field(description="Issued at cutting, per material.")
    makloon: list[MakloonCharge]


# --- board -----------------------------------------------------------------------------------


class StageLoad(BaseModel):
    stage: str
    wip: dict[str, int] = Field(description="Pieces at the stage per size (not yet out).")
    at_partner: int
    wip_total: int
    load: int = Field(description="Pieces still to pass this stage over the active jobs.")
    capacity_per_day: int
    days_of_work: float | None = Field(description="load / capacity (None: unknown capacity).")


class LateJob(BaseModel):
    job_id: uuid.UUID
    order_id: uuid.UUID
    order_number: str
    due_date: date
    remaining: int
    days_left: int
    days_needed: float | None
    late: bool = Field(description="Due date passed, or the remaining work needs more days.")


class BoardOut(BaseModel):
    active_jobs: int
    stages: list[StageLoad]
    late: list[LateJob]


# --- makloon ---------------------------------------------------------------------------------


class PartnerCreate(RequestBody):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TRIMMED_TEXT)]
    phone: Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ]{6,31}$")] | None = (
        None
    )
    address: (
        Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TRIMMED_TEXT)] | None
    ) = None


class PartnerUpdate(RequestBody):
    name: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TRIMMED_TEXT)] | None
    ) = None
    phone: Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ]{6,31}$")] | None = (
        None
    )
    address: (
        Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TRIMMED_TEXT)] | None
    ) = None


class PartnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    phone: str | None
    address: str | None
    archived: bool
    version: int
    created_at: datetime


class PartnerList(BaseModel):
    data: list[PartnerOut]
    meta: PageMeta


class MaterialSent(RequestBody):
    material_id: uuid.UUID
    quantity: PositiveMaterialQuantity = Field(description="In the material's unit.")
    lot_id: uuid.UUID | None = Field(None, description="The roll or lot it is taken from.")


class MaterialBack(RequestBody):
    material_id: uuid.UUID
    returned: MaterialQuantity = Field(
        "0", description="Came back unused: moved into our stock again."
    )
    consumed: MaterialQuantity = Field(
        "0", description="Used up at the partner (no stock movement; it left at dispatch)."
    )
    lot_id: uuid.UUID | None = Field(None, description="The lot the returned quantity goes to.")


class DispatchCreate(RequestBody):
    partner_id: uuid.UUID
    job_id: uuid.UUID
    stage: StageCode = Field(description="The stage the partner performs (e.g. `jahit`).")
    sizes: dict[SizeCode, Pieces] = Field(
        default_factory=dict,
        max_length=20,
        examples=[{"M": 40}],
        description="Pieces sent per size (give sizes, materials, or both).",
    )
    materials: list[MaterialSent] = Field(
        default_factory=list,
        max_length=20,
        description="Material sent with the pieces (fabric, cut panels, trims): each leaves "
        "our stock by an `out` movement into the partner's custody.",
    )
    rate_per_piece: Rupiah = Field(description="Charged per accepted piece.")
    note: (
        Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TRIMMED_TEXT)] | None
    ) = None


class ReturnCounts(RequestBody):
    accepted: Count = 0
    rejected: Count = 0
    short: Count = Field(0, description="Not returned (lost); settles the pieces, no charge.")


class ReceiptCreate(RequestBody):
    sizes: dict[SizeCode, ReturnCounts] = Field(
        default_factory=dict, max_length=20, description="Give sizes, materials, or both."
    )
    materials: list[MaterialBack] = Field(default_factory=list, max_length=20)
    reason_code: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=TRIMMED_TEXT)
    ] = Field("makloon", description="Reason recorded on the rejected pieces.")


class DispatchLineOut(BaseModel):
    size: str
    sent: int
    accepted: int
    rejected: int
    short: int
    balance: int


class DispatchMaterialOut(BaseModel):
    material_id: uuid.UUID
    unit: str
    sent: str
    returned: str
    consumed: str
    balance: str = Field(description="Still at the partner: sent - returned - consumed.")


class DispatchOut(BaseModel):
    id: uuid.UUID
    number: str
    partner_id: uuid.UUID
    job_id: uuid.UUID
    stage: str
    rate_per_piece: int
    status: DispatchStatus
    charge: int = Field(description="accepted pieces x rate, rupiah.")
    lines: list[DispatchLineOut]
    materials: list[DispatchMaterialOut]
    balance: int
    note: str | None
    created_at: datetime


class DispatchList(BaseModel):
    data: list[DispatchOut]
    meta: PageMeta


class AgeingBuckets(BaseModel):
    days_0_7: int
    days_8_14: int
    days_15_30: int
    over_30: int


class MaterialCustody(BaseModel):
    material_id: uuid.UUID
    unit: str
    balance: str = Field(description="Held by the partner over its open dispatches.")


class CustodyOut(BaseModel):
    partner_id: uuid.UUID
    balance: int
    by_size: dict[str, int]
    materials: list[MaterialCustody] = Field(description="Material held, per material.")
    charges: int
    oldest_open: datetime | None
    ageing: AgeingBuckets = Field(description="Pieces held, by the age of their dispatch.")


# --- wages -----------------------------------------------------------------------------------


class RateCreate(RequestBody):
    stage: StageCode = Field(description="The operation (stage) paid per accepted piece.")
    product_id: uuid.UUID | None = None
    category_id: uuid.UUID | None = None
    rate: Rupiah
    reject_deduction: Rupiah = Field(0, description="Deducted per reject blamed on the worker.")


class RateUpdate(RequestBody):
    rate: Rupiah | None = None
    reject_deduction: Rupiah | None = None


class RateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    stage: str
    product_id: uuid.UUID | None
    category_id: uuid.UUID | None
    rate: int
    reject_deduction: int
    version: int


class RateList(BaseModel):
    data: list[RateOut]


class PeriodCreate(RequestBody):
    starts_on: date
    ends_on: date


class PeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    starts_on: date
    ends_on: date
    status: PeriodStatus
    locked_at: datetime | None
    version: int


class PeriodList(BaseModel):
    data: list[PeriodOut]


class AdjustmentCreate(RequestBody):
    worker: Worker
    amount: int = Field(ge=-MAX_RUPIAH, le=MAX_RUPIAH, description="Rupiah; negative deducts.")
    note: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TRIMMED_TEXT)]


class AdjustmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    period_id: uuid.UUID
    worker: str
    amount: int
    note: str


class EarningLine(BaseModel):
    worker: str
    stage: str
    accepted: int
    rejected: int
    amount: int
    deduction: int


class WorkerEarning(BaseModel):
    worker: str
    accepted: int
    rejected: int
    gross: int
    deductions: int
    adjustments: int
    net: int


class EarningsOut(BaseModel):
    period: PeriodOut
    lines: list[EarningLine]
    workers: list[WorkerEarning]
    total: int
