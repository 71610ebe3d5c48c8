"""Products (designs): the size-by-colour grid in one call, SKUs, per-size surcharges, price
tiers counted over the whole design, and the bill of materials."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.db import RecordReader
from garment.platform.errors import RESOURCE_NOT_FOUND, AppError, FieldErrors
from garment.platform.pagination import Keyset, PageParams
from garment.platform.versioning import apply_changes, check_version
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.products.errors import (
    DUPLICATE_SIZES,
    PRICE_TIER_EXISTS,
    PRODUCT_IN_USE,
    PRODUCT_SKU_TAKEN,
    UNKNOWN_MATERIAL,
    UNKNOWN_SIZE,
    UNKNOWN_TERM,
    UNKNOWN_VARIANT,
)
from garment.tenant.products.models import (
    BomConsumption,
    BomLine,
    PriceTier,
    Product,
)
from garment.tenant.products.pricing import Tier, price_for, variant_price
from garment.tenant.products.repository import (
    PRODUCT_KEYSETS,
    TIER_KEYSET,
    VARIANT_KEYSET,
    BomRepository,
    PriceTierRepository,
    ProductFilters,
    ProductRepository,
)
from garment.tenant.products.schemas import (
    BomLineOut,
    BomOut,
    ConsumptionOut,
    CreatePriceTierRequest,
    CreateProductRequest,
    MaterialLineIn,
    PriceTierOut,
    ProductDetail,
    ProductOut,
    QuoteLineOut,
    QuoteOut,
    QuoteRequest,
    ReplaceBomRequest,
    UpdatePriceTierRequest,
    UpdateProductRequest,
    UpdateVariantRequest,
    VariantOut,
)
from garment.tenant.products.states import BomLineKind, ProductSort, ProductStatus

PRODUCT_LIMIT = "max_products"
PRODUCT_FIELDS = (
    "sku",
    "name",
    "category_id",
    "collection_id",
    "description",
    "base_price",
    "status",
    "image_urls",
    "sizes",
    "size_surcharges",
    "colors",
)
TIER_FIELDS = ("product_id", "customer_type", "min_quantity", "unit_price")


class TermLookup(Protocol):
    async def term_type(
        self, session: AsyncSession, tenant_id: uuid.UUID, term_id: uuid.UUID
    ) -> str | None: ...


class MaterialLookup(Protocol):
    async def existing_ids(
        self, session: AsyncSession, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]
    ) -> set[uuid.UUID]: ...


class ProductUsage(Protocol):
    """The orders context as the catalogue asks it (wired by the runtime after both exist)."""

    async def product_references(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> tuple[int, int]: ...


class LimitCheck(Protocol):
    def require_within_limit(
        self, plan_code: str, name: str, usage: int, *, adding: int = 1
    ) -> None: ...


def not_found() -> AppError:
    return AppError(RESOURCE_NOT_FOUND)


def variant_sku(product_sku: str, size: str, color: str) -> str:
    """`<product SKU>-<SIZE>-<COLOUR>`: sizes hold no hyphen, so distinct variants of one
    product never share a SKU."""
    return f"{product_sku}-{size}-{color.upper()}"


# A product's fields in `ProductOut`'s order; all but `sizes` are its columns as they are.
PRODUCT_OUT_FIELDS = tuple(ProductOut.model_fields)


def product_fields(row: Any) -> dict[str, Any]:
    """A product row (ORM object or list row) as the fields of its `ProductOut`, in order: its
    sizes are paired with their surcharges."""
    get = row.__getitem__ if isinstance(row, dict) else partial(getattr, row)
    return {name: sizes_of(get) if name == "sizes" else get(name) for name in PRODUCT_OUT_FIELDS}


def sizes_of(get: Callable[[str], Any]) -> list[dict[str, Any]]:
    return [
        {"code": code, "surcharge": surcharge}
        for code, surcharge in zip(get("sizes"), get("size_surcharges"), strict=True)
    ]


def product_out(row: Any) -> ProductOut:
    """A product row (ORM object or list row) as the API shows it."""
    return ProductOut.model_validate(product_fields(row))


def surcharges_of(product: Product) -> dict[str, int]:
    return dict(zip(product.sizes, product.size_surcharges, strict=True))


def variant_out(variant: Any, product: Product) -> VariantOut:
    def get(name: str) -> Any:
        return variant[name] if isinstance(variant, dict) else getattr(variant, name)

    surcharge = surcharges_of(product).get(get("size"), 0)
    return VariantOut(
        id=get("id"),
        product_id=get("product_id"),
        sku=get("sku"),
        size=get("size"),
        color=get("color"),
        position=get("position"),
        price_override=get("price_override"),
        price=variant_price(product.base_price, surcharge, get("price_override")),
        stock=get("stock"),
        version=get("version"),
    )


def sort_cursor_pattern() -> str:
    """The `cursor` schema of the product list: a cursor of any of its sorts."""
    patterns = sorted({keyset.pattern for keyset, _ in PRODUCT_KEYSETS.values()})
    return "^(?:" + "|".join(pattern[1:-1] for pattern in patterns) + ")$"


def sort_cursor_max_length() -> int:
    return max(keyset.max_length for keyset, _ in PRODUCT_KEYSETS.values())


def cursor_for(keyset: Keyset, page: PageParams) -> PageParams:
    """A cursor of another sort than the one asked for starts the list at its first page
    (the parameter's schema accepts the cursor of every sort)."""
    if page.cursor is None or re.fullmatch(keyset.pattern, page.cursor):
        return page
    return PageParams(limit=page.limit)


class ProductService:
    # Sort keys of the nested lists, so the routers' `cursor` schemas are the exact formats.
    variant_keyset = VARIANT_KEYSET
    tier_keyset = TIER_KEYSET

    def __init__(
        self, *, entitlements: LimitCheck, taxonomies: TermLookup, materials: MaterialLookup
    ) -> None:
        self.entitlements = entitlements
        self.taxonomies = taxonomies
        self.materials = materials
        # Orders are built after (they price through this service): the runtime sets it.
        self.usage: ProductUsage | None = None

    # --- products -----------------------------------------------------------------------------

    async def _check_terms(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        problems: FieldErrors,
        terms: dict[str, tuple[uuid.UUID | None, str]],
    ) -> None:
        for field_name, (term_id, term_type) in terms.items():
            if term_id is None:
                continue
            found = await self.taxonomies.term_type(session, tenant_id, term_id)
            if found != term_type:
                problems.add(field_name, UNKNOWN_TERM, term_type=term_type)

    async def create(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        plan_code: str,
        body: CreateProductRequest,
        actor_id: uuid.UUID | None = None,
    ) -> ProductDetail:
        """The design and its whole size-by-colour grid, one variant (and SKU) per pair."""
        problems = FieldErrors()
        codes = [size.code for size in body.sizes]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            problems.add("sizes", DUPLICATE_SIZES, codes=", ".join(repeated))
        await self._check_terms(
            session,
            tenant_id,
            problems,
            {
                "category_id": (body.category_id, "category"),
                "collection_id": (body.collection_id, "collection"),
            },
        )
        problems.raise_if_any()
        products = ProductRepository(session)
        await products.lock_catalogue(tenant_id)
        if body.status is not ProductStatus.ARCHIVED:
            usage = await products.count_live(tenant_id)
            self.entitlements.require_within_limit(plan_code, PRODUCT_LIMIT, usage)
        grid = [(size, color) for size in codes for color in body.colors]
        skus = [body.sku, *(variant_sku(body.sku, size, color) for size, color in grid)]
        taken = await products.taken_skus(tenant_id, skus)
        if taken:
            raise AppError(PRODUCT_SKU_TAKEN, params={"sku": taken[0]}, extra={"skus": taken})
        product = await products.create(
            Product(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                sku=body.sku,
                name=body.name,
                category_id=body.category_id,
                collection_id=body.collection_id,
                description=body.description,
                base_price=body.base_price,
                status=body.status.value,
                image_urls=list(body.image_urls),
                sizes=codes,
                size_surcharges=[size.surcharge for size in body.sizes],
                colors=list(body.colors),
                variant_count=len(grid),
            )
        )
        variants = [
            {
                "tenant_id": tenant_id,
                "id": uuid.uuid4(),
                "product_id": product.id,
                "size": size,
                "color": color,
                "position": position,
                "sku": sku,
                "price_override": None,
                "stock": 0,
                "version": 1,
            }
            for position, ((size, color), sku) in enumerate(zip(grid, skus[1:], strict=True))
        ]
        await products.add_variants(variants)
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="product",
            entity_id=product.id,
            after=snapshot(product, PRODUCT_FIELDS),
        )
        return ProductDetail(
            **product_out(product).model_dump(),
            variants=[variant_out(variant, product) for variant in variants],
        )

    async def _product(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> Product:
        product = await ProductRepository(session).by_id(tenant_id, product_id)
        if product is None:
            raise not_found()
        return product

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> ProductDetail:
        product = await self._product(session, tenant_id, product_id)
        variants = await ProductRepository(session).variants(tenant_id, product_id)
        return ProductDetail(
            **product_out(product).model_dump(),
            variants=[variant_out(variant, product) for variant in variants],
        )

    async def list_products(
        self,
        reader: AsyncSession | RecordReader,
        tenant_id: uuid.UUID,
        *,
        sort: ProductSort,
        status: ProductStatus | None = None,
        category_id: uuid.UUID | None = None,
        search: str | None = None,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of products as `ProductOut`'s fields (rows, not models: the route
        serialises them by `ProductList`'s schema, bench/README.md session 20)."""
        filters = ProductFilters(status=status, category_id=category_id, search=search)
        keyset, _ = PRODUCT_KEYSETS[sort]
        rows, cursor = await ProductRepository.listed(
            reader, tenant_id, sort, filters, cursor_for(keyset, page)
        )
        return [product_fields(row) for row in rows], cursor

    async def update(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        plan_code: str,
        product_id: uuid.UUID,
        body: UpdateProductRequest,
        expected_version: int | None,
        actor_id: uuid.UUID | None = None,
    ) -> ProductOut:
        product = await self._product(session, tenant_id, product_id)
        check_version(product, expected_version)
        sent = body.model_fields_set
        changes: dict[str, Any] = {}
        for name in ("name", "base_price", "image_urls"):
            value = getattr(body, name)
            if name in sent and value is not None:
                changes[name] = list(value) if name == "image_urls" else value
        for name in ("category_id", "collection_id", "description"):
            if name in sent:
                changes[name] = getattr(body, name)
        if "status" in sent and body.status is not None:
            changes["status"] = body.status.value
        problems = FieldErrors()
        await self._check_terms(
            session,
            tenant_id,
            problems,
            {
                "category_id": (changes.get("category_id"), "category"),
                "collection_id": (changes.get("collection_id"), "collection"),
            },
        )
        problems.raise_if_any()
        reviving = (
            product.status == ProductStatus.ARCHIVED
            and changes.get("status", product.status) != ProductStatus.ARCHIVED
        )
        if reviving:
            products = ProductRepository(session)
            await products.lock_catalogue(tenant_id)
            usage = await products.count_live(tenant_id)
            self.entitlements.require_within_limit(plan_code, PRODUCT_LIMIT, usage)
        before = snapshot(product, PRODUCT_FIELDS)
        if await apply_changes(session, product, expected_version, changes):
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=actor_id,
                action=AuditAction.UPDATE,
                entity_type="product",
                entity_id=product.id,
                before=before,
                after=snapshot(product, PRODUCT_FIELDS),
            )
        return product_out(product)

    async def delete(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        product_id: uuid.UUID,
        expected_version: int | None,
        actor_id: uuid.UUID | None = None,
    ) -> None:
        """The design with its variants, tiers and bill of materials. A design that orders or
        quotations name is refused (their lines would point at nothing): archive it instead."""
        product = await self._product(session, tenant_id, product_id)
        check_version(product, expected_version)
        if self.usage is not None:
            orders, quotations = await self.usage.product_references(session, tenant_id, product_id)
            if orders or quotations:
                counts = {"orders": orders, "quotations": quotations}
                raise AppError(PRODUCT_IN_USE, params=counts, extra=counts)
        before = snapshot(product, PRODUCT_FIELDS)
        await ProductRepository(session).remove(tenant_id, product_id)
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.DELETE,
            entity_type="product",
            entity_id=product_id,
            before=before,
        )

    # --- variants -----------------------------------------------------------------------------

    async def list_variants(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID, page: PageParams
    ) -> tuple[list[VariantOut], str | None]:
        product = await self._product(session, tenant_id, product_id)
        rows, cursor = await ProductRepository(session).variants_page(tenant_id, product_id, page)
        return [variant_out(row, product) for row in rows], cursor

    async def update_variant(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        product_id: uuid.UUID,
        variant_id: uuid.UUID,
        body: UpdateVariantRequest,
        expected_version: int | None,
        actor_id: uuid.UUID | None = None,
    ) -> VariantOut:
        product = await self._product(session, tenant_id, product_id)
        variant = await ProductRepository(session).variant(tenant_id, product_id, variant_id)
        if variant is None:
            raise not_found()
        sent = body.model_fields_set
        changes: dict[str, Any] = {}
        if "price_override" in sent:
            changes["price_override"] = body.price_override
        if "stock" in sent and body.stock is not None:
            changes["stock"] = body.stock
        before = snapshot(variant, ("price_override", "stock"))
        if await apply_changes(session, variant, expected_version, changes):
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=actor_id,
                action=AuditAction.UPDATE,
                entity_type="product_variant",
                entity_id=variant.id,
                before=before,
                after=snapshot(variant, ("price_override", "stock")),
            )
        return variant_out(variant, product)

    # --- price tiers --------------------------------------------------------------------------

    async def create_tier(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        body: CreatePriceTierRequest,
        actor_id: uuid.UUID | None = None,
    ) -> PriceTierOut:
        await self._product(session, tenant_id, body.product_id)
        tiers = PriceTierRepository(session)
        if await tiers.exists_for(
            tenant_id, body.product_id, body.customer_type.value, body.min_quantity
        ):
            raise AppError(PRICE_TIER_EXISTS)
        tier = await tiers.create(
            PriceTier(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                product_id=body.product_id,
                customer_type=body.customer_type.value,
                min_quantity=body.min_quantity,
                unit_price=body.unit_price,
            )
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type="price_tier",
            entity_id=tier.id,
            after=snapshot(tier, TIER_FIELDS),
        )
        return PriceTierOut.model_validate(tier)

    async def _tier(
        self, session: AsyncSession, tenant_id: uuid.UUID, tier_id: uuid.UUID
    ) -> PriceTier:
        tier = await PriceTierRepository(session).by_id(tenant_id, tier_id)
        if tier is None:
            raise not_found()
        return tier

    async def get_tier(
        self, session: AsyncSession, tenant_id: uuid.UUID, tier_id: uuid.UUID
    ) -> PriceTierOut:
        return PriceTierOut.model_validate(await self._tier(session, tenant_id, tier_id))

    async def list_tiers(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        product_id: uuid.UUID | None,
        customer_type: str | None,
        page: PageParams,
    ) -> tuple[list[PriceTierOut], str | None]:
        rows, cursor = await PriceTierRepository(session).listed(
            tenant_id, product_id=product_id, customer_type=customer_type, page=page
        )
        return [PriceTierOut.model_validate(row) for row in rows], cursor

    async def update_tier(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        tier_id: uuid.UUID,
        body: UpdatePriceTierRequest,
        expected_version: int | None,
        actor_id: uuid.UUID | None = None,
    ) -> PriceTierOut:
        tier = await self._tier(session, tenant_id, tier_id)
        check_version(tier, expected_version)
        changes: dict[str, Any] = {}
        if body.unit_price is not None:
            changes["unit_price"] = body.unit_price
        if body.min_quantity is not None and body.min_quantity != tier.min_quantity:
            if await PriceTierRepository(session).exists_for(
                tenant_id, tier.product_id, tier.customer_type, body.min_quantity
            ):
                raise AppError(PRICE_TIER_EXISTS)
            changes["min_quantity"] = body.min_quantity
        before = snapshot(tier, TIER_FIELDS)
        if await apply_changes(session, tier, expected_version, changes):
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=actor_id,
                action=AuditAction.UPDATE,
                entity_type="price_tier",
                entity_id=tier.id,
                before=before,
                after=snapshot(tier, TIER_FIELDS),
            )
        return PriceTierOut.model_validate(tier)

    async def delete_tier(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        tier_id: uuid.UUID,
        expected_version: int | None,
        actor_id: uuid.UUID | None = None,
    ) -> None:
        tier = await self._tier(session, tenant_id, tier_id)
        check_version(tier, expected_version)
        before = snapshot(tier, TIER_FIELDS)
        await PriceTierRepository(session).delete(tier)
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.DELETE,
            entity_type="price_tier",
            entity_id=tier_id,
            before=before,
        )

    async def quote(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        product_id: uuid.UUID,
        body: QuoteRequest,
    ) -> QuoteOut:
        """Price an order line of one design: the tier is picked by the pieces over every size
        and colour of the line together."""
        product = await self._product(session, tenant_id, product_id)
        variants = {
            (variant.size, variant.color): variant
            for variant in await ProductRepository(session).variants(tenant_id, product_id)
        }
        problems = FieldErrors()
        quantities: dict[tuple[str, str], int] = {}
        for index, line in enumerate(body.lines):
            key = (line.size, line.color)
            if key not in variants:
                problems.add(f"lines.{index}", UNKNOWN_VARIANT, size=line.size, color=line.color)
            quantities[key] = quantities.get(key, 0) + line.quantity
        problems.raise_if_any()
        tiers = await PriceTierRepository(session).for_product(
            tenant_id, product_id, body.customer_type.value
        )
        priced = price_for(
            base_price=product.base_price,
            surcharges=surcharges_of(product),
            overrides={key: variant.price_override for key, variant in variants.items()},
            tiers=[Tier(t.id, t.min_quantity, t.unit_price) for t in tiers],
            breakdown=[(size, color, quantity) for (size, color), quantity in quantities.items()],
        )
        return QuoteOut(
            product_id=product.id,
            customer_type=body.customer_type,
            total_quantity=priced.total_quantity,
            tier_id=priced.tier.id if priced.tier else None,
            tier_min_quantity=priced.tier.min_quantity if priced.tier else None,
            lines=[
                QuoteLineOut(
                    variant_id=variants[(line.size, line.color)].id,
                    sku=variants[(line.size, line.color)].sku,
                    size=line.size,
                    color=line.color,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount=line.amount,
                )
                for line in priced.lines
            ],
            total=priced.total,
        )

    # --- bill of materials --------------------------------------------------------------------

    async def get_bom(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> BomOut:
        await self._product(session, tenant_id, product_id)
        lines, consumption = await BomRepository(session).lines(tenant_id, product_id)
        return bom_out(product_id, lines, consumption)

    async def replace_bom(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        product_id: uuid.UUID,
        body: ReplaceBomRequest,
        actor_id: uuid.UUID | None = None,
    ) -> BomOut:
        """The design's whole bill of materials, replaced in one call (a form's save)."""
        product = await self._product(session, tenant_id, product_id)
        sizes = set(product.sizes)
        problems = FieldErrors()
        material_ids = {line.material_id for line in body.lines if isinstance(line, MaterialLineIn)}
        known = await self.materials.existing_ids(session, tenant_id, material_ids)
        lines: list[BomLine] = []
        consumption: list[BomConsumption] = []
        for index, line in enumerate(body.lines):
            row = BomLine(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                product_id=product_id,
                position=index,
                description=line.description,
            )
            if isinstance(line, MaterialLineIn):
                row.kind, row.material_id, row.service, row.cost_per_piece = (
                    BomLineKind.MATERIAL.value,
                    line.material_id,
                    None,
                    0,
                )
                if line.material_id not in known:
                    problems.add(f"lines.{index}.material_id", UNKNOWN_MATERIAL)
                seen: set[str] = set()
                for position, item in enumerate(line.consumption):
                    field_name = f"lines.{index}.consumption.{position}.size"
                    if item.size not in sizes:
                        problems.add(field_name, UNKNOWN_SIZE, size=item.size)
                    elif item.size in seen:
                        problems.add(field_name, DUPLICATE_SIZES, codes=item.size)
                    seen.add(item.size)
                    consumption.append(
                        BomConsumption(
                            tenant_id=tenant_id,
                            line_id=row.id,
                            size=item.size,
                            quantity=Decimal(item.quantity),
                        )
                    )
            else:
                row.kind, row.material_id, row.service, row.cost_per_piece = (
                    BomLineKind.SERVICE.value,
                    None,
                    line.service.value,
                    line.cost_per_piece,
                )
            lines.append(row)
        problems.raise_if_any()
        bom = BomRepository(session)
        old_lines, old_consumption = await bom.lines(tenant_id, product_id)
        before = bom_out(product_id, old_lines, old_consumption).model_dump(mode="json")
        await bom.replace(tenant_id, product_id, lines, consumption)
        after = bom_out(product_id, lines, consumption)
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.UPDATE,
            entity_type="product_bom",
            entity_id=product_id,
            before={"lines": before["lines"]},
            after={"lines": after.model_dump(mode="json")["lines"]},
        )
        return after


def bom_out(
    product_id: uuid.UUID, lines: list[BomLine], consumption: list[BomConsumption]
) -> BomOut:
    by_line: dict[uuid.UUID, list[BomConsumption]] = {}
    for row in consumption:
        by_line.setdefault(row.line_id, []).append(row)
    out = [
        BomLineOut(
            id=line.id,
            position=line.position,
            kind=line.kind,
            material_id=line.material_id,
            service=line.service,
            description=line.description,
            cost_per_piece=line.cost_per_piece,
            consumption=[
                ConsumptionOut(size=row.size, quantity=format_quantity(row.quantity))
                for row in by_line.get(line.id, [])
            ],
        )
        for line in lines
    ]
    return BomOut(
        product_id=product_id,
        lines=out,
        service_cost_per_piece=sum(line.cost_per_piece for line in lines),
    )


def format_quantity(value: Decimal) -> str:
    """Decimal text without trailing zeros (`0.215`, `2`), never exponent notation."""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
