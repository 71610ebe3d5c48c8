"""Every query of production, makloon and wages (each also filters by tenant). Ledger changes
lock the counter rows they touch (`FOR UPDATE`, in stage order so two recordings never wait on
each other in a cycle), so concurrent phones apply one after another."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from garment.platform.pagination import Keyset, PageParams
from garment.platform.repository import Repository
from garment.tenant.production.models import (
    LedgerEvent,
    MakloonDispatch,
    MakloonLine,
    MakloonMaterial,
    MakloonPartner,
    MaterialConsumption,
    ProductionJob,
    Routing,
    StageCounter,
    WageAdjustment,
    WagePeriod,
    WageRate,
)
from garment.tenant.production.states import EventKind, JobStatus, PeriodStatus

EXAMPLE_ID = uuid.UUID("5a1e0c3d-8b2f-4e6a-9c7d-1f2e3d4c5b6a")
EXAMPLE_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
JOB_KEYSET = Keyset.of(ProductionJob.created_at, ProductionJob.id, example=(EXAMPLE_AT, EXAMPLE_ID))
EVENT_KEYSET = Keyset.of(LedgerEvent.seq, LedgerEvent.id, example=(42, EXAMPLE_ID))
PARTNER_KEYSET = Keyset.of(MakloonPartner.name, MakloonPartner.id, example=("Bu Sri", EXAMPLE_ID))
DISPATCH_KEYSET = Keyset.of(
    MakloonDispatch.created_at, MakloonDispatch.id, example=(EXAMPLE_AT, EXAMPLE_ID)
)


def board_statements() -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The board's three reads (active jobs, their counters, the routings), with bind
    parameters, so the bench's bare baseline sends the very same SQL."""
    jobs = select(ProductionJob).where(
        ProductionJob.tenant_id == bindparam("tenant_id"),
        ProductionJob.status == bindparam("status"),
    )
    counters = (
        select(StageCounter)
        .where(
            StageCounter.tenant_id == bindparam("tenant_id"),
            StageCounter.job_id == any_(bindparam("job_ids", type_=ARRAY(UUID(as_uuid=True)))),
        )
        .order_by(StageCounter.job_id, StageCounter.position, StageCounter.size)
    )
    routings = (
        select(Routing)
        .where(Routing.tenant_id == bindparam("tenant_id"))
        .order_by(Routing.scope, Routing.created_at, Routing.id)
    )
    return jobs, counters, routings


BOARD_JOBS, BOARD_COUNTERS, BOARD_ROUTINGS = board_statements()

# The recording path's reads, built once with bind parameters: every piece event runs them, and
# building an ORM select costs 40-100 µs of CPU each time (bench/README.md, session 26).
JOB_BY_ID = select(ProductionJob).where(
    ProductionJob.tenant_id == bindparam("tenant_id"), ProductionJob.id == bindparam("job_id")
)
JOB_BY_ID_LOCKED = JOB_BY_ID.with_for_update().execution_options(populate_existing=True)
COUNTERS_LOCKED = (
    select(StageCounter)
    .where(
        StageCounter.tenant_id == bindparam("tenant_id"),
        StageCounter.job_id == bindparam("job_id"),
        StageCounter.size == bindparam("size"),
        StageCounter.stage == any_(bindparam("stages", type_=ARRAY(String))),
    )
    .order_by(StageCounter.position)
    .with_for_update()
    .execution_options(populate_existing=True)
)


class RoutingRepository(Repository[Routing]):
    model = Routing

    async def all_of(self, tenant_id: uuid.UUID) -> Sequence[Routing]:
        return (await self.session.scalars(BOARD_ROUTINGS, {"tenant_id": tenant_id})).all()

    async def by_id(self, tenant_id: uuid.UUID, routing_id: uuid.UUID) -> Routing | None:
        return await self.one_or_none(
            select(Routing).where(Routing.tenant_id == tenant_id, Routing.id == routing_id)
        )

    async def of_target(
        self, tenant_id: uuid.UUID, scope: str, target_id: uuid.UUID | None
    ) -> Routing | None:
        statement = select(Routing).where(Routing.tenant_id == tenant_id, Routing.scope == scope)
        statement = statement.where(
            Routing.target_id.is_(None) if target_id is None else Routing.target_id == target_id
        )
        return await self.one_or_none(statement)


