"""Customer invoices (DP and final, per order), their lines and the payments applied to them,
and the tenant's tax settings. Every table leads its keys with `tenant_id` and sits behind the
tenant policy; money is integer rupiah.

An invoice references its order and customer by id only (the orders and customers contexts own
those rows); payments applied to an invoice point at the order payment that recorded the money,
so a rupiah is counted once (`order_payments`) and only allocated here."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from garment.platform.db import TenantBase, TimestampMixin, check_in, new_id
from garment.platform.versioning import Versioned
from garment.tenant.invoicing.states import GoodsOrService, InvoiceKind, InvoiceStatus

# Coretax codes of a garment line: goods counted in pieces, the general goods code.
DEFAULT_UNIT_CODE = "UM.0018"
DEFAULT_GOODS_CODE = "000000"


class TaxSettings(Versioned, TimestampMixin, TenantBase):
    """The seller's tax identity and rates (PKP itself is the tenant settings' `pkp` flag)."""

    __tablename__ = "tax_settings"
    __table_args__ = (
        CheckConstraint("ppn_rate BETWEEN 0 AND 100", name="ppn_rate"),
        CheckConstraint(
            "base_numerator >= 1 AND base_denominator >= 1 AND base_numerator <= base_denominator",
            name="base_ratio",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    npwp: Mapped[str | None] = mapped_column(String(16))
    nitku: Mapped[str | None] = mapped_column(String(22))
    ppn_rate: Mapped[int] = mapped_column(Integer, server_default=text("12"), default=12)
    base_numerator: Mapped[int] = mapped_column(Integer, server_default=text("11"), default=11)
    base_denominator: Mapped[int] = mapped_column(Integer, server_default=text("12"), default=12)
    seller_address: Mapped[str | None] = mapped_column(String(500))
    # Coretax codes for the goods lines (a garment is goods, counted in pieces).
    unit_code: Mapped[str] = mapped_column(
        String(16), server_default=text("'UM.0018'"), default="UM.0018"
    )
    goods_code: Mapped[str] = mapped_column(
        String(6), server_default=text("'000000'"), default="000000"
    )


class Invoice(Versioned, TimestampMixin, TenantBase):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "nsfp"),
        ForeignKeyConstraint(
            ["tenant_id", "replaces_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_invoices_tenant_id_replaces",
        ),
        CheckConstraint(check_in("kind", InvoiceKind), name="kind"),
        CheckConstraint(check_in("status", InvoiceStatus), name="status"),
        CheckConstraint(
            "subtotal >= 0 AND discount >= 0 AND deduction >= 0 AND price >= 0 "
            "AND other_tax_base >= 0 AND ppn >= 0 AND total >= 0 AND paid_amount >= 0 "
            "AND paid_amount <= total",
            name="amounts",
        ),
        # One DP invoice and one final invoice per order at a time (void and replaced ones
        # give the slot back): the database holds it under concurrent creates.
        Index(
            "uq_invoices_tenant_id_order_id_kind",
            "tenant_id",
            "order_id",
            "kind",
            unique=True,
            postgresql_where=text("status IN ('draft', 'issued', 'partially_paid', 'paid')"),
        ),
        Index("ix_invoices_tenant_id_created_at", "tenant_id", "created_at", "id"),
        Index("ix_invoices_tenant_id_customer_id", "tenant_id", "customer_id", "due_date"),
        Index("ix_invoices_tenant_id_issue_date", "tenant_id", "issue_date"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    number: Mapped[str | None] = mapped_column(String(32))  # INV/2026/000001, taken at issue
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.DRAFT)
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    order_number: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    issue_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    # The tax rule the amounts were computed with (a later settings change leaves them be).
    pkp: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    ppn_rate: Mapped[int] = mapped_column(Integer)
    base_numerator: Mapped[int] = mapped_column(Integer)
    base_denominator: Mapped[int] = mapped_column(Integer)
    subtotal: Mapped[int] = mapped_column(BigInteger)  # Σ lines
    discount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    # The final invoice: the DP invoice's price deducted (its PPN is deducted from `ppn`).
    deduction: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    deducted_ppn: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    down_payment_invoice_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    price: Mapped[int] = mapped_column(BigInteger)  # the taxable amount (DPP)
    other_tax_base: Mapped[int] = mapped_column(BigInteger)  # DPP nilai lain
    ppn: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    paid_amount: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    notes: Mapped[str | None] = mapped_column(String(2000))
    coretax_exported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    nsfp: Mapped[str | None] = mapped_column(String(17))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class InvoiceLine(TenantBase):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            ondelete="CASCADE",
            name="fk_invoice_lines_tenant_id_invoices",
        ),
        CheckConstraint(check_in("opt", GoodsOrService), name="opt"),
        CheckConstraint("qty > 0 AND unit_price >= 0 AND amount >= 0", name="amounts"),
        Index("ix_invoice_lines_tenant_id_invoice_id", "tenant_id", "invoice_id", "position"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    opt: Mapped[str] = mapped_column(String(1))
    goods_code: Mapped[str] = mapped_column(String(6))
    unit_code: Mapped[str] = mapped_column(String(16))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)


class InvoicePayment(TenantBase):
    """Part (or all) of an order payment applied to one invoice."""

    __tablename__ = "invoice_payments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_invoice_payments_tenant_id_invoices",
        ),
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_invoice_payments_tenant_id_invoice_id", "tenant_id", "invoice_id"),
        Index("ix_invoice_payments_tenant_id_order_payment_id", "tenant_id", "order_payment_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    order_payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
