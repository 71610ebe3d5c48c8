"""Production: routings, jobs (an order line in production), the per size x stage counters,
the piece ledger, material consumption at cutting, makloon partners and dispatches, borongan
rates and wage periods."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from garment.platform.db import TenantBase, TimestampMixin, check_in, new_id
from garment.platform.versioning import Versioned
from garment.tenant.production.states import (
    DispatchStatus,
    EventKind,
    JobStatus,
    PeriodStatus,
    RoutingScope,
)

QUANTITY = Numeric(18, 3)


class Routing(Versioned, TimestampMixin, TenantBase):
    """The ordered stages of a product, a category, or the tenant's default."""

    __tablename__ = "production_routings"
    __table_args__ = (
        CheckConstraint(check_in("scope", RoutingScope), name="scope"),
        CheckConstraint("(scope = 'default') = (target_id IS NULL)", name="target"),
        Index(
            "uq_production_routings_default",
            "tenant_id",
            unique=True,
            postgresql_where=text("scope = 'default'"),
        ),
        Index(
            "uq_production_routings_target",
            "tenant_id",
            "scope",
            "target_id",
            unique=True,
            postgresql_where=text("target_id IS NOT NULL"),
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # [{"code", "label_id", "label_en", "capacity_per_day"}] in order
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class ProductionJob(TimestampMixin, TenantBase):
    """One order line in production: its design, colour, planned pieces per size, and the
    stages it follows (a snapshot of the routing when it started)."""

    __tablename__ = "production_jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_line_id"),
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_production_jobs_tenant_id_orders",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "order_line_id"],
            ["order_lines.tenant_id", "order_lines.id"],
            name="fk_production_jobs_tenant_id_order_lines",
        ),
        CheckConstraint(check_in("status", JobStatus), name="status"),
        Index("ix_production_jobs_tenant_id_order_id", "tenant_id", "order_id"),
        Index("ix_production_jobs_tenant_id_status", "tenant_id", "status", "due_date"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    order_line_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    order_number: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    color: Mapped[str | None] = mapped_column(String(40))
    due_date: Mapped[date | None] = mapped_column(Date)
    stages: Mapped[list[str]] = mapped_column(JSONB)
    planned: Mapped[dict[str, int]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.ACTIVE)
    completed_at: Mapped[datetime | None] = mapped_column()


class StageCounter(TenantBase):
    """Pieces of one job x size at one stage. `available` = received - output - rejected -
    at_partner is what the stage may still output, reject or send out; open rejects =
    rejected - reworked - written_off. Every change locks this row first."""

    __tablename__ = "production_counters"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["production_jobs.tenant_id", "production_jobs.id"],
            ondelete="CASCADE",
            name="fk_production_counters_tenant_id_production_jobs",
        ),
        CheckConstraint(
            "entered >= 0 AND received >= 0 AND output >= 0 AND rejected >= 0 AND reworked >= 0 "
            "AND written_off >= 0 AND at_partner >= 0",
            name="non_negative",
        ),
        CheckConstraint("output + rejected + at_partner <= received", name="available"),
        CheckConstraint("reworked + written_off <= rejected", name="open_rejects"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    size: Mapped[str] = mapped_column(String(16), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    entered: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    received: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    output: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    rejected: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    reworked: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    written_off: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    at_partner: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class LedgerEvent(TenantBase):
    """One recorded piece event (append-only)."""

    __tablename__ = "production_events"
    __mapper_args__ = {"eager_defaults": True}  # seq and occurred_at come back by RETURNING
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["production_jobs.tenant_id", "production_jobs.id"],
            ondelete="CASCADE",
            name="fk_production_events_tenant_id_production_jobs",
        ),
        CheckConstraint(check_in("kind", EventKind), name="kind"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index("ix_production_events_tenant_id_job_id", "tenant_id", "job_id", "seq"),
        Index("ix_production_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    size: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    to_stage: Mapped[str | None] = mapped_column(String(32))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(64))
    dispatch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class MaterialConsumption(TenantBase):
    """Material used at cutting: planned from the BOM for the pieces cut, actual as issued."""

    __tablename__ = "production_consumptions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["production_jobs.tenant_id", "production_jobs.id"],
            ondelete="CASCADE",
            name="fk_production_consumptions_tenant_id_production_jobs",
        ),
        Index("ix_production_consumptions_tenant_id_job_id", "tenant_id", "job_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    material_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    size: Mapped[str] = mapped_column(String(16))
    pieces: Mapped[int] = mapped_column(Integer)
    planned: Mapped[Decimal] = mapped_column(QUANTITY)
    actual: Mapped[Decimal] = mapped_column(QUANTITY)
    movement_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class MakloonPartner(Versioned, TimestampMixin, TenantBase):
    __tablename__ = "makloon_partners"
    __table_args__ = (Index("ix_makloon_partners_tenant_id_name", "tenant_id", "name", "id"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(500))
    archived: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)


class MakloonDispatch(TimestampMixin, TenantBase):
    """Cut pieces sent to a partner for one stage (`MK/…`), per size in `MakloonLine`."""

    __tablename__ = "makloon_dispatches"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(
            ["tenant_id", "partner_id"],
            ["makloon_partners.tenant_id", "makloon_partners.id"],
            name="fk_makloon_dispatches_tenant_id_makloon_partners",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["production_jobs.tenant_id", "production_jobs.id"],
            name="fk_makloon_dispatches_tenant_id_production_jobs",
        ),
        CheckConstraint(check_in("status", DispatchStatus), name="status"),
        CheckConstraint("rate_per_piece >= 0", name="rate_per_piece"),
        Index("ix_makloon_dispatches_tenant_id_partner_id", "tenant_id", "partner_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32))
    partner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    stage: Mapped[str] = mapped_column(String(32))
    rate_per_piece: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=DispatchStatus.OPEN)
    charge: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    note: Mapped[str | None] = mapped_column(String(500))


class MakloonLine(TenantBase):
    """One size of a dispatch: sent, and what came back (accepted, rejected, short)."""

    __tablename__ = "makloon_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "dispatch_id"],
            ["makloon_dispatches.tenant_id", "makloon_dispatches.id"],
            ondelete="CASCADE",
            name="fk_makloon_lines_tenant_id_makloon_dispatches",
        ),
        CheckConstraint("accepted + rejected + short <= sent", name="returned"),
        CheckConstraint(
            "sent > 0 AND accepted >= 0 AND rejected >= 0 AND short >= 0", name="counts"
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    dispatch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    size: Mapped[str] = mapped_column(String(16), primary_key=True)
    sent: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    rejected: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    short: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class MakloonMaterial(TenantBase):
    """Material sent with a dispatch (fabric, cut panels, trims): it left our stock by an `out`
    movement into the partner's custody; what comes back unused is moved `in` again, what the
    partner used up is only accounted. Custody = sent - returned - consumed."""

    __tablename__ = "makloon_materials"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "dispatch_id"],
            ["makloon_dispatches.tenant_id", "makloon_dispatches.id"],
            ondelete="CASCADE",
            name="fk_makloon_materials_tenant_id_makloon_dispatches",
        ),
        CheckConstraint("sent > 0 AND returned >= 0 AND consumed >= 0", name="counts"),
        CheckConstraint("returned + consumed <= sent", name="returned"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    dispatch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    material_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    unit: Mapped[str] = mapped_column(String(8))
    sent: Mapped[Decimal] = mapped_column(QUANTITY)
    returned: Mapped[Decimal] = mapped_column(QUANTITY, server_default=text("0"), default=0)
    consumed: Mapped[Decimal] = mapped_column(QUANTITY, server_default=text("0"), default=0)
    movement_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class WageRate(Versioned, TimestampMixin, TenantBase):
    """Borongan: rupiah per accepted piece of an operation (stage), for a product, a category,
    or every design (both empty); `reject_deduction` per rejected piece blamed on the worker."""

    __tablename__ = "wage_rates"
    __table_args__ = (
        CheckConstraint("rate >= 0 AND reject_deduction >= 0", name="amounts"),
        CheckConstraint("product_id IS NULL OR category_id IS NULL", name="target"),
        Index("ix_wage_rates_tenant_id_stage", "tenant_id", "stage", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    stage: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    category_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rate: Mapped[int] = mapped_column(BigInteger)
    reject_deduction: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)


class WagePeriod(Versioned, TimestampMixin, TenantBase):
    """A pay period (dates inclusive); locking freezes its lines and refuses edits."""

    __tablename__ = "wage_periods"
    __table_args__ = (
        CheckConstraint(check_in("status", PeriodStatus), name="status"),
        CheckConstraint("starts_on <= ends_on", name="dates"),
        Index("ix_wage_periods_tenant_id_starts_on", "tenant_id", "starts_on", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=PeriodStatus.OPEN)
    locked_at: Mapped[datetime | None] = mapped_column()
    # the lines as locked: [{"worker", "stage", "accepted", "rejected", "amount", "deduction"}]
    locked_lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)


class WageAdjustment(TimestampMixin, TenantBase):
    """A bonus (+) or deduction (-) for a worker in an open period."""

    __tablename__ = "wage_adjustments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "period_id"],
            ["wage_periods.tenant_id", "wage_periods.id"],
            ondelete="CASCADE",
            name="fk_wage_adjustments_tenant_id_wage_periods",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    period_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    worker: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(200))
