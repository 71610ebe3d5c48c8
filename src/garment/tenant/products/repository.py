"""Queries over products, variants, price tiers and the bill of materials. Every statement
filters by tenant as well (the application wall holds without RLS, RLS holds without it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.db import RecordReader
from garment.platform.pagination import Keyset, KeysetQuery, PageParams
from garment.platform.repository import Repository
from garment.tenant.products.models import (
    BomConsumption,
    BomLine,
    PriceTier,
    Product,
    ProductVariant,
)
from garment.tenant.products.states import ProductSort, ProductStatus

EXAMPLE_ID = uuid.UUID("5b0e0c1e-7d3a-4c55-9a57-2f7f3f0b8c11")
EXAMPLE_TIME = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

# One keyset per sort; a cursor carries the sort key of the last row of the page.
PRODUCT_KEYSETS: dict[ProductSort, tuple[Keyset, bool]] = {
    ProductSort.NEWEST: (
        Keyset.of(Product.created_at, Product.id, example=(EXAMPLE_TIME, EXAMPLE_ID)),
        True,
    ),
    ProductSort.OLDEST: (
        Keyset.of(Product.created_at, Product.id, example=(EXAMPLE_TIME, EXAMPLE_ID)),
        False,
    ),
    ProductSort.NAME: (
        Keyset.of(Product.name, Product.id, example=("Kaos Polos", EXAMPLE_ID)),
        False,
    ),
    ProductSort.SKU: (
        Keyset.of(Product.sku, Product.id, example=("KAOS-CC30S", EXAMPLE_ID)),
        False,
    ),
}
VARIANT_KEYSET = Keyset.of(ProductVariant.position, ProductVariant.id, example=(3, EXAMPLE_ID))
TIER_KEYSET = Keyset.of(
    PriceTier.product_id,
    PriceTier.customer_type,
    PriceTier.min_quantity,
    PriceTier.id,
    example=(EXAMPLE_ID, "retail", 12, EXAMPLE_ID),
)

PRODUCT_COLUMNS = (
    Product.id,
    Product.sku,
    Product.name,
    Product.category_id,
    Product.collection_id,
    Product.description,
    Product.base_price,
    Product.status,
    Product.image_urls,
    Product.sizes,
    Product.size_surcharges,
    Product.colors,
    Product.variant_count,
    Product.version,
    Product.created_at,
    Product.updated_at,
)


@dataclass(frozen=True, slots=True)
class ProductFilters:
    status: ProductStatus | None = None
    category_id: uuid.UUID | None = None
    search: str | None = None


def like_pattern(term: str) -> str:
    """`%term%` with LIKE's wildcards in `term` taken literally (backslash is the escape)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@cache
def product_list(
    sort: ProductSort, by_status: bool, by_category: bool, by_search: bool
) -> KeysetQuery:
    """The product list for one combination of sort and filters, built once."""
    keyset, descending = PRODUCT_KEYSETS[sort]
    statement = select(*PRODUCT_COLUMNS).where(Product.tenant_id == bindparam("tenant_id"))
    if by_status:
        statement = statement.where(Product.status == bindparam("status"))
    if by_category:
        statement = statement.where(Product.category_id == bindparam("category_id"))
    if by_search:
        pattern: Any = bindparam("search")
        variant_sku = (
            select(ProductVariant.id)
            .where(
                ProductVariant.tenant_id == Product.tenant_id,
                ProductVariant.product_id == Product.id,
                ProductVariant.sku.ilike(pattern),
            )
            .correlate(Product)
        )
        statement = statement.where(
            or_(Product.name.ilike(pattern), Product.sku.ilike(pattern), exists(variant_sku))
        )
    return KeysetQuery.build(statement, keyset, descending=descending)


@cache
def variant_list() -> KeysetQuery:
    """A product's variants in grid order."""
    statement = select(*ProductVariant.__table__.columns).where(
        ProductVariant.tenant_id == bindparam("tenant_id"),
        ProductVariant.product_id == bindparam("product_id"),
    )
    return KeysetQuery.build(statement, VARIANT_KEYSET)


