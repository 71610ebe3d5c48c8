"""Materials, their lots (rolls), stock movements and reservations."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from garment.platform.db import TenantBase, TimestampMixin, check_in, new_id
from garment.platform.versioning import Versioned
from garment.tenant.materials.states import MovementKind, ReservationStatus, Unit

QUANTITY = Numeric(18, 3)


class Material(Versioned, TimestampMixin, TenantBase):
    __tablename__ = "materials"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint(check_in("unit", Unit), name="unit"),
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0", name="reserved"),
        CheckConstraint("reorder_level >= 0", name="reorder_level"),
        CheckConstraint("unit_cost >= 0", name="unit_cost"),
        Index("ix_materials_tenant_id_name", "tenant_id", "name", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(8))
    reorder_level: Mapped[Decimal] = mapped_column(QUANTITY, server_default=text("0"))
    on_hand: Mapped[Decimal] = mapped_column(QUANTITY, server_default=text("0"), default=0)
    reserved: Mapped[Decimal] = mapped_column(QUANTITY, server_default=text("0"), default=0)
    archived: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    # Standard cost in integer rupiah per unit (kg, m, pcs...): what order costing prices with.
    unit_cost: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)


class MaterialLot(TimestampMixin, TenantBase):
    """A roll or lot: its code, colour and dye lot, and what is left of it."""

    __tablename__ = "material_lots"
    __table_args__ = (
        UniqueConstraint("tenant_id", "material_id", "lot_number"),
        ForeignKeyConstraint(
            ["tenant_id", "material_id"],
            ["materials.tenant_id", "materials.id"],
            ondelete="CASCADE",
            name="fk_material_lots_tenant_id_materials",
        ),
        CheckConstraint("quantity >= 0", name="quantity"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    material_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lot_number: Mapped[str] = mapped_column(String(40))
    color: Mapped[str | None] = mapped_column(String(40))
    dye_lot: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    initial_quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    consumed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)


class StockMovement(TenantBase):
    """One change of a material's stock; `delta` is signed, `balance` the on-hand after it."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "material_id"],
            ["materials.tenant_id", "materials.id"],
            ondelete="CASCADE",
            name="fk_stock_movements_tenant_id_materials",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "lot_id"],
            ["material_lots.tenant_id", "material_lots.id"],
            ondelete="CASCADE",
            name="fk_stock_movements_tenant_id_material_lots",
        ),
        CheckConstraint(check_in("kind", MovementKind), name="kind"),
        Index("ix_stock_movements_tenant_id_material_id", "tenant_id", "material_id", "seq"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    material_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lot_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    delta: Mapped[Decimal] = mapped_column(QUANTITY)
    balance: Mapped[Decimal] = mapped_column(QUANTITY)
    reason: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class StockReservation(TimestampMixin, TenantBase):
    """Stock held for an order (or another reference) until released or consumed."""

    __tablename__ = "stock_reservations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "material_id"],
            ["materials.tenant_id", "materials.id"],
            ondelete="CASCADE",
            name="fk_stock_reservations_tenant_id_materials",
        ),
        CheckConstraint(check_in("status", ReservationStatus), name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    material_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    reference: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.ACTIVE)
