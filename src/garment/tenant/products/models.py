"""Products (designs), their size-by-colour variants, price tiers and bill of materials."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from garment.platform.db import TenantBase, TimestampMixin, check_in, new_id
from garment.platform.versioning import Versioned
from garment.tenant.products.states import BomLineKind, CustomerType, ProductStatus, ServiceKind

# Material quantities: up to 10 integer digits and 3 decimals in requests; sums stay in range.
QUANTITY = Numeric(18, 3)


class Product(Versioned, TimestampMixin, TenantBase):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        CheckConstraint(check_in("status", ProductStatus), name="status"),
        CheckConstraint("base_price >= 0", name="base_price"),
        ForeignKeyConstraint(
            ["tenant_id", "category_id"],
            ["taxonomy_terms.tenant_id", "taxonomy_terms.id"],
            name="fk_products_category",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "collection_id"],
            ["taxonomy_terms.tenant_id", "taxonomy_terms.id"],
            name="fk_products_collection",
        ),
        Index("ix_products_tenant_id_created_at", "tenant_id", "created_at", "id"),
        Index("ix_products_tenant_id_name", "tenant_id", "name", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    collection_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    description: Mapped[str | None] = mapped_column(Text)
    base_price: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.DRAFT)
    image_urls: Mapped[list[str]] = mapped_column(
        ARRAY(String(2000)), server_default=text("'{}'"), default=list
    )
    # The size set in grid order and each size's surcharge on top of the base price
    # (XXL +Rp 10.000), side by side; the colour set in grid order.
    sizes: Mapped[list[str]] = mapped_column(ARRAY(String(8)), default=list)
    size_surcharges: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    colors: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    variant_count: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class ProductVariant(Versioned, TimestampMixin, TenantBase):
    __tablename__ = "product_variants"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        UniqueConstraint("tenant_id", "product_id", "size", "color"),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            ondelete="CASCADE",
            name="fk_product_variants_tenant_id_products",
        ),
        CheckConstraint("price_override IS NULL OR price_override >= 0", name="price_override"),
        CheckConstraint("stock >= 0", name="stock"),
        Index("ix_product_variants_tenant_id_product_id", "tenant_id", "product_id", "position"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    size: Mapped[str] = mapped_column(String(8))
    color: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(90))
    price_override: Mapped[int | None] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class PriceTier(Versioned, TimestampMixin, TenantBase):
    """The unit price of a design for one customer type from a minimum quantity (counted over
    every size and colour of the design on an order line)."""

    __tablename__ = "price_tiers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "product_id", "customer_type", "min_quantity"),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            ondelete="CASCADE",
            name="fk_price_tiers_tenant_id_products",
        ),
        CheckConstraint(check_in("customer_type", CustomerType), name="customer_type"),
        CheckConstraint("min_quantity >= 1", name="min_quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    customer_type: Mapped[str] = mapped_column(String(16))
    min_quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)


class BomLine(TenantBase):
    """One line of a design's bill of materials: a material with its consumption per size, or
    a service (sablon, bordir) with its cost per piece."""

    __tablename__ = "bom_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            ondelete="CASCADE",
            name="fk_bom_lines_tenant_id_products",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "material_id"],
            ["materials.tenant_id", "materials.id"],
            name="fk_bom_lines_tenant_id_materials",
        ),
        CheckConstraint(check_in("kind", BomLineKind), name="kind"),
        CheckConstraint("service IS NULL OR " + check_in("service", ServiceKind), name="service"),
        CheckConstraint(
            "(kind = 'material' AND material_id IS NOT NULL AND service IS NULL) OR "
            "(kind = 'service' AND material_id IS NULL AND service IS NOT NULL)",
            name="kind_fields",
        ),
        CheckConstraint("cost_per_piece >= 0", name="cost_per_piece"),
        Index("ix_bom_lines_tenant_id_product_id", "tenant_id", "product_id", "position"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    material_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    service: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(String(200))
    cost_per_piece: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class BomConsumption(TenantBase):
    """How much of a material line's material one piece of a size uses (in the material's
    unit; `numeric`, never a float)."""

    __tablename__ = "bom_consumptions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["bom_lines.tenant_id", "bom_lines.id"],
            ondelete="CASCADE",
            name="fk_bom_consumptions_tenant_id_bom_lines",
        ),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    line_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    size: Mapped[str] = mapped_column(String(8), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
