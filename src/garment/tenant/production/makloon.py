"""Makloon: partners, dispatches of cut pieces per size (`MK/…`), partial returns with
accepted / rejected / short counts, custody balance and ageing, charges on accepted pieces.

No piece is counted twice: a dispatch moves pieces of a stage from `available` to
`at_partner` (the stage still holds them); a return moves accepted pieces to the stage's output
(so they enter the next stage once), rejected ones to its rejects, short ones to written off."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.errors import AppError, FieldErrors
from garment.platform.pagination import PageParams
from garment.platform.versioning import apply_changes
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.conventions.service import DocumentType, next_document_number
from garment.tenant.materials.schemas import CreateMovementRequest
from garment.tenant.materials.states import MovementKind
from garment.tenant.production.errors import (
    EMPTY_COUNTS,
    EMPTY_DISPATCH,
    JOB_CLOSED,
    MAKLOON_MATERIAL_EXCEEDS,
    MAKLOON_RETURN_EXCEEDS,
    NOT_IN_DISPATCH,
    NOT_IN_DISPATCH_MATERIAL,
    REPEATED_MATERIAL,
    UNKNOWN_JOB,
    UNKNOWN_JOB_SIZE,
    UNKNOWN_MATERIAL,
    UNKNOWN_PARTNER,
    UNKNOWN_STAGE,
)
from garment.tenant.production.models import (
    MakloonDispatch,
    MakloonLine,
    MakloonMaterial,
    MakloonPartner,
)
from garment.tenant.production.repository import (
    DISPATCH_KEYSET,
    PARTNER_KEYSET,
    CounterRepository,
    DispatchRepository,
    JobRepository,
    PartnerRepository,
)
from garment.tenant.production.schemas import (
    AgeingBuckets,
    CustodyOut,
    DispatchCreate,
    DispatchLineOut,
    DispatchMaterialOut,
    DispatchOut,
    MaterialCustody,
    PartnerCreate,
    ReceiptCreate,
)
from garment.tenant.production.service import (
    ProductionService,
    available,
    exceeds,
    not_found,
    quantity_text,
)
from garment.tenant.production.states import DispatchStatus, EventKind, JobStatus

PARTNER_FIELDS = ("name", "phone", "address", "archived")


def material_balance(row: MakloonMaterial) -> Decimal:
    return row.sent - row.returned - row.consumed


def line_balance(line: MakloonLine) -> int:
    return line.sent - line.accepted - line.rejected - line.short


def dispatch_out(
    dispatch: MakloonDispatch,
    lines: Sequence[MakloonLine],
    materials: Sequence[MakloonMaterial] = (),
) -> DispatchOut:
    out = [
        DispatchLineOut(
            size=line.size,
            sent=line.sent,
            accepted=line.accepted,
            rejected=line.rejected,
            short=line.short,
            balance=line.sent - line.accepted - line.rejected - line.short,
        )
        for line in lines
    ]
    return DispatchOut(
        id=dispatch.id,
        number=dispatch.number,
        partner_id=dispatch.partner_id,
        job_id=dispatch.job_id,
        stage=dispatch.stage,
        rate_per_piece=dispatch.rate_per_piece,
        status=DispatchStatus(dispatch.status),
        charge=dispatch.charge,
        lines=out,
        materials=[
            DispatchMaterialOut(
                material_id=row.material_id,
                unit=row.unit,
                sent=quantity_text(row.sent),
                returned=quantity_text(row.returned),
                consumed=quantity_text(row.consumed),
                balance=quantity_text(material_balance(row)),
            )
            for row in materials
        ],
        balance=sum(line.balance for line in out),
        note=dispatch.note,
        created_at=dispatch.created_at,
    )


class MakloonService:
    partner_keyset = PARTNER_KEYSET
    dispatch_keyset = DISPATCH_KEYSET

    def __init__(self, production: ProductionService) -> None:
        self.production = production

    # --- partners -----------------------------------------------------------------------------

    async def _partner(
        self, session: AsyncSession, tenant_id: uuid.UUID, partner_id: uuid.UUID
    ) -> MakloonPartner:
        partner = await PartnerRepository(session).by_id(tenant_id, partner_id)
        if partner is None:
            raise not_found()
        return partner

    async def create_partner(
        self, session: AsyncSession, tenant_id: uuid.UUID, body: PartnerCreate, actor_id: uuid.UUID
    ) -> MakloonPartner:
        partner = await PartnerRepository(session).create(
            MakloonPartner(tenant_id=tenant_id, id=uuid.uuid4(), **body.model_dump())
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="makloon_partner",
            entity_id=partner.id,
            after=snapshot(partner, PARTNER_FIELDS),
        )
        return partner

    async def get_partner(
        self, session: AsyncSession, tenant_id: uuid.UUID, partner_id: uuid.UUID
    ) -> MakloonPartner:
        return await self._partner(session, tenant_id, partner_id)

    async def list_partners(
        self, session: AsyncSession, tenant_id: uuid.UUID, *, archived: bool, page: PageParams
    ) -> tuple[list[MakloonPartner], str | None]:
        return await PartnerRepository(session).listed(
            tenant_id, include_archived=archived, page=page
        )

    async def update_partner(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        partner_id: uuid.UUID,
        changes: dict[str, Any],
        expected_version: int | None,
        actor_id: uuid.UUID,
    ) -> MakloonPartner:
        partner = await self._partner(session, tenant_id, partner_id)
        before = snapshot(partner, PARTNER_FIELDS)
        if await apply_changes(session, partner, expected_version, changes):
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=actor_id,
                action=AuditAction.UPDATE,
                entity_type="makloon_partner",
                entity_id=partner.id,
                before=before,
                after=snapshot(partner, PARTNER_FIELDS),
            )
        return partner

    # --- dispatches ---------------------------------------------------------------------------

    async def dispatch(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        body: DispatchCreate,
        actor_id: uuid.UUID,
    ) -> DispatchOut:
        problems = FieldErrors()
        partner = await PartnerRepository(session).by_id(tenant_id, body.partner_id)
        if partner is None or partner.archived:
            problems.add("partner_id", UNKNOWN_PARTNER)
        job = await JobRepository(session).by_id(tenant_id, body.job_id)
        if job is None:
            problems.add("job_id", UNKNOWN_JOB)
        else:
            if body.stage not in job.stages:
                problems.add("stage", UNKNOWN_STAGE, stage=body.stage)
            for size in body.sizes:
                if size not in job.planned:
                    problems.add(f"sizes.{size}", UNKNOWN_JOB_SIZE, size=size)
        if not body.sizes and not body.materials:
            problems.add("sizes", EMPTY_DISPATCH)
        units = await self._material_units(
            session, tenant_id, [use.material_id for use in body.materials], problems
        )
        problems.raise_if_any()
        assert job is not None and partner is not None
        if job.status != JobStatus.ACTIVE:
            raise AppError(JOB_CLOSED)
        counters = CounterRepository(session)
        dispatch = MakloonDispatch(
            tenant_id=tenant_id,
            id=uuid.uuid4(),
            number=await next_document_number(session, tenant_id, DocumentType.MAKLOON_DISPATCH),
            partner_id=body.partner_id,
            job_id=job.id,
            stage=body.stage,
            rate_per_piece=body.rate_per_piece,
            status=DispatchStatus.OPEN.value,
            charge=0,
            note=body.note,
        )
        session.add(dispatch)
        await session.flush()
        lines: list[MakloonLine] = []
        for size, pieces in sorted(body.sizes.items()):
            row = (await counters.locked(tenant_id, job.id, size, [body.stage]))[body.stage]
            if pieces > available(row):
                raise exceeds(row, available(row), pieces)
            row.at_partner += pieces
            lines.append(
                MakloonLine(
                    tenant_id=tenant_id,
                    dispatch_id=dispatch.id,
                    size=size,
                    sent=pieces,
                    accepted=0,
                    rejected=0,
                    short=0,
                )
            )
            await self.production.append(
                session,
                central,
                job,
                size=size,
                stage=body.stage,
                kind=EventKind.DISPATCH,
                quantity=pieces,
                actor_id=actor_id,
                dispatch_id=dispatch.id,
            )
        session.add_all(lines)
        materials: list[MakloonMaterial] = []
        for use in body.materials:
            movement = await self.production.materials.move(
                session,
                tenant_id,
                use.material_id,
                CreateMovementRequest(
                    kind=MovementKind.OUT,
                    quantity=use.quantity,
                    lot_id=use.lot_id,
                    reason=f"Makloon {dispatch.number} ke {partner.name}"[:200],
                ),
                actor_id,
            )
            materials.append(
                MakloonMaterial(
                    tenant_id=tenant_id,
                    dispatch_id=dispatch.id,
                    material_id=use.material_id,
                    unit=units[use.material_id],
                    sent=Decimal(use.quantity),
                    returned=Decimal(0),
                    consumed=Decimal(0),
                    movement_id=movement.id,
                )
            )
        session.add_all(materials)
        await session.flush()
        await session.refresh(dispatch, ["created_at"])
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="makloon_dispatch",
            entity_id=dispatch.id,
            after={
                "number": dispatch.number,
                "sizes": dict(body.sizes),
                "materials": {str(use.material_id): use.quantity for use in body.materials},
            },
        )
        return dispatch_out(dispatch, lines, materials)

    async def _material_units(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        material_ids: list[uuid.UUID],
        problems: FieldErrors,
    ) -> dict[uuid.UUID, str]:
        """The unit of each material sent (an unknown or archived one, or one listed twice, is
        a field error)."""
        units: dict[uuid.UUID, str] = {}
        for index, material_id in enumerate(material_ids):
            field = f"materials.{index}.material_id"
            if material_id in units:
                problems.add(field, REPEATED_MATERIAL)
                continue
            try:
                material = await self.production.materials.get(session, tenant_id, material_id)
            except AppError:
                problems.add(field, UNKNOWN_MATERIAL)
                continue
            if material.archived:
                problems.add(field, UNKNOWN_MATERIAL)
                continue
            units[material_id] = str(material.unit)
        return units

    async def get_dispatch(
        self, session: AsyncSession, tenant_id: uuid.UUID, dispatch_id: uuid.UUID
    ) -> DispatchOut:
        repo = DispatchRepository(session)
        dispatch = await repo.by_id(tenant_id, dispatch_id)
        if dispatch is None:
            raise not_found()
        return dispatch_out(
            dispatch,
            await repo.lines(tenant_id, [dispatch.id]),
            await repo.materials(tenant_id, [dispatch.id]),
        )

    async def list_dispatches(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        partner_id: uuid.UUID | None,
        status: DispatchStatus | None,
        page: PageParams,
    ) -> tuple[list[DispatchOut], str | None]:
        repo = DispatchRepository(session)
        rows, cursor = await repo.listed(
            tenant_id, partner_id=partner_id, status=status.value if status else None, page=page
        )
        ids = [row.id for row in rows]
        by: dict[uuid.UUID, list[MakloonLine]] = {}
        for line in await repo.lines(tenant_id, ids):
            by.setdefault(line.dispatch_id, []).append(line)
        held: dict[uuid.UUID, list[MakloonMaterial]] = {}
        for material in await repo.materials(tenant_id, ids):
            held.setdefault(material.dispatch_id, []).append(material)
        return [dispatch_out(row, by.get(row.id, []), held.get(row.id, [])) for row in rows], cursor

    async def receive(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        dispatch_id: uuid.UUID,
        body: ReceiptCreate,
        actor_id: uuid.UUID,
    ) -> DispatchOut:
        """A (partial) return. The dispatch row is locked first; accepted pieces become the
        stage's output, rejected its rejects, short written off; charge = accepted x rate."""
        repo = DispatchRepository(session)
        dispatch = await repo.by_id(tenant_id, dispatch_id, for_update=True)
        if dispatch is None:
            raise not_found()
        lines = {line.size: line for line in await repo.lines(tenant_id, [dispatch.id])}
        held = {row.material_id: row for row in await repo.materials(tenant_id, [dispatch.id])}
        problems = FieldErrors()
        if not body.sizes and not body.materials:
            problems.add("sizes", EMPTY_COUNTS)
        for size, counts in body.sizes.items():
            if size not in lines:
                problems.add(f"sizes.{size}", NOT_IN_DISPATCH, size=size)
            elif counts.accepted + counts.rejected + counts.short == 0:
                problems.add(f"sizes.{size}", EMPTY_COUNTS)
        seen: set[uuid.UUID] = set()
        for index, back in enumerate(body.materials):
            if back.material_id not in held:
                problems.add(f"materials.{index}.material_id", NOT_IN_DISPATCH_MATERIAL)
            elif back.material_id in seen:
                problems.add(f"materials.{index}.material_id", REPEATED_MATERIAL)
            elif Decimal(back.returned) + Decimal(back.consumed) == 0:
                problems.add(f"materials.{index}", EMPTY_COUNTS)
            seen.add(back.material_id)
        problems.raise_if_any()
        job = await JobRepository(session).by_id(tenant_id, dispatch.job_id)
        assert job is not None
        # Pieces move a finished job's counters: refused. Material left at the partner can still
        # come back (or be reported used) after the job is done.
        if body.sizes and job.status != JobStatus.ACTIVE:
            raise AppError(JOB_CLOSED)
        stages = job.stages
        index = stages.index(dispatch.stage)
        following = stages[index + 1] if index + 1 < len(stages) else None
        touched = sorted({dispatch.stage, *([following] if following else [])})
        counters = CounterRepository(session)
        settles = False
        for size, counts in sorted(body.sizes.items()):
            line = lines[size]
            balance = line.sent - line.accepted - line.rejected - line.short
            returned = counts.accepted + counts.rejected + counts.short
            if returned > balance:
                params = {"size": size, "balance": balance, "requested": returned}
                raise AppError(MAKLOON_RETURN_EXCEEDS, params=params, extra=params)
            line.accepted += counts.accepted
            line.rejected += counts.rejected
            line.short += counts.short
            rows = await counters.locked(tenant_id, job.id, size, touched)
            row = rows[dispatch.stage]
            row.at_partner -= returned
            row.output += counts.accepted
            if following is not None:
                rows[following].received += counts.accepted
            row.rejected += counts.rejected + counts.short
            row.written_off += counts.short
            for kind, quantity, reason in (
                (EventKind.OUT, counts.accepted, None),
                (EventKind.REJECT, counts.rejected, body.reason_code),
                (EventKind.SHORT, counts.short, "short"),
            ):
                if quantity:
                    await self.production.append(
                        session,
                        central,
                        job,
                        size=size,
                        stage=dispatch.stage,
                        kind=kind,
                        quantity=quantity,
                        actor_id=actor_id,
                        reason_code=reason,
                        dispatch_id=dispatch.id,
                    )
            if counts.short or (following is None and counts.accepted):
                settles = True
        await self._materials_back(session, dispatch, held, body, actor_id)
        dispatch.charge = sum(line.accepted for line in lines.values()) * dispatch.rate_per_piece
        if all(line_balance(line) == 0 for line in lines.values()) and all(
            material_balance(row) == 0 for row in held.values()
        ):
            dispatch.status = DispatchStatus.CLOSED.value
        await session.flush()
        if settles:
            await self.production.check_complete(session, central, job, actor_id)
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.UPDATE,
            entity_type="makloon_dispatch",
            entity_id=dispatch.id,
            after={
                "received": {size: c.model_dump() for size, c in body.sizes.items()},
                "materials": [back.model_dump(mode="json") for back in body.materials],
            },
        )
        return dispatch_out(dispatch, list(lines.values()), list(held.values()))

    async def _materials_back(
        self,
        session: AsyncSession,
        dispatch: MakloonDispatch,
        held: dict[uuid.UUID, MakloonMaterial],
        body: ReceiptCreate,
        actor_id: uuid.UUID,
    ) -> None:
        """Returned material goes back into our stock (an `in` movement); consumed material is
        only accounted (it left our stock at dispatch). Never more than the partner holds."""
        for back in body.materials:
            row = held[back.material_id]
            returned, consumed = Decimal(back.returned), Decimal(back.consumed)
            balance = material_balance(row)
            if returned + consumed > balance:
                params = {
                    "material_id": str(row.material_id),
                    "unit": row.unit,
                    "balance": quantity_text(balance),
                    "requested": quantity_text(returned + consumed),
                }
                raise AppError(MAKLOON_MATERIAL_EXCEEDS, params=params, extra=params)
            if returned > 0:
                await self.production.materials.move(
                    session,
                    dispatch.tenant_id,
                    row.material_id,
                    CreateMovementRequest(
                        kind=MovementKind.IN,
                        quantity=quantity_text(returned),
                        lot_id=back.lot_id,
                        reason=f"Kembali dari makloon {dispatch.number}",
                    ),
                    actor_id,
                )
            row.returned += returned
            row.consumed += consumed

    async def custody(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        partner_id: uuid.UUID,
        now: datetime | None = None,
    ) -> CustodyOut:
        """What the partner holds, by size; ageing by dispatch date; charges so far."""
        await self._partner(session, tenant_id, partner_id)
        now = now or datetime.now(UTC)
        repo = DispatchRepository(session)
        dispatches = await repo.of_partner(tenant_id, partner_id)
        ids = [row.id for row in dispatches]
        lines = await repo.lines(tenant_id, ids)
        materials: dict[uuid.UUID, MaterialCustody] = {}
        for row in await repo.materials(tenant_id, ids):
            left = material_balance(row)
            if left:
                custody = materials.setdefault(
                    row.material_id,
                    MaterialCustody(material_id=row.material_id, unit=row.unit, balance="0"),
                )
                custody.balance = quantity_text(Decimal(custody.balance) + left)
        by_size: dict[str, int] = {}
        buckets = {"days_0_7": 0, "days_8_14": 0, "days_15_30": 0, "over_30": 0}
        held: dict[uuid.UUID, int] = {}
        for line in lines:
            balance = line.sent - line.accepted - line.rejected - line.short
            if balance:
                by_size[line.size] = by_size.get(line.size, 0) + balance
                held[line.dispatch_id] = held.get(line.dispatch_id, 0) + balance
        oldest: datetime | None = None
        for dispatch in dispatches:
            pieces = held.get(dispatch.id, 0)
            if not pieces:
                continue
            oldest = dispatch.created_at if oldest is None else min(oldest, dispatch.created_at)
            age = (now - dispatch.created_at).days
            key = (
                "days_0_7"
                if age <= 7
                else "days_8_14"
                if age <= 14
                else "days_15_30"
                if age <= 30
                else "over_30"
            )
            buckets[key] += pieces
        return CustodyOut(
            partner_id=partner_id,
            balance=sum(by_size.values()),
            by_size=by_size,
            materials=sorted(materials.values(), key=lambda item: str(item.material_id)),
            charges=sum(dispatch.charge for dispatch in dispatches),
            oldest_open=oldest,
            ageing=AgeingBuckets(**buckets),
        )
