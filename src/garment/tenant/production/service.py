"""Production: routings, jobs (an order line in production), the piece ledger with its
invariants, material consumption at cutting, and the board.

Ledger invariants hold inside the recording transaction: the counter rows a recording touches
are locked first (`FOR UPDATE`, in stage order), then checked and changed, and the table's CHECK
constraints (`output + rejected + at_partner <= received`, `reworked + written_off <=
rejected`) refuse anything that slipped through."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.db import utcnow
from garment.platform.errors import RESOURCE_NOT_FOUND, AppError, FieldErrors, invalid
from garment.platform.events import publish
from garment.platform.pagination import PageParams
from garment.platform.versioning import apply_changes
from garment.tenant.audit.service import AuditAction, record_change
from garment.tenant.materials.schemas import CreateMovementRequest
from garment.tenant.materials.states import MovementKind
from garment.tenant.production.errors import (
    DUPLICATE_STAGES,
    FIRST_STAGE_ONLY,
    IN_THE_FUTURE,
    JOB_CLOSED,
    MATERIALS_AT_CUTTING,
    ONLY_FOR_REWORK,
    PIECES_EXCEED_AVAILABLE,
    PRODUCTION_ALREADY_STARTED,
    REASON_REQUIRED,
    REWORK_NOT_EARLIER,
    REWORK_TARGET_REQUIRED,
    ROUTING_EXISTS,
    TARGET_NOT_ALLOWED,
    TARGET_REQUIRED,
    UNKNOWN_JOB_SIZE,
    UNKNOWN_STAGE,
    UNKNOWN_TARGET,
    WAGE_PERIOD_LOCKED,
)
from garment.tenant.production.events import PiecesRecorded, ProductionCompleted
from garment.tenant.production.models import (
    LedgerEvent,
    MaterialConsumption,
    ProductionJob,
    Routing,
    StageCounter,
)
from garment.tenant.production.ports import OrderGateway
from garment.tenant.production.repository import (
    EVENT_KEYSET,
    JOB_KEYSET,
    ConsumptionRepository,
    CounterRepository,
    DispatchRepository,
    EventRepository,
    JobRepository,
    PeriodRepository,
    RoutingRepository,
)
from garment.tenant.production.schemas import (
    BoardOut,
    ConsumptionOut,
    CounterOut,
    EventOut,
    JobCostFacts,
    JobDetail,
    JobOut,
    LateJob,
    MakloonCharge,
    RecordedOut,
    RecordEvent,
    RoutingCreate,
    RoutingOut,
    RoutingUpdate,
    StageLoad,
    StageOut,
)
from garment.tenant.production.states import (
    DEFAULT_STAGES,
    EventKind,
    JobStatus,
    RecordKind,
    RoutingScope,
)
from garment.tenant.production.stream import StreamHub

# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
# What borongan earnings count: pieces out of, or rejected at, a stage by a named worker.
WAGE_KINDS = frozenset({EventKind.OUT, EventKind.REJECT})


class Catalogue(Protocol):
    """The products service as production reads it."""

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> Any: ...

    async def get_bom(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> Any: ...


class Stock(Protocol):
    """The materials service as production reads and posts to it."""

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, material_id: uuid.UUID
    ) -> Any: ...

    async def move(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_id: uuid.UUID,
        body: CreateMovementRequest,
        actor_id: uuid.UUID | None,
    ) -> Any: ...


class TermLookup(Protocol):
    async def term_type(
        self, session: AsyncSession, tenant_id: uuid.UUID, term_id: uuid.UUID
    ) -> str | None: ...


def not_found() -> AppError:
    return AppError(RESOURCE_NOT_FOUND)


def quantity_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def default_stages() -> list[dict[str, Any]]:
    return [
        {"code": code, "label_id": label_id, "label_en": label_en, "capacity_per_day": capacity}
        for code, label_id, label_en, capacity in DEFAULT_STAGES
    ]


def routing_out(routing: Routing) -> RoutingOut:
    return RoutingOut(
        id=routing.id,
        scope=RoutingScope(routing.scope),
        target_id=routing.target_id,
        stages=[StageOut(**stage) for stage in routing.stages],
        version=routing.version,
    )


def counter_out(row: StageCounter) -> CounterOut:
    return CounterOut(
        size=row.size,
        stage=row.stage,
        received=row.received,
        output=row.output,
        rejected=row.rejected,
        reworked=row.reworked,
        written_off=row.written_off,
        at_partner=row.at_partner,
        available=available(row),
        open_rejects=open_rejects(row),
    )


def available(row: StageCounter) -> int:
    return row.received - row.output - row.rejected - row.at_partner


def open_rejects(row: StageCounter) -> int:
    return row.rejected - row.reworked - row.written_off


def exceeds(row: StageCounter, have: int, requested: int) -> AppError:
    params = {"stage": row.stage, "size": row.size, "available": have, "requested": requested}
    return AppError(PIECES_EXCEED_AVAILABLE, params=params, extra=params)


def settled(
    job: ProductionJob, rows: Iterable[StageCounter]
) -> tuple[dict[str, int], dict[str, int]]:
    """Per size: pieces packed (out of the last stage) and pieces written off anywhere."""
    last = job.stages[-1]
    packed = dict.fromkeys(job.planned, 0)
    written = dict.fromkeys(job.planned, 0)
    for row in rows:
        if row.size not in packed:
            continue
        written[row.size] += row.written_off
        if row.stage == last:
            packed[row.size] += row.output
    return packed, written


def job_out(job: ProductionJob, rows: Sequence[StageCounter]) -> JobOut:
    packed, written = settled(job, rows)
    return JobOut(
        id=job.id,
        order_id=job.order_id,
        order_line_id=job.order_line_id,
        order_number=job.order_number,
        product_id=job.product_id,
        color=job.color,
        due_date=job.due_date,
        stages=list(job.stages),
        planned=dict(job.planned),
        packed=packed,
        written_off=written,
        status=JobStatus(job.status),
        created_at=job.created_at,
        completed_at=job.completed_at,
    )


def event_out(event: LedgerEvent) -> EventOut:
    return EventOut(
        id=event.id,
        seq=event.seq,
        job_id=event.job_id,
        order_id=event.order_id,
        size=event.size,
        stage=event.stage,
        kind=EventKind(event.kind),
        quantity=event.quantity,
        to_stage=event.to_stage,
        reason_code=event.reason_code,
        worker=event.worker,
        dispatch_id=event.dispatch_id,
        actor_id=event.actor_id,
        occurred_at=event.occurred_at,
    )


class ProductionService:
    job_keyset = JOB_KEYSET
    event_keyset = EVENT_KEYSET

    def __init__(
        self,
        *,
        products: Catalogue,
        materials: Stock,
        taxonomies: TermLookup,
        hub: StreamHub,
        orders: OrderGateway | None = None,
    ) -> None:
        self.products = products
        self.materials = materials
        self.taxonomies = taxonomies
        self.hub = hub
        self.orders = orders

    def gateway(self) -> OrderGateway:
        assert self.orders is not None, "the runtime wires the orders gateway"
        return self.orders

    # --- routing ------------------------------------------------------------------------------

    async def seed_defaults(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
        """The default routing, once (provisioning and the demo call it; idempotent)."""
        routings = RoutingRepository(session)
        if await routings.of_target(tenant_id, RoutingScope.DEFAULT, None) is not None:
            return 0
        await routings.create(
            Routing(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                scope=RoutingScope.DEFAULT.value,
                target_id=None,
                stages=default_stages(),
            )
        )
        return 1

    async def list_routings(self, session: AsyncSession, tenant_id: uuid.UUID) -> list[RoutingOut]:
        await self.seed_defaults(session, tenant_id)
        return [routing_out(row) for row in await RoutingRepository(session).all_of(tenant_id)]

    async def get_routing(
        self, session: AsyncSession, tenant_id: uuid.UUID, routing_id: uuid.UUID
    ) -> RoutingOut:
        return routing_out(await self._routing(session, tenant_id, routing_id))

    async def _routing(
        self, session: AsyncSession, tenant_id: uuid.UUID, routing_id: uuid.UUID
    ) -> Routing:
        routing = await RoutingRepository(session).by_id(tenant_id, routing_id)
        if routing is None:
            raise not_found()
        return routing

    @staticmethod
    def _check_stages(problems: FieldErrors, stages: Sequence[Any]) -> list[dict[str, Any]]:
        codes = [stage.code for stage in stages]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            problems.add("stages", DUPLICATE_STAGES, codes=", ".join(repeated))
        return [stage.model_dump() for stage in stages]

    async def create_routing(
        self, session: AsyncSession, tenant_id: uuid.UUID, body: RoutingCreate, actor_id: uuid.UUID
    ) -> RoutingOut:
        problems = FieldErrors()
        stages = self._check_stages(problems, body.stages)
        if body.scope is RoutingScope.DEFAULT:
            problems.add("scope", TARGET_NOT_ALLOWED)
        elif body.target_id is None:
            problems.add("target_id", TARGET_REQUIRED)
        elif body.scope is RoutingScope.PRODUCT:
            try:
                await self.products.get(session, tenant_id, body.target_id)
            except AppError:
                problems.add("target_id", UNKNOWN_TARGET)
        elif await self.taxonomies.term_type(session, tenant_id, body.target_id) != "category":
            problems.add("target_id", UNKNOWN_TARGET)
        problems.raise_if_any()
        routings = RoutingRepository(session)
        if await routings.of_target(tenant_id, body.scope.value, body.target_id) is not None:
            raise invalid("target_id", ROUTING_EXISTS)
        routing = await routings.create(
            Routing(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                scope=body.scope.value,
                target_id=body.target_id,
                stages=stages,
            )
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="production_routing",
            entity_id=routing.id,
            after={"scope": routing.scope, "stages": [s["code"] for s in stages]},
        )
        return routing_out(routing)

    async def update_routing(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        routing_id: uuid.UUID,
        body: RoutingUpdate,
        expected_version: int | None,
        actor_id: uuid.UUID,
    ) -> RoutingOut:
        """New stages for jobs started from now on (running jobs keep their snapshot)."""
        routing = await self._routing(session, tenant_id, routing_id)
        problems = FieldErrors()
        stages = self._check_stages(problems, body.stages)
        problems.raise_if_any()
        before = [stage["code"] for stage in routing.stages]
        if await apply_changes(session, routing, expected_version, {"stages": stages}):
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=actor_id,
                action=AuditAction.UPDATE,
                entity_type="production_routing",
                entity_id=routing.id,
                before={"stages": before},
                after={"stages": [stage["code"] for stage in stages]},
            )
        return routing_out(routing)

    async def delete_routing(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        routing_id: uuid.UUID,
        actor_id: uuid.UUID,
    ) -> None:
        routing = await self._routing(session, tenant_id, routing_id)
        if routing.scope == RoutingScope.DEFAULT:
            raise invalid("routing_id", TARGET_NOT_ALLOWED)
        await session.delete(routing)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.DELETE,
            entity_type="production_routing",
            entity_id=routing_id,
            before={"scope": routing.scope},
        )

    async def stages_for(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> list[str]:
        """The product's routing, else its category's, else the tenant's default."""
        routings = RoutingRepository(session)
        found = await routings.of_target(tenant_id, RoutingScope.PRODUCT, product_id)
        if found is None:
            product = await self.products.get(session, tenant_id, product_id)
            if product.category_id is not None:
                found = await routings.of_target(
                    tenant_id, RoutingScope.CATEGORY, product.category_id
                )
        if found is None:
            found = await routings.of_target(tenant_id, RoutingScope.DEFAULT, None)
        stages = found.stages if found is not None else default_stages()
        return [stage["code"] for stage in stages]

    # --- jobs ---------------------------------------------------------------------------------

    async def start(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        actor_id: uuid.UUID | None,
    ) -> list[JobOut]:
        """Put an order in production: one job per line, its counters per size x stage; the
        order moves to `in_production` (the orders service checks its gates)."""
        orders = self.gateway()
        plan = await orders.production_plan(session, tenant_id, order_id)
        # The orders service locks the order row first, so of two concurrent starts the second
        # waits here and then finds the first one's jobs.
        await orders.start_production(session, central, tenant_id, order_id, actor_id)
        jobs = JobRepository(session)
        if await jobs.of_order(tenant_id, order_id):
            raise AppError(PRODUCTION_ALREADY_STARTED)
        created: list[JobOut] = []
        for line in plan.lines:
            sizes = {size: qty for size, qty in line.sizes.items() if qty > 0}
            if not sizes:
                continue
            stages = await self.stages_for(session, tenant_id, line.product_id)
            job = await jobs.create(
                ProductionJob(
                    tenant_id=tenant_id,
                    id=uuid.uuid4(),
                    order_id=order_id,
                    order_line_id=line.line_id,
                    order_number=plan.number,
                    product_id=line.product_id,
                    color=line.color,
                    due_date=plan.due_date,
                    stages=stages,
                    planned=sizes,
                    status=JobStatus.ACTIVE.value,
                )
            )
            rows = [
                StageCounter(
                    tenant_id=tenant_id,
                    job_id=job.id,
                    size=size,
                    stage=stage,
                    position=position,
                    entered=0,
                    received=0,
                    output=0,
                    rejected=0,
                    reworked=0,
                    written_off=0,
                    at_partner=0,
                )
                for position, stage in enumerate(stages)
                for size in sizes
            ]
            await CounterRepository(session).add_all(rows)
            created.append(job_out(job, rows))
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="production_order",
            entity_id=order_id,
            after={"jobs": [str(job.id) for job in created]},
        )
        return created

    async def job(
        self, session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID
    ) -> ProductionJob:
        job = await JobRepository(session).by_id(tenant_id, job_id)
        if job is None:
            raise not_found()
        return job

    async def get_job(
        self, session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID
    ) -> JobDetail:
        job = await self.job(session, tenant_id, job_id)
        rows = await CounterRepository(session).of_jobs(tenant_id, [job.id])
        return JobDetail(
            **job_out(job, rows).model_dump(), counters=[counter_out(row) for row in rows]
        )

    async def list_jobs(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        order_id: uuid.UUID | None,
        status: JobStatus | None,
        page: PageParams,
    ) -> tuple[list[JobOut], str | None]:
        jobs, cursor = await JobRepository(session).listed(
            tenant_id, order_id=order_id, status=status.value if status else None, page=page
        )
        rows = await CounterRepository(session).of_jobs(tenant_id, [job.id for job in jobs])
        by_job: dict[uuid.UUID, list[StageCounter]] = {}
        for row in rows:
            by_job.setdefault(row.job_id, []).append(row)
        return [job_out(job, by_job.get(job.id, [])) for job in jobs], cursor

    # --- the ledger ---------------------------------------------------------------------------

    async def record(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        body: RecordEvent,
    ) -> RecordedOut:
        job = await self.job(session, tenant_id, body.job_id)
        problems = FieldErrors()
        if body.size not in job.planned:
            problems.add("size", UNKNOWN_JOB_SIZE, size=body.size)
        if body.stage not in job.stages:
            problems.add("stage", UNKNOWN_STAGE, stage=body.stage)
        kind = body.kind
        first = job.stages[0]
        if kind is RecordKind.IN and body.stage in job.stages and body.stage != first:
            problems.add("stage", FIRST_STAGE_ONLY, stage=first)
        if kind is RecordKind.REJECT and body.reason_code is None:
            problems.add("reason_code", REASON_REQUIRED)
        if kind is RecordKind.REWORK:
            if body.to_stage is None:
                problems.add("to_stage", REWORK_TARGET_REQUIRED)
            elif body.to_stage not in job.stages:
                problems.add("to_stage", UNKNOWN_STAGE, stage=body.to_stage)
            elif body.stage in job.stages and job.stages.index(body.to_stage) > job.stages.index(
                body.stage
            ):
                problems.add("to_stage", REWORK_NOT_EARLIER)
        elif body.to_stage is not None:
            problems.add("to_stage", ONLY_FOR_REWORK)
        if body.materials is not None and not (kind is RecordKind.OUT and body.stage == first):
            problems.add("materials", MATERIALS_AT_CUTTING)
        if body.occurred_at is not None and body.occurred_at > utcnow() + CLOCK_SKEW:
            problems.add("occurred_at", IN_THE_FUTURE)
        problems.raise_if_any()
        await self.refuse_locked_wages(
            session, tenant_id, EventKind(kind.value), body.worker, body.occurred_at or utcnow()
        )
        return await self._apply(session, central, job, actor_id, body)

    async def refuse_locked_wages(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        kind: EventKind,
        worker: str | None,
        occurred_at: datetime,
    ) -> None:
        """Refuse a ledger change that would count in a locked wage period's earnings (its
        lines are frozen, so the pieces would silently go unpaid or be paid twice): every path
        that writes, edits or voids a worker's `out`/`reject` event calls this first. Days are
        UTC days, as the earnings count them."""
        if worker is None or kind not in WAGE_KINDS:
            return
        day = occurred_at.astimezone(UTC).date()
        period = await PeriodRepository(session).locked_covering(tenant_id, day)
        if period is not None:
            label = f"{period.starts_on.isoformat()}..{period.ends_on.isoformat()}"
            raise AppError(WAGE_PERIOD_LOCKED, params={"period": label}, extra={"period": label})

    async def _apply(
        self,
        session: AsyncSession,
        central: AsyncSession,
        job: ProductionJob,
        actor_id: uuid.UUID | None,
        body: RecordEvent,
    ) -> RecordedOut:
        tenant_id, kind, n = job.tenant_id, body.kind, body.quantity
        if job.status != JobStatus.ACTIVE:
            raise AppError(JOB_CLOSED)
        index = job.stages.index(body.stage)
        touched = {body.stage}
        following = job.stages[index + 1] if index + 1 < len(job.stages) else None
        if kind is RecordKind.OUT and following is not None:
            touched.add(following)
        if kind is RecordKind.REWORK and body.to_stage is not None:
            touched.add(body.to_stage)
        rows = await CounterRepository(session).locked(
            tenant_id, job.id, body.size, sorted(touched)
        )
        row = rows[body.stage]
        if kind is RecordKind.IN:
            room = job.planned[body.size] - row.entered
            if n > room:
                raise exceeds(row, room, n)
            row.entered += n
            row.received += n
        elif kind in (RecordKind.OUT, RecordKind.REJECT):
            if n > available(row):
                raise exceeds(row, available(row), n)
            if kind is RecordKind.OUT:
                row.output += n
                if following is not None:
                    rows[following].received += n
            else:
                row.rejected += n
        else:  # rework, write_off: from the stage's open rejects
            if n > open_rejects(row):
                raise exceeds(row, open_rejects(row), n)
            if kind is RecordKind.REWORK:
                assert body.to_stage is not None
                row.reworked += n
                rows[body.to_stage].received += n
            else:
                row.written_off += n
        event = await self.append(
            session,
            central,
            job,
            size=body.size,
            stage=body.stage,
            kind=EventKind(kind.value),
            quantity=n,
            to_stage=body.to_stage,
            reason_code=body.reason_code,
            worker=body.worker,
            actor_id=actor_id,
            occurred_at=body.occurred_at,
        )
        consumption: list[ConsumptionOut] = []
        if kind is RecordKind.OUT and index == 0:
            consumption = await self._consume(session, job, event, body, actor_id)
        if (kind is RecordKind.OUT and following is None) or kind is RecordKind.WRITE_OFF:
            await self.check_complete(session, central, job, actor_id)
        size_rows = [
            r
            for r in await CounterRepository(session).of_jobs(tenant_id, [job.id])
            if r.size == body.size
        ]
        return RecordedOut(
            **event_out(event).model_dump(),
            counters=[counter_out(r) for r in size_rows],
            consumption=consumption,
            job_status=JobStatus(job.status),
        )

    async def append(
        self,
        session: AsyncSession,
        central: AsyncSession,
        job: ProductionJob,
        *,
        size: str,
        stage: str,
        kind: EventKind,
        quantity: int,
        actor_id: uuid.UUID | None,
        to_stage: str | None = None,
        reason_code: str | None = None,
        worker: str | None = None,
        dispatch_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> LedgerEvent:
        """Write a ledger event (counters already changed), publish it to the outbox and
        announce it to the board streams, both in the central transaction (which commits after
        the cluster's, so a rolled-back recording is never announced)."""
        event = await EventRepository(session).append(
            LedgerEvent(
                tenant_id=job.tenant_id,
                id=uuid.uuid4(),
                job_id=job.id,
                order_id=job.order_id,
                size=size,
                stage=stage,
                kind=kind.value,
                quantity=quantity,
                to_stage=to_stage,
                reason_code=reason_code,
                worker=worker,
                dispatch_id=dispatch_id,
                actor_id=actor_id,
                # None: the database's now() (server default)
                **({"occurred_at": occurred_at} if occurred_at is not None else {}),
            )
        )
        await publish(
            central,
            PiecesRecorded(
                tenant_id=job.tenant_id,
                event_id=event.id,
                job_id=job.id,
                order_id=job.order_id,
                size=size,
                stage=stage,
                kind=kind.value,
                quantity=quantity,
                to_stage=to_stage,
            ),
        )
        await self.hub.announce(central, job.tenant_id, event_out(event).model_dump(mode="json"))
        return event

    async def _consume(
        self,
        session: AsyncSession,
        job: ProductionJob,
        event: LedgerEvent,
        body: RecordEvent,
        actor_id: uuid.UUID | None,
    ) -> list[ConsumptionOut]:
        """Material used for the pieces cut: planned from the BOM (per size x pieces), actual
        as reported (or the plan), each posted as an `out` stock movement."""
        bom = await self.products.get_bom(session, job.tenant_id, job.product_id)
        planned: dict[uuid.UUID, Decimal] = {}
        for line in bom.lines:
            if line.material_id is None:
                continue
            for item in line.consumption:
                if item.size == body.size:
                    planned[line.material_id] = planned.get(line.material_id, Decimal(0)) + (
                        Decimal(item.quantity) * body.quantity
                    )
        actual: dict[uuid.UUID, tuple[Decimal, uuid.UUID | None]] = {
            material_id: (quantity, None) for material_id, quantity in planned.items()
        }
        for use in body.materials or []:
            actual[use.material_id] = (Decimal(use.quantity), use.lot_id)
        out: list[ConsumptionOut] = []
        for material_id, (quantity, lot_id) in actual.items():
            plan = planned.get(material_id, Decimal(0))
            if quantity > 0:
                movement = await self.materials.move(
                    session,
                    job.tenant_id,
                    material_id,
                    CreateMovementRequest(
                        kind=MovementKind.OUT,
                        quantity=quantity_text(quantity),
                        lot_id=lot_id,
                        reason=f"Potong {job.order_number} {body.size} x{body.quantity}",
                    ),
                    actor_id,
                )
                session.add(
                    MaterialConsumption(
                        tenant_id=job.tenant_id,
                        id=uuid.uuid4(),
                        job_id=job.id,
                        event_id=event.id,
                        material_id=material_id,
                        size=body.size,
                        pieces=body.quantity,
                        planned=plan,
                        actual=quantity,
                        movement_id=movement.id,
                    )
                )
            out.append(
                ConsumptionOut(
                    material_id=material_id,
                    planned=quantity_text(plan),
                    actual=quantity_text(quantity),
                    variance=quantity_text(quantity - plan),
                )
            )
        await session.flush()
        return out

    async def check_complete(
        self,
        session: AsyncSession,
        central: AsyncSession,
        job: ProductionJob,
        actor_id: uuid.UUID | None,
    ) -> None:
        """Done when every size is packed or written off; the order is `ready` when all its
        jobs are done. The job row is locked first, so two last recordings of different sizes
        cannot both miss the other's."""
        locked = await JobRepository(session).by_id(job.tenant_id, job.id, for_update=True)
        assert locked is not None
        rows = await CounterRepository(session).of_jobs(job.tenant_id, [job.id], fresh=True)
        packed, written = settled(locked, rows)
        if any(packed[size] + written[size] < qty for size, qty in locked.planned.items()):
            return
        locked.status = JobStatus.DONE.value
        locked.completed_at = utcnow()
        await session.flush()
        siblings = await JobRepository(session).of_order(job.tenant_id, job.order_id)
        if all(sibling.status == JobStatus.DONE for sibling in siblings):
            await self.gateway().mark_ready(session, central, job.tenant_id, job.order_id, actor_id)
            await publish(
                central, ProductionCompleted(tenant_id=job.tenant_id, order_id=job.order_id)
            )

    async def list_events(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        job_id: uuid.UUID | None,
        order_id: uuid.UUID | None,
        page: PageParams,
    ) -> tuple[list[EventOut], str | None]:
        rows, cursor = await EventRepository(session).listed(
            tenant_id, job_id=job_id, order_id=order_id, page=page
        )
        return [event_out(row) for row in rows], cursor

    # --- what order costing reads ---------------------------------------------------------------

    async def cost_facts(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> list[JobCostFacts]:
        """Per job of the order (none before it starts): pieces cut, pieces paid per stage,
        material issued, makloon sent/accepted/charged. Four queries whatever the size."""
        jobs = await JobRepository(session).of_order(tenant_id, order_id)
        ids = [job.id for job in jobs]
        if not ids:
            return []
        cut: dict[uuid.UUID, int] = {}
        for row in await CounterRepository(session).of_jobs(tenant_id, ids):
            if row.position == 0:
                cut[row.job_id] = cut.get(row.job_id, 0) + row.entered
        paid: dict[uuid.UUID, dict[str, int]] = {}
        for job_id, stage, pieces in await EventRepository(session).paid_pieces(tenant_id, ids):
            paid.setdefault(job_id, {})[stage] = pieces
        used: dict[uuid.UUID, dict[uuid.UUID, Decimal]] = {}
        for job_id, material_id, quantity in await ConsumptionRepository(session).used(
            tenant_id, ids
        ):
            used.setdefault(job_id, {})[material_id] = quantity
        dispatches = DispatchRepository(session)
        sent_rows = await dispatches.of_jobs(tenant_id, ids)
        lines = await dispatches.lines(tenant_id, [row.id for row in sent_rows])
        sent: dict[uuid.UUID, tuple[int, int]] = {}
        for line in lines:
            pieces, accepted = sent.get(line.dispatch_id, (0, 0))
            sent[line.dispatch_id] = (pieces + line.sent, accepted + line.accepted)
        makloon: dict[uuid.UUID, list[MakloonCharge]] = {}
        for dispatch in sent_rows:
            pieces, accepted = sent.get(dispatch.id, (0, 0))
            makloon.setdefault(dispatch.job_id, []).append(
                MakloonCharge(
                    stage=dispatch.stage,
                    sent=pieces,
                    accepted=accepted,
                    rate_per_piece=dispatch.rate_per_piece,
                    charge=dispatch.charge,
                )
            )
        return [
            JobCostFacts(
                job_id=job.id,
                order_line_id=job.order_line_id,
                product_id=job.product_id,
                stages=list(job.stages),
                planned=dict(job.planned),
                cut=cut.get(job.id, 0),
                paid_out=paid.get(job.id, {}),
                materials=used.get(job.id, {}),
                makloon=makloon.get(job.id, []),
            )
            for job in jobs
        ]

    # --- board --------------------------------------------------------------------------------

    async def board(
        self, session: AsyncSession, tenant_id: uuid.UUID, today: date | None = None
    ) -> BoardOut:
        """WIP per stage and size, load against capacity, and late orders over active jobs."""
        jobs = await JobRepository(session).active(tenant_id)
        rows = await CounterRepository(session).of_jobs(tenant_id, [job.id for job in jobs])
        routings = await RoutingRepository(session).all_of(tenant_id)
        return compose_board(jobs, rows, routings, today)


def compose_board(
    jobs: Sequence[Any], rows: Sequence[Any], routings: Sequence[Any], today: date | None = None
) -> BoardOut:
    """The board from the active jobs, their counters and the routings (any objects with the
    models' attributes: the bench's bare baseline passes database records)."""
    today = today or datetime.now(UTC).date()
    capacity: dict[str, int] = {}
    order: list[str] = []
    for routing in sorted(routings, key=lambda r: r.scope != RoutingScope.DEFAULT):
        for stage in routing.stages:
            capacity.setdefault(stage["code"], int(stage.get("capacity_per_day", 0)))
            if stage["code"] not in order:
                order.append(stage["code"])
    by_job: dict[uuid.UUID, list[StageCounter]] = {}
    for row in rows:
        by_job.setdefault(row.job_id, []).append(row)
        if row.stage not in order:
            order.append(row.stage)
    wip: dict[str, dict[str, int]] = {code: {} for code in order}
    partner = dict.fromkeys(order, 0)
    load = dict.fromkeys(order, 0)
    late: list[LateJob] = []
    for job in jobs:
        job_rows = by_job.get(job.id, [])
        written: dict[str, int] = {}
        for row in job_rows:
            written[row.size] = written.get(row.size, 0) + row.written_off
        for row in job_rows:
            here = row.received - row.output - row.reworked - row.written_off - row.at_partner
            if here:
                wip[row.stage][row.size] = wip[row.stage].get(row.size, 0) + here
            partner[row.stage] += row.at_partner
            still = job.planned.get(row.size, 0) - written.get(row.size, 0) - row.output
            load[row.stage] += max(0, still)
        if job.due_date is None:
            continue
        packed, settled_off = settled(job, job_rows)
        remaining = sum(
            max(0, qty - packed[size] - settled_off[size]) for size, qty in job.planned.items()
        )
        rates = [capacity.get(stage, 0) for stage in job.stages]
        bottleneck = min(rates) if rates and min(rates) > 0 else 0
        needed = round(remaining / bottleneck, 2) if bottleneck else None
        days_left = (job.due_date - today).days
        is_late = days_left < 0 or (needed is not None and needed > days_left)
        if is_late or days_left <= 3:
            late.append(
                LateJob(
                    job_id=job.id,
                    order_id=job.order_id,
                    order_number=job.order_number,
                    due_date=job.due_date,
                    remaining=remaining,
                    days_left=days_left,
                    days_needed=needed,
                    late=is_late,
                )
            )
    stages = [
        StageLoad(
            stage=code,
            wip=wip[code],
            at_partner=partner[code],
            wip_total=sum(wip[code].values()),
            load=load[code],
            capacity_per_day=capacity.get(code, 0),
            days_of_work=round(load[code] / capacity[code], 2) if capacity.get(code) else None,
        )
        for code in order
    ]
    late.sort(key=lambda item: (not item.late, item.due_date))
    return BoardOut(active_jobs=len(jobs), stages=stages, late=late)
