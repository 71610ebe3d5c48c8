"""The garment catalogue: products (designs) with their size-by-colour variants and per-size
surcharges, price tiers per customer type, the bill of materials (material lines with a
consumption per size, service lines), and materials with lots (rolls), stock movements and
reservations. Every table leads its keys with `tenant_id` and sits behind the tenant policy.

Revision ID: 0005_catalogue
Revises: 0004_conventions
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from garment.platform.rls import enable_tenant_rls

revision: str = "0005_catalogue"
down_revision: str | None = "0004_conventions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
# Children after parents (creation order); dropped in reverse.
TABLES = (
    "materials",
    "material_lots",
    "products",
    "stock_reservations",
    "bom_lines",
    "price_tiers",
    "product_variants",
    "stock_movements",
    "bom_consumptions",
)


def upgrade() -> None:
    op.create_table(
        "materials",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column(
            "reorder_level",
            sa.Numeric(precision=18, scale=3),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "on_hand",
            sa.Numeric(precision=18, scale=3),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "reserved",
            sa.Numeric(precision=18, scale=3),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "unit IN ('kg', 'm', 'yard', 'roll', 'pcs')", name=op.f("ck_materials_unit")
        ),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_materials_on_hand")),
        sa.CheckConstraint("reorder_level >= 0", name=op.f("ck_materials_reorder_level")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_materials_reserved")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_materials")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_materials_tenant_id_code")),
    )
    op.create_index(
        "ix_materials_tenant_id_name", "materials", ["tenant_id", "name", "id"], unique=False
    )
    op.create_table(
        "material_lots",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("material_id", UUID, nullable=False),
        sa.Column("lot_number", sa.String(length=40), nullable=False),
        sa.Column("color", sa.String(length=40), nullable=True),
        sa.Column("dye_lot", sa.String(length=40), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("initial_quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("consumed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_material_lots_quantity")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "material_id"],
            ["materials.tenant_id", "materials.id"],
            name="fk_material_lots_tenant_id_materials",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_material_lots")),
        sa.UniqueConstraint(
            "tenant_id",
            "material_id",
            "lot_number",
            name=op.f("uq_material_lots_tenant_id_material_id_lot_number"),
        ),
    )
    op.create_table(
        "products",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category_id", UUID, nullable=True),
        sa.Column("collection_id", UUID, nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("base_price", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "image_urls",
            postgresql.ARRAY(sa.String(length=2000)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("sizes", postgresql.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column("size_surcharges", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("colors", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("variant_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'archived')", name=op.f("ck_products_status")
        ),
        sa.CheckConstraint("base_price >= 0", name=op.f("ck_products_base_price")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "category_id"],
            ["taxonomy_terms.tenant_id", "taxonomy_terms.id"],
            name="fk_products_category",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "collection_id"],
            ["taxonomy_terms.tenant_id", "taxonomy_terms.id"],
            name="fk_products_collection",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_products")),
        sa.UniqueConstraint("tenant_id", "sku", name=op.f("uq_products_tenant_id_sku")),
    )
    op.create_index(
        "ix_products_tenant_id_created_at",
        "products",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_products_tenant_id_name", "products", ["tenant_id", "name", "id"], unique=False
    )
    op.create_table(
        "stock_reservations",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("material_id", UUID, nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'released')", name=op.f("ck_stock_reservations_status")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_stock_reservations_quantity")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "material_id"],
            ["materials.tenant_id", "materials.id"],
            name="fk_stock_reservations_tenant_id_materials",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stock_reservations")),
    )
    op.create_table(
        "bom_lines",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("product_id", UUID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("material_id", UUID, nullable=True),
        sa.Column("service", sa.String(length=16), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("cost_per_piece", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(kind = 'material' AND material_id IS NOT NULL AND service IS NULL) OR (kind = 'service' AND material_id IS NULL AND service IS NOT NULL)",
            name=op.f("ck_bom_lines_kind_fields"),
        ),
        sa.CheckConstraint("kind IN ('material', 'service')", name=op.f("ck_bom_lines_kind")),
        sa.CheckConstraint(
            "service IS NULL OR service IN ('sablon', 'bordir', 'printing', 'jahit', 'other')",
            name=op.f("ck_bom_lines_service"),
        ),
        sa.CheckConstraint("cost_per_piece >= 0", name=op.f("ck_bom_lines_cost_per_piece")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "material_id"],
            ["materials.tenant_id", "materials.id"],
            name="fk_bom_lines_tenant_id_materials",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name="fk_bom_lines_tenant_id_products",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_bom_lines")),
    )
    op.create_index(
        "ix_bom_lines_tenant_id_product_id",
        "bom_lines",
        ["tenant_id", "product_id", "position"],
        unique=False,
    )
    op.create_table(
        "price_tiers",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("product_id", UUID, nullable=False),
        sa.Column("customer_type", sa.String(length=16), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "customer_type IN ('retail', 'reseller', 'corporate')",
            name=op.f("ck_price_tiers_customer_type"),
        ),
        sa.CheckConstraint("min_quantity >= 1", name=op.f("ck_price_tiers_min_quantity")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_price_tiers_unit_price")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name="fk_price_tiers_tenant_id_products",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_price_tiers")),
        sa.UniqueConstraint(
            "tenant_id",
            "product_id",
            "customer_type",
            "min_quantity",
            name=op.f("uq_price_tiers_tenant_id_product_id_customer_type_min_quantity"),
        ),
    )
    op.create_table(
        "product_variants",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("product_id", UUID, nullable=False),
        sa.Column("size", sa.String(length=8), nullable=False),
        sa.Column("color", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=90), nullable=False),
        sa.Column("price_override", sa.BigInteger(), nullable=True),
        sa.Column("stock", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "price_override IS NULL OR price_override >= 0",
            name=op.f("ck_product_variants_price_override"),
        ),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_product_variants_stock")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name="fk_product_variants_tenant_id_products",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_product_variants")),
        sa.UniqueConstraint(
            "tenant_id",
            "product_id",
            "size",
            "color",
            name=op.f("uq_product_variants_tenant_id_product_id_size_color"),
        ),
        sa.UniqueConstraint("tenant_id", "sku", name=op.f("uq_product_variants_tenant_id_sku")),
    )
    op.create_index(
        "ix_product_variants_tenant_id_product_id",
        "product_variants",
        ["tenant_id", "product_id", "position"],
        unique=False,
    )
    op.create_table(
        "stock_movements",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("material_id", UUID, nullable=False),
        sa.Column("lot_id", UUID, nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("delta", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("balance", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor_id", UUID, nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('in', 'out', 'adjust')", name=op.f("ck_stock_movements_kind")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lot_id"],
            ["material_lots.tenant_id", "material_lots.id"],
            name="fk_stock_movements_tenant_id_material_lots",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "material_id"],
            ["materials.tenant_id", "materials.id"],
            name="fk_stock_movements_tenant_id_materials",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stock_movements")),
    )
    op.create_index(
        "ix_stock_movements_tenant_id_material_id",
        "stock_movements",
        ["tenant_id", "material_id", "seq"],
        unique=False,
    )
    op.create_table(
        "bom_consumptions",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("line_id", UUID, nullable=False),
        sa.Column("size", sa.String(length=8), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_bom_consumptions_quantity")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "line_id"],
            ["bom_lines.tenant_id", "bom_lines.id"],
            name="fk_bom_consumptions_tenant_id_bom_lines",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "line_id", "size", name=op.f("pk_bom_consumptions")),
    )

    for table in TABLES:
        for statement in enable_tenant_rls(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
