"""Sales documents: orders with a size-breakdown grid per line (expanded into one row per line x
size), their status history and payments; quotations with revisions; delivery notes per size.

Every table leads its keys with `tenant_id` and sits behind the tenant policy. Money is integer
rupiah. `order_line_sizes` is the order x size row production counts against.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from garment.platform.db import TenantBase, TimestampMixin, check_in, new_id
from garment.platform.versioning import Versioned
from garment.tenant.orders.states import (
    ArtworkStatus,
    OrderStatus,
    PaymentMethod,
    QuotationStatus,
)


class Order(Versioned, TimestampMixin, TenantBase):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint(check_in("status", OrderStatus), name="status"),
        CheckConstraint(
            "subtotal >= 0 AND discount >= 0 AND tax_base >= 0 AND ppn >= 0 AND total >= 0 "
            "AND paid_amount >= 0 AND down_payment_due >= 0",
            name="amounts",
        ),
        Index("ix_orders_tenant_id_created_at", "tenant_id", "created_at", "id"),
        Index("ix_orders_tenant_id_status", "tenant_id", "status", "created_at"),
        Index("ix_orders_tenant_id_customer_id", "tenant_id", "customer_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32))  # SO/2026/000123
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    quotation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.DRAFT)
    order_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(2000))
    quantity: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    subtotal: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    discount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    tax_base: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    ppn: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    total: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    # The down payment the tenant's policy asks for (fixed when the order is confirmed).
    down_payment_due: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    paid_amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class OrderLine(Versioned, TimestampMixin, TenantBase):
    """Product + colour + `{size: qty}` (kept as the grid for re-editing)."""

    __tablename__ = "order_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            ondelete="CASCADE",
            name="fk_order_lines_tenant_id_orders",
        ),
        CheckConstraint(check_in("artwork_status", ArtworkStatus), name="artwork_status"),
        CheckConstraint("quantity >= 0 AND amount >= 0", name="amounts"),
        Index("ix_order_lines_tenant_id_order_id", "tenant_id", "order_id", "position"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    color: Mapped[str] = mapped_column(String(32))
    # {"S": 10, "M": 20, ...} in the product's size order.
    size_breakdown: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    quantity: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    artwork_status: Mapped[str] = mapped_column(String(16), default=ArtworkStatus.PENDING)
    artwork_file_ref: Mapped[str | None] = mapped_column(String(500))
    artwork_note: Mapped[str | None] = mapped_column(String(500))


class OrderLineSize(TenantBase):
    """One variant row: line x size, with its quantity and unit price (and what was delivered)."""

    __tablename__ = "order_line_sizes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "line_id", "size"),
        ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["order_lines.tenant_id", "order_lines.id"],
            ondelete="CASCADE",
            name="fk_order_line_sizes_tenant_id_order_lines",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            ondelete="CASCADE",
            name="fk_order_line_sizes_tenant_id_orders",
        ),
        CheckConstraint("qty > 0", name="qty"),
        CheckConstraint("unit_price >= 0 AND amount >= 0", name="amounts"),
        CheckConstraint("delivered_qty >= 0 AND delivered_qty <= qty", name="delivered_qty"),
        Index("ix_order_line_sizes_tenant_id_order_id", "tenant_id", "order_id", "position"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    line_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    variant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    size: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer)  # the size's place in the product's grid
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    delivered_qty: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class OrderLinePerson(TenantBase):
    """One person of a names-and-sizes list attached to a line (the packing list)."""

    __tablename__ = "order_line_people"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["order_lines.tenant_id", "order_lines.id"],
            ondelete="CASCADE",
            name="fk_order_line_people_tenant_id_order_lines",
        ),
        Index("ix_order_line_people_tenant_id_line_id", "tenant_id", "line_id", "position"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    line_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    size: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(String(200))


class OrderStatusChange(TenantBase):
    __tablename__ = "order_status_history"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            ondelete="CASCADE",
            name="fk_order_status_history_tenant_id_orders",
        ),
        Index("ix_order_status_history_tenant_id_order_id", "tenant_id", "order_id", "seq"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    seq: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class OrderPayment(TenantBase):
    __tablename__ = "order_payments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            ondelete="CASCADE",
            name="fk_order_payments_tenant_id_orders",
        ),
        CheckConstraint(check_in("method", PaymentMethod), name="method"),
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_order_payments_tenant_id_order_id", "tenant_id", "order_id", "created_at"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    proof_reference: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Quotation(Versioned, TimestampMixin, TenantBase):
    __tablename__ = "quotations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint(check_in("status", QuotationStatus), name="status"),
        Index("ix_quotations_tenant_id_created_at", "tenant_id", "created_at", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32))  # QT/2026/000001
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), default=QuotationStatus.OPEN)
    current_revision: Mapped[int] = mapped_column(Integer, default=1)
    order_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class QuotationRevision(TenantBase):
    """One revision (v1, v2, …): its lines (product, colour, `{size: qty}`, priced) and totals."""

    __tablename__ = "quotation_revisions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "quotation_id", "revision"),
        ForeignKeyConstraint(
            ["tenant_id", "quotation_id"],
            ["quotations.tenant_id", "quotations.id"],
            ondelete="CASCADE",
            name="fk_quotation_revisions_tenant_id_quotations",
        ),
        CheckConstraint("revision >= 1", name="revision"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    quotation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    revision: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(2000))
    discount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    quantity: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    subtotal: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    tax_base: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    ppn: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    total: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Delivery(TenantBase):
    """A delivery note (surat jalan, `SJ/2026/000001`)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name="fk_deliveries_tenant_id_orders",
        ),
        Index("ix_deliveries_tenant_id_created_at", "tenant_id", "created_at", "id"),
        Index("ix_deliveries_tenant_id_order_id", "tenant_id", "order_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    delivered_on: Mapped[date] = mapped_column(Date)
    recipient: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(String(2000))
    quantity: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class DeliveryLine(TenantBase):
    __tablename__ = "delivery_lines"
    __table_args__ = (
        UniqueConstraint("tenant_id", "delivery_id", "line_size_id"),
        ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["deliveries.tenant_id", "deliveries.id"],
            ondelete="CASCADE",
            name="fk_delivery_lines_tenant_id_deliveries",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "line_size_id"],
            ["order_line_sizes.tenant_id", "order_line_sizes.id"],
            name="fk_delivery_lines_tenant_id_order_line_sizes",
        ),
        CheckConstraint("qty > 0", name="qty"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    line_size_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    line_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    size: Mapped[str] = mapped_column(String(8))
    qty: Mapped[int] = mapped_column(Integer)