class JobRepository(Repository[ProductionJob]):
    model = ProductionJob

    async def by_id(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, for_update: bool = False
    ) -> ProductionJob | None:
        statement = JOB_BY_ID_LOCKED if for_update else JOB_BY_ID
        return await self.one_or_none(statement, {"tenant_id": tenant_id, "job_id": job_id})

    async def of_order(self, tenant_id: uuid.UUID, order_id: uuid.UUID) -> Sequence[ProductionJob]:
        statement = (
            select(ProductionJob)
            .where(ProductionJob.tenant_id == tenant_id, ProductionJob.order_id == order_id)
            .order_by(ProductionJob.created_at, ProductionJob.id)
        )
        return (await self.session.scalars(statement)).all()

    async def active(self, tenant_id: uuid.UUID) -> Sequence[ProductionJob]:
        parameters = {"tenant_id": tenant_id, "status": JobStatus.ACTIVE.value}
        return (await self.session.scalars(BOARD_JOBS, parameters)).all()

    async def listed(
        self,
        tenant_id: uuid.UUID,
        *,
        order_id: uuid.UUID | None,
        status: str | None,
        page: PageParams,
    ) -> tuple[list[ProductionJob], str | None]:
        statement = select(ProductionJob).where(ProductionJob.tenant_id == tenant_id)
        if order_id is not None:
            statement = statement.where(ProductionJob.order_id == order_id)
        if status is not None:
            statement = statement.where(ProductionJob.status == status)
        return await self.page(statement, keyset=JOB_KEYSET, params=page, descending=True)


class CounterRepository(Repository[StageCounter]):
    model = StageCounter

    async def locked(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, size: str, stages: Sequence[str]
    ) -> dict[str, StageCounter]:
        """The rows of these stages, locked in stage order until the transaction ends."""
        parameters = {
            "tenant_id": tenant_id,
            "job_id": job_id,
            "size": size,
            "stages": list(stages),
        }
        rows = (await self.session.scalars(COUNTERS_LOCKED, parameters)).all()
        return {row.stage: row for row in rows}

    async def of_jobs(
        self, tenant_id: uuid.UUID, job_ids: Sequence[uuid.UUID], *, fresh: bool = False
    ) -> Sequence[StageCounter]:
        statement = BOARD_COUNTERS
        if fresh:
            statement = statement.execution_options(populate_existing=True)
        parameters = {"tenant_id": tenant_id, "job_ids": list(job_ids)}
        return (await self.session.scalars(statement, parameters)).all()

    async def add_all(self, rows: list[StageCounter]) -> None:
        self.session.add_all(rows)
        await self.session.flush()