class ProductRepository(Repository[Product]):
    model = Product

    async def lock_catalogue(self, tenant_id: uuid.UUID) -> None:
        """Serialise product creation per tenant (the plan's `max_products` count holds)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('products:' || :tenant, 0))"),
            {"tenant": str(tenant_id)},
        )

    async def count_live(self, tenant_id: uuid.UUID) -> int:
        """Products that count against the plan: every one not archived."""
        statement = select(func.count()).where(
            Product.tenant_id == tenant_id, Product.status != ProductStatus.ARCHIVED.value
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def taken_skus(self, tenant_id: uuid.UUID, skus: Sequence[str]) -> list[str]:
        """Which of `skus` a product or a variant of the tenant already uses."""
        products = select(Product.sku).where(Product.tenant_id == tenant_id, Product.sku.in_(skus))
        variants = select(ProductVariant.sku).where(
            ProductVariant.tenant_id == tenant_id, ProductVariant.sku.in_(skus)
        )
        rows = await self.session.execute(products.union(variants))
        return sorted(row[0] for row in rows)

    async def by_id(
        self, tenant_id: uuid.UUID, product_id: uuid.UUID, *, for_update: bool = False
    ) -> Product | None:
        return await self.get((tenant_id, product_id), for_update=for_update)

    async def add_variants(self, variants: list[dict[str, Any]]) -> None:
        """A grid's variants in one multi-row INSERT, as rows: nothing reads them back as ORM
        objects, so the unit of work's per-object bookkeeping would be spent for nothing."""
        await self.session.execute(insert(ProductVariant), variants)

    async def variants(self, tenant_id: uuid.UUID, product_id: uuid.UUID) -> list[ProductVariant]:
        statement = (
            select(ProductVariant)
            .where(ProductVariant.tenant_id == tenant_id, ProductVariant.product_id == product_id)
            .order_by(ProductVariant.position)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def variant(
        self, tenant_id: uuid.UUID, product_id: uuid.UUID, variant_id: uuid.UUID
    ) -> ProductVariant | None:
        statement = select(ProductVariant).where(
            ProductVariant.tenant_id == tenant_id,
            ProductVariant.product_id == product_id,
            ProductVariant.id == variant_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    @staticmethod
    async def listed(
        reader: AsyncSession | RecordReader,
        tenant_id: uuid.UUID,
        sort: ProductSort,
        filters: ProductFilters,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        values: dict[str, Any] = {"tenant_id": tenant_id}
        if filters.status is not None:
            values["status"] = filters.status.value
        if filters.category_id is not None:
            values["category_id"] = filters.category_id
        if filters.search is not None:
            values["search"] = like_pattern(filters.search)
        query = product_list(
            sort,
            filters.status is not None,
            filters.category_id is not None,
            filters.search is not None,
        )
        return await query.page(reader, page, values)

    async def variants_page(
        self, tenant_id: uuid.UUID, product_id: uuid.UUID, page: PageParams
    ) -> tuple[list[dict[str, Any]], str | None]:
        return await variant_list().page(
            self.session, page, {"tenant_id": tenant_id, "product_id": product_id}
        )

    async def remove(self, tenant_id: uuid.UUID, product_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Product).where(Product.tenant_id == tenant_id, Product.id == product_id)
        )


class PriceTierRepository(Repository[PriceTier]):
    model = PriceTier

    async def by_id(self, tenant_id: uuid.UUID, tier_id: uuid.UUID) -> PriceTier | None:
        return await self.get((tenant_id, tier_id))

    async def exists_for(
        self, tenant_id: uuid.UUID, product_id: uuid.UUID, customer_type: str, min_quantity: int
    ) -> bool:
        statement = select(PriceTier.id).where(
            PriceTier.tenant_id == tenant_id,
            PriceTier.product_id == product_id,
            PriceTier.customer_type == customer_type,
            PriceTier.min_quantity == min_quantity,
        )
        return (await self.session.execute(statement)).first() is not None

    async def for_product(
        self, tenant_id: uuid.UUID, product_id: uuid.UUID, customer_type: str
    ) -> list[PriceTier]:
        return await self.all(
            select(PriceTier)
            .where(
                PriceTier.tenant_id == tenant_id,
                PriceTier.product_id == product_id,
                PriceTier.customer_type == customer_type,
            )
            .order_by(PriceTier.min_quantity)
        )

    async def listed(
        self,
        tenant_id: uuid.UUID,
        *,
        product_id: uuid.UUID | None,
        customer_type: str | None,
        page: PageParams,
    ) -> tuple[list[PriceTier], str | None]:
        statement = select(PriceTier).where(PriceTier.tenant_id == tenant_id)
        if product_id is not None:
            statement = statement.where(PriceTier.product_id == product_id)
        if customer_type is not None:
            statement = statement.where(PriceTier.customer_type == customer_type)
        return await self.page(statement, keyset=TIER_KEYSET, params=page, descending=False)


class BomRepository(Repository[BomLine]):
    model = BomLine

    async def lines(
        self, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> tuple[list[BomLine], list[BomConsumption]]:
        lines = await self.all(
            select(BomLine)
            .where(BomLine.tenant_id == tenant_id, BomLine.product_id == product_id)
            .order_by(BomLine.position)
        )
        if not lines:
            return [], []
        consumption = list(
            (
                await self.session.execute(
                    select(BomConsumption).where(
                        BomConsumption.tenant_id == tenant_id,
                        BomConsumption.line_id.in_([line.id for line in lines]),
                    )
                )
            )
            .scalars()
            .all()
        )
        return lines, consumption

    async def replace(
        self,
        tenant_id: uuid.UUID,
        product_id: uuid.UUID,
        lines: list[BomLine],
        consumption: list[BomConsumption],
    ) -> None:
        await self.session.execute(
            delete(BomLine).where(BomLine.tenant_id == tenant_id, BomLine.product_id == product_id)
        )
        if lines:
            await self.session.execute(
                insert(BomLine).values(
                    [
                        {
                            "tenant_id": line.tenant_id,
                            "id": line.id,
                            "product_id": line.product_id,
                            "position": line.position,
                            "kind": line.kind,
                            "material_id": line.material_id,
                            "service": line.service,
                            "description": line.description,
                            "cost_per_piece": line.cost_per_piece,
                        }
                        for line in lines
                    ]
                )
            )
        if consumption:
            await self.session.execute(
                insert(BomConsumption).values(
                    [
                        {
                            "tenant_id": row.tenant_id,
                            "line_id": row.line_id,
                            "size": row.size,
                            "quantity": row.quantity,
                        }
                        for row in consumption
                    ]
                )
            )
