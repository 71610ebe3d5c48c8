"""Borongan (piece-rate) wages: rates per operation (stage) per product or category, earnings
per worker per period from accepted pieces (`out` events with the worker), deductions for
rejects blamed on the worker, adjustments, the period lock and the CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.errors import AppError, FieldErrors
from garment.platform.versioning import apply_changes, check_version
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.production.errors import (
    ONE_TARGET,
    WAGE_PERIOD_LOCKED,
    WAGE_PERIOD_OVERLAPS,
)
from garment.tenant.production.models import WageAdjustment, WagePeriod, WageRate
from garment.tenant.production.repository import (
    EventRepository,
    JobRepository,
    PeriodRepository,
    RateRepository,
)
from garment.tenant.production.schemas import (
    AdjustmentCreate,
    EarningLine,
    EarningsOut,
    PeriodCreate,
    PeriodOut,
    RateCreate,
    WorkerEarning,
)
from garment.tenant.production.service import Catalogue, not_found
from garment.tenant.production.states import EventKind, PeriodStatus

RATE_FIELDS = ("stage", "product_id", "category_id", "rate", "reject_deduction")


def period_label(period: WagePeriod) -> str:
    return f"{period.starts_on.isoformat()}..{period.ends_on.isoformat()}"


def locked_error(period: WagePeriod) -> AppError:
    return AppError(WAGE_PERIOD_LOCKED, params={"period": period_label(period)})


class WageService:
    def __init__(self, products: Catalogue) -> None:
        self.products = products

    # --- rates --------------------------------------------------------------------------------

    async def create_rate(
        self, session: AsyncSession, tenant_id: uuid.UUID, body: RateCreate, actor_id: uuid.UUID
    ) -> WageRate:
        if body.product_id is not None and body.category_id is not None:
            problems = FieldErrors()
            problems.add("category_id", ONE_TARGET)
            problems.raise_if_any()
        rate = await RateRepository(session).create(
            WageRate(tenant_id=tenant_id, id=uuid.uuid4(), **body.model_dump())
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="wage_rate",
            entity_id=rate.id,
            after=snapshot(rate, RATE_FIELDS),
        )
        return rate

    async def list_rates(self, session: AsyncSession, tenant_id: uuid.UUID) -> list[WageRate]:
        return list(await RateRepository(session).all_of(tenant_id))

    async def piece_rates(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        stages: list[str],
        product_id: uuid.UUID,
        category_id: uuid.UUID | None,
    ) -> dict[str, int]:
        """Rupiah per accepted piece of each stage for the design (the most specific rate,
        0 where none applies): what order costing prices labour with."""
        rates = await RateRepository(session).all_of(tenant_id)
        picked = {stage: pick_rate(rates, stage, product_id, category_id) for stage in stages}
        return {stage: rate.rate if rate else 0 for stage, rate in picked.items()}

    async def _rate(
        self, session: AsyncSession, tenant_id: uuid.UUID, rate_id: uuid.UUID
    ) -> WageRate:
        rate = await RateRepository(session).by_id(tenant_id, rate_id)
        if rate is None:
            raise not_found()
        return rate

    async def get_rate(
        self, session: AsyncSession, tenant_id: uuid.UUID, rate_id: uuid.UUID
    ) -> WageRate:
        return await self._rate(session, tenant_id, rate_id)

    async def update_rate(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        rate_id: uuid.UUID,
        changes: dict[str, Any],
        expected_version: int | None,
        actor_id: uuid.UUID,
    ) -> WageRate:
        rate = await self._rate(session, tenant_id, rate_id)
        before = snapshot(rate, RATE_FIELDS)
        if await apply_changes(session, rate, expected_version, changes):
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=actor_id,
                action=AuditAction.UPDATE,
                entity_type="wage_rate",
                entity_id=rate.id,
                before=before,
                after=snapshot(rate, RATE_FIELDS),
            )
        return rate

    async def delete_rate(
        self, session: AsyncSession, tenant_id: uuid.UUID, rate_id: uuid.UUID, actor_id: uuid.UUID
    ) -> None:
        rate = await self._rate(session, tenant_id, rate_id)
        before = snapshot(rate, RATE_FIELDS)
        await session.delete(rate)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.DELETE,
            entity_type="wage_rate",
            entity_id=rate_id,
            before=before,
        )

    # --- periods ------------------------------------------------------------------------------

    async def create_period(
        self, session: AsyncSession, tenant_id: uuid.UUID, body: PeriodCreate, actor_id: uuid.UUID
    ) -> WagePeriod:
        if body.starts_on > body.ends_on:
            problems = FieldErrors()
            problems.add("ends_on", "ends_on < starts_on")
            problems.raise_if_any()
        repo = PeriodRepository(session)
        for other in await repo.all_of(tenant_id):
            if other.starts_on <= body.ends_on and body.starts_on <= other.ends_on:
                raise AppError(WAGE_PERIOD_OVERLAPS)
        period = await repo.create(
            WagePeriod(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                starts_on=body.starts_on,
                ends_on=body.ends_on,
                status=PeriodStatus.OPEN.value,
            )
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="wage_period",
            entity_id=period.id,
            after={"period": period_label(period)},
        )
        return period

    async def list_periods(self, session: AsyncSession, tenant_id: uuid.UUID) -> list[WagePeriod]:
        return list(await PeriodRepository(session).all_of(tenant_id))

    async def _period(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        period_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> WagePeriod:
        period = await PeriodRepository(session).by_id(tenant_id, period_id, for_update=for_update)
        if period is None:
            raise not_found()
        return period

    async def add_adjustment(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        period_id: uuid.UUID,
        body: AdjustmentCreate,
        actor_id: uuid.UUID,
    ) -> WageAdjustment:
        period = await self._period(session, tenant_id, period_id, for_update=True)
        if period.status == PeriodStatus.LOCKED:
            raise locked_error(period)
        adjustment = WageAdjustment(
            tenant_id=tenant_id, id=uuid.uuid4(), period_id=period.id, **body.model_dump()
        )
        session.add(adjustment)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="wage_adjustment",
            entity_id=adjustment.id,
            after={"worker": body.worker, "amount": body.amount},
        )
        return adjustment

    async def lock(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        period_id: uuid.UUID,
        expected_version: int | None,
        actor_id: uuid.UUID,
    ) -> WagePeriod:
        """Freeze the period's lines as computed now; later rate changes do not touch it."""
        period = await self._period(session, tenant_id, period_id, for_update=True)
        check_version(period, expected_version)
        if period.status == PeriodStatus.LOCKED:
            raise locked_error(period)
        lines = await self._compute(session, tenant_id, period)
        await apply_changes(
            session,
            period,
            expected_version,
            {
                "status": PeriodStatus.LOCKED.value,
                "locked_at": datetime.now(UTC),
                "locked_lines": [line.model_dump() for line in lines],
            },
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.UPDATE,
            entity_type="wage_period",
            entity_id=period.id,
            before={"status": PeriodStatus.OPEN.value},
            after={"status": PeriodStatus.LOCKED.value},
        )
        return period

    async def _compute(
        self, session: AsyncSession, tenant_id: uuid.UUID, period: WagePeriod
    ) -> list[EarningLine]:
        starts = datetime.combine(period.starts_on, time.min, tzinfo=UTC)
        ends = datetime.combine(period.ends_on + timedelta(days=1), time.min, tzinfo=UTC)
        worked = await EventRepository(session).worked(tenant_id, starts, ends)
        rates = await RateRepository(session).all_of(tenant_id)
        job_ids = {job_id for _, job_id, _, _, _ in worked}
        jobs = JobRepository(session)
        products: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID | None]] = {}
        for job_id in job_ids:
            job = await jobs.by_id(tenant_id, job_id)
            if job is None:
                continue
            product = await self.products.get(session, tenant_id, job.product_id)
            products[job_id] = (job.product_id, product.category_id)
        lines: dict[tuple[str, str], EarningLine] = {}
        for worker, job_id, stage, kind, pieces in worked:
            product_id, category_id = products.get(job_id, (None, None))
            rate = pick_rate(rates, stage, product_id, category_id)
            line = lines.setdefault(
                (worker, stage),
                EarningLine(
                    worker=worker, stage=stage, accepted=0, rejected=0, amount=0, deduction=0
                ),
            )
            if kind == EventKind.OUT:
                line.accepted += pieces
                line.amount += pieces * (rate.rate if rate else 0)
            else:
                line.rejected += pieces
                line.deduction += pieces * (rate.reject_deduction if rate else 0)
        return [lines[key] for key in sorted(lines)]

    async def earnings(
        self, session: AsyncSession, tenant_id: uuid.UUID, period_id: uuid.UUID
    ) -> EarningsOut:
        period = await self._period(session, tenant_id, period_id)
        if period.status == PeriodStatus.LOCKED and period.locked_lines is not None:
            lines = [EarningLine(**line) for line in period.locked_lines]
        else:
            lines = await self._compute(session, tenant_id, period)
        adjustments = await PeriodRepository(session).adjustments(tenant_id, period.id)
        workers: dict[str, WorkerEarning] = {}
        for line in lines:
            worker = workers.setdefault(
                line.worker,
                WorkerEarning(
                    worker=line.worker,
                    accepted=0,
                    rejected=0,
                    gross=0,
                    deductions=0,
                    adjustments=0,
                    net=0,
                ),
            )
            worker.accepted += line.accepted
            worker.rejected += line.rejected
            worker.gross += line.amount
            worker.deductions += line.deduction
        for adjustment in adjustments:
            worker = workers.setdefault(
                adjustment.worker,
                WorkerEarning(
                    worker=adjustment.worker,
                    accepted=0,
                    rejected=0,
                    gross=0,
                    deductions=0,
                    adjustments=0,
                    net=0,
                ),
            )
            worker.adjustments += adjustment.amount
        for worker in workers.values():
            worker.net = worker.gross - worker.deductions + worker.adjustments
        ordered = [workers[key] for key in sorted(workers)]
        return EarningsOut(
            period=PeriodOut.model_validate(period),
            lines=lines,
            workers=ordered,
            total=sum(worker.net for worker in ordered),
        )

    async def export_csv(
        self, session: AsyncSession, tenant_id: uuid.UUID, period_id: uuid.UUID
    ) -> str:
        earnings = await self.earnings(session, tenant_id, period_id)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["worker", "accepted", "rejected", "gross", "deductions", "adjustments", "net"]
        )
        for worker in earnings.workers:
            writer.writerow(
                [
                    csv_cell(worker.worker),
                    worker.accepted,
                    worker.rejected,
                    worker.gross,
                    worker.deductions,
                    worker.adjustments,
                    worker.net,
                ]
            )
        return out.getvalue()


def csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def pick_rate(
    rates: list[WageRate] | Any,
    stage: str,
    product_id: uuid.UUID | None,
    category_id: uuid.UUID | None,
) -> WageRate | None:
    """The most specific rate of the stage: the product's, the category's, then the general."""
    candidates = [rate for rate in rates if rate.stage == stage]
    for rate in candidates:
        if product_id is not None and rate.product_id == product_id:
            return rate
    for rate in candidates:
        if category_id is not None and rate.category_id == category_id:
            return rate
    for rate in candidates:
        if rate.product_id is None and rate.category_id is None:
            return rate
    return None