class EventRepository(Repository[LedgerEvent]):
    model = LedgerEvent

    async def append(self, event: LedgerEvent) -> LedgerEvent:
        self.session.add(event)
        await self.session.flush()  # INSERT ... RETURNING seq, occurred_at (eager defaults)
        return event

    async def listed(
        self,
        tenant_id: uuid.UUID,
        *,
        job_id: uuid.UUID | None,
        order_id: uuid.UUID | None,
        page: PageParams,
    ) -> tuple[list[LedgerEvent], str | None]:
        statement = select(LedgerEvent).where(LedgerEvent.tenant_id == tenant_id)
        if job_id is not None:
            statement = statement.where(LedgerEvent.job_id == job_id)
        if order_id is not None:
            statement = statement.where(LedgerEvent.order_id == order_id)
        return await self.page(statement, keyset=EVENT_KEYSET, params=page, descending=True)

    async def worked(
        self, tenant_id: uuid.UUID, starts: datetime, ends: datetime
    ) -> list[tuple[str, uuid.UUID, str, str, int]]:
        """(worker, job id, stage, kind, pieces) of `out` and `reject` events with a worker
        in [starts, ends)."""
        statement = (
            select(
                LedgerEvent.worker,
                LedgerEvent.job_id,
                LedgerEvent.stage,
                LedgerEvent.kind,
                func.sum(LedgerEvent.quantity),
            )
            .where(
                LedgerEvent.tenant_id == tenant_id,
                LedgerEvent.worker.is_not(None),
                LedgerEvent.dispatch_id.is_(None),
                LedgerEvent.kind.in_([EventKind.OUT, EventKind.REJECT]),
                LedgerEvent.occurred_at >= starts,
                LedgerEvent.occurred_at < ends,
            )
            .group_by(LedgerEvent.worker, LedgerEvent.job_id, LedgerEvent.stage, LedgerEvent.kind)
        )
        return [
            (str(worker), job_id, stage, kind, int(total))
            for worker, job_id, stage, kind, total in (await self.session.execute(statement))
        ]

    async def paid_pieces(
        self, tenant_id: uuid.UUID, job_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, str, int]]:
        """(job id, stage, pieces) out of a stage by a named worker in the shop (what borongan
        pays), over the jobs' whole life."""
        statement = (
            select(LedgerEvent.job_id, LedgerEvent.stage, func.sum(LedgerEvent.quantity))
            .where(
                LedgerEvent.tenant_id == tenant_id,
                LedgerEvent.job_id.in_(job_ids),
                LedgerEvent.worker.is_not(None),
                LedgerEvent.dispatch_id.is_(None),
                LedgerEvent.kind == EventKind.OUT,
            )
            .group_by(LedgerEvent.job_id, LedgerEvent.stage)
        )
        return [
            (job_id, stage, int(total))
            for job_id, stage, total in (await self.session.execute(statement))
        ]


class ConsumptionRepository(Repository[MaterialConsumption]):
    model = MaterialConsumption

    async def used(
        self, tenant_id: uuid.UUID, job_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, uuid.UUID, Decimal]]:
        """(job id, material id, quantity actually issued at cutting)."""
        statement = (
            select(
                MaterialConsumption.job_id,
                MaterialConsumption.material_id,
                func.sum(MaterialConsumption.actual),
            )
            .where(
                MaterialConsumption.tenant_id == tenant_id,
                MaterialConsumption.job_id.in_(job_ids),
            )
            .group_by(MaterialConsumption.job_id, MaterialConsumption.material_id)
        )
        return [
            (job_id, material_id, Decimal(total))
            for job_id, material_id, total in (await self.session.execute(statement))
        ]


class PartnerRepository(Repository[MakloonPartner]):
    model = MakloonPartner

    async def by_id(self, tenant_id: uuid.UUID, partner_id: uuid.UUID) -> MakloonPartner | None:
        return await self.one_or_none(
            select(MakloonPartner).where(
                MakloonPartner.tenant_id == tenant_id, MakloonPartner.id == partner_id
            )
        )

    async def listed(
        self, tenant_id: uuid.UUID, *, include_archived: bool, page: PageParams
    ) -> tuple[list[MakloonPartner], str | None]:
        statement = select(MakloonPartner).where(MakloonPartner.tenant_id == tenant_id)
        if not include_archived:
            statement = statement.where(MakloonPartner.archived.is_(False))
        return await self.page(statement, keyset=PARTNER_KEYSET, params=page, descending=False)


class DispatchRepository(Repository[MakloonDispatch]):
    model = MakloonDispatch

    async def by_id(
        self, tenant_id: uuid.UUID, dispatch_id: uuid.UUID, *, for_update: bool = False
    ) -> MakloonDispatch | None:
        statement = select(MakloonDispatch).where(
            MakloonDispatch.tenant_id == tenant_id, MakloonDispatch.id == dispatch_id
        )
        if for_update:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        return await self.one_or_none(statement)

    async def lines(
        self, tenant_id: uuid.UUID, dispatch_ids: Sequence[uuid.UUID]
    ) -> Sequence[MakloonLine]:
        statement = (
            select(MakloonLine)
            .where(MakloonLine.tenant_id == tenant_id, MakloonLine.dispatch_id.in_(dispatch_ids))
            .order_by(MakloonLine.dispatch_id, MakloonLine.size)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(statement)).all()

    async def materials(
        self, tenant_id: uuid.UUID, dispatch_ids: Sequence[uuid.UUID]
    ) -> Sequence[MakloonMaterial]:
        statement = (
            select(MakloonMaterial)
            .where(
                MakloonMaterial.tenant_id == tenant_id,
                MakloonMaterial.dispatch_id.in_(dispatch_ids),
            )
            .order_by(MakloonMaterial.dispatch_id, MakloonMaterial.material_id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(statement)).all()

    async def of_jobs(
        self, tenant_id: uuid.UUID, job_ids: Sequence[uuid.UUID]
    ) -> Sequence[MakloonDispatch]:
        statement = select(MakloonDispatch).where(
            MakloonDispatch.tenant_id == tenant_id, MakloonDispatch.job_id.in_(job_ids)
        )
        return (await self.session.scalars(statement)).all()

    async def of_partner(
        self, tenant_id: uuid.UUID, partner_id: uuid.UUID
    ) -> Sequence[MakloonDispatch]:
        statement = select(MakloonDispatch).where(
            MakloonDispatch.tenant_id == tenant_id, MakloonDispatch.partner_id == partner_id
        )
        return (await self.session.scalars(statement)).all()

    async def listed(
        self,
        tenant_id: uuid.UUID,
        *,
        partner_id: uuid.UUID | None,
        status: str | None,
        page: PageParams,
    ) -> tuple[list[MakloonDispatch], str | None]:
        statement = select(MakloonDispatch).where(MakloonDispatch.tenant_id == tenant_id)
        if partner_id is not None:
            statement = statement.where(MakloonDispatch.partner_id == partner_id)
        if status is not None:
            statement = statement.where(MakloonDispatch.status == status)
        return await self.page(statement, keyset=DISPATCH_KEYSET, params=page, descending=True)


class RateRepository(Repository[WageRate]):
    model = WageRate

    async def all_of(self, tenant_id: uuid.UUID) -> Sequence[WageRate]:
        statement = (
            select(WageRate)
            .where(WageRate.tenant_id == tenant_id)
            .order_by(WageRate.stage, WageRate.created_at, WageRate.id)
        )
        return (await self.session.scalars(statement)).all()

    async def by_id(self, tenant_id: uuid.UUID, rate_id: uuid.UUID) -> WageRate | None:
        return await self.one_or_none(
            select(WageRate).where(WageRate.tenant_id == tenant_id, WageRate.id == rate_id)
        )


class PeriodRepository(Repository[WagePeriod]):
    model = WagePeriod

    async def by_id(
        self, tenant_id: uuid.UUID, period_id: uuid.UUID, *, for_update: bool = False
    ) -> WagePeriod | None:
        statement = select(WagePeriod).where(
            WagePeriod.tenant_id == tenant_id, WagePeriod.id == period_id
        )
        if for_update:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        return await self.one_or_none(statement)

    async def all_of(self, tenant_id: uuid.UUID) -> Sequence[WagePeriod]:
        statement = (
            select(WagePeriod)
            .where(WagePeriod.tenant_id == tenant_id)
            .order_by(WagePeriod.starts_on.desc(), WagePeriod.id)
        )
        return (await self.session.scalars(statement)).all()

    async def locked_covering(self, tenant_id: uuid.UUID, day: date) -> WagePeriod | None:
        """The locked period holding `day`, if any. `FOR SHARE` on the covering rows: a lock
        running concurrently either waits for this recording (and counts it) or commits first
        (and this recording sees it locked)."""
        statement = (
            select(WagePeriod)
            .where(
                WagePeriod.tenant_id == tenant_id,
                WagePeriod.starts_on <= day,
                WagePeriod.ends_on >= day,
            )
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
        for period in (await self.session.scalars(statement)).all():
            if period.status == PeriodStatus.LOCKED:
                return period
        return None

    async def adjustments(
        self, tenant_id: uuid.UUID, period_id: uuid.UUID
    ) -> Sequence[WageAdjustment]:
        statement = select(WageAdjustment).where(
            WageAdjustment.tenant_id == tenant_id, WageAdjustment.period_id == period_id
        )
        return (await self.session.scalars(statement)).all()
