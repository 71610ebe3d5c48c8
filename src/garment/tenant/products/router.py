"""Products (designs) with their variants, quote and bill of materials, and price tiers, on
the Tenant API (`products.view`, `products.manage`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from garment.platform.errors import (
    CONFLICT,
    PLAN_LIMIT_REACHED,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
)
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.platform.http.rows import RowsJson
from garment.platform.pagination import PageMeta
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantReader,
    TenantSession,
)
from garment.tenant.conventions.dependencies import (
    IDEMPOTENCY_ERRORS,
    ConventionRoute,
    Idempotent,
    IfMatch,
    etag_response,
    set_etag,
)
from garment.tenant.products.dependencies import (
    ProductPage,
    Products,
    TierPage,
    VariantPage,
)
from garment.tenant.products.errors import PRICE_TIER_EXISTS, PRODUCT_IN_USE, PRODUCT_SKU_TAKEN
from garment.tenant.products.schemas import (
    BomOut,
    CreatePriceTierRequest,
    CreateProductRequest,
    PriceTierList,
    PriceTierOut,
    ProductDetail,
    ProductList,
    ProductOut,
    QuoteOut,
    QuoteRequest,
    ReplaceBomRequest,
    UpdatePriceTierRequest,
    UpdateProductRequest,
    UpdateVariantRequest,
    VariantList,
    VariantOut,
)
from garment.tenant.products.states import CustomerType, ProductSort, ProductStatus

router = Router(prefix="/tenant/products", tags=["tenant"], route_class=ConventionRoute)
tiers_router = Router(prefix="/tenant/price-tiers", tags=["tenant"], route_class=ConventionRoute)

ProductViewer = Annotated[TenantMember, Depends(RequirePermission("products.view"))]
ProductManager = Annotated[TenantMember, Depends(RequirePermission("products.manage"))]
NOT_FOUND_ERRORS = (*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND)
# The list's rows go out by `ProductList`'s schema without becoming models (rows.py).
PRODUCT_LIST_JSON = RowsJson(ProductList)


@router.get(
    "",
    response_model=ProductList,
    summary="Products (designs): newest first, by name or by SKU; filter by status and "
    "category, search by name or SKU (also the variants' SKUs)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_products(
    member: ProductViewer,
    products: Products,
    db: TenantReader,
    page: ProductPage,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Part of the name or of a SKU."),
    ] = None,
    status: Annotated[ProductStatus | None, Query(description="Only this status.")] = None,
    category_id: Annotated[uuid.UUID | None, Query(description="Only this category.")] = None,
    sort: Annotated[
        ProductSort, Query(description="`-created_at`, `created_at`, `name`, `sku`.")
    ] = (ProductSort.NEWEST),
) -> Response:
    rows, cursor = await products.list_products(
        db,
        member.tenant_id,
        sort=sort,
        status=status,
        category_id=category_id,
        search=q,
        page=page,
    )
    return PRODUCT_LIST_JSON.response(
        {"data": rows, "meta": {"next_cursor": cursor, "limit": page.limit}}
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductDetail,
    summary="Create a design with its whole size-by-colour grid in one call (one variant and "
    "SKU per size and colour; Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created, with its variants.", location="The new product."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            PRODUCT_SKU_TAKEN,
            PLAN_LIMIT_REACHED,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def create_product(
    body: CreateProductRequest,
    member: ProductManager,
    products: Products,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> ProductDetail:
    product = await products.create(
        db, member.tenant_id, member.tenant.plan_code, body, actor_id=member.user_id
    )
    response.headers["Location"] = request.url_for("get_product", product_id=str(product.id)).path
    set_etag(response, product.version)
    return product


@router.get(
    "/{product_id}",
    response_model=ProductDetail,
    summary="One product with its variants (its ETag is its version)",
    responses={**etag_response(200, "The product."), **error_responses(*NOT_FOUND_ERRORS)},
)
async def get_product(
    product_id: uuid.UUID,
    member: ProductViewer,
    products: Products,
    db: TenantSession,
    response: Response,
) -> ProductDetail:
    product = await products.get(db, member.tenant_id, product_id)
    set_etag(response, product.version)
    return product


@router.patch(
    "/{product_id}",
    response_model=ProductOut,
    summary="Change a product (If-Match: a stale version is 409 and changes nothing)",
    responses={
        **etag_response(200, "The changed product."),
        **error_responses(*NOT_FOUND_ERRORS, CONFLICT, PLAN_LIMIT_REACHED),
    },
)
async def update_product(
    product_id: uuid.UUID,
    body: UpdateProductRequest,
    member: ProductManager,
    products: Products,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> ProductOut:
    product = await products.update(
        db,
        member.tenant_id,
        member.tenant.plan_code,
        product_id,
        body,
        expected,
        actor_id=member.user_id,
    )
    set_etag(response, product.version)
    return product


@router.delete(
    "/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a product with its variants, price tiers and bill of materials (one that "
    "orders or quotations name is refused: archive it)",
    responses=error_responses(*NOT_FOUND_ERRORS, CONFLICT, PRODUCT_IN_USE),
)
async def delete_product(
    product_id: uuid.UUID,
    member: ProductManager,
    products: Products,
    db: TenantSession,
    expected: IfMatch,
) -> Response:
    await products.delete(db, member.tenant_id, product_id, expected, actor_id=member.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{product_id}/variants",
    response_model=VariantList,
    summary="A product's variants in grid order (size, then colour)",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def list_variants(
    product_id: uuid.UUID,
    member: ProductViewer,
    products: Products,
    db: TenantSession,
    page: VariantPage,
) -> VariantList:
    rows, cursor = await products.list_variants(db, member.tenant_id, product_id, page)
    return VariantList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.patch(
    "/{product_id}/variants/{variant_id}",
    response_model=VariantOut,
    summary="Change a variant's price override or stock (If-Match on the variant's version)",
    responses={
        **etag_response(200, "The changed variant."),
        **error_responses(*NOT_FOUND_ERRORS, CONFLICT),
    },
)
async def update_variant(
    product_id: uuid.UUID,
    variant_id: uuid.UUID,
    body: UpdateVariantRequest,
    member: ProductManager,
    products: Products,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> VariantOut:
    variant = await products.update_variant(
        db, member.tenant_id, product_id, variant_id, body, expected, actor_id=member.user_id
    )
    set_etag(response, variant.version)
    return variant


@router.post(
    "/{product_id}/quote",
    response_model=QuoteOut,
    summary="Price an order line of this design for a customer type: the tier is picked by "
    "the pieces over all its sizes and colours together",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def quote_product(
    product_id: uuid.UUID,
    body: QuoteRequest,
    member: ProductViewer,
    products: Products,
    db: TenantSession,
) -> QuoteOut:
    return await products.quote(db, member.tenant_id, product_id, body)


@router.get(
    "/{product_id}/bom",
    response_model=BomOut,
    summary="The design's bill of materials (material lines per size, service lines)",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def get_bom(
    product_id: uuid.UUID, member: ProductViewer, products: Products, db: TenantSession
) -> BomOut:
    return await products.get_bom(db, member.tenant_id, product_id)


@router.put(
    "/{product_id}/bom",
    response_model=BomOut,
    summary="Replace the design's whole bill of materials",
    responses=error_responses(*NOT_FOUND_ERRORS),
)
async def replace_bom(
    product_id: uuid.UUID,
    body: ReplaceBomRequest,
    member: ProductManager,
    products: Products,
    db: TenantSession,
) -> BomOut:
    return await products.replace_bom(
        db, member.tenant_id, product_id, body, actor_id=member.user_id
    )


# --- price tiers -----------------------------------------------------------------------------


@tiers_router.get(
    "",
    response_model=PriceTierList,
    summary="Price tiers by product, customer type and minimum quantity",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_price_tiers(
    member: ProductViewer,
    products: Products,
    db: TenantSession,
    page: TierPage,
    product_id: Annotated[uuid.UUID | None, Query(description="Only this product.")] = None,
    customer_type: Annotated[
        CustomerType | None, Query(description="Only this customer type.")
    ] = None,
) -> PriceTierList:
    rows, cursor = await products.list_tiers(
        db,
        member.tenant_id,
        product_id=product_id,
        customer_type=customer_type.value if customer_type else None,
        page=page,
    )
    return PriceTierList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@tiers_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PriceTierOut,
    summary="Add a price tier: from `min_quantity` pieces of the design (all sizes and "
    "colours together) a customer type pays `unit_price` (plus size surcharges)",
    responses={
        **etag_response(201, "Created.", location="The new tier."),
        **error_responses(*NOT_FOUND_ERRORS, PRICE_TIER_EXISTS, *IDEMPOTENCY_ERRORS),
    },
)
async def create_price_tier(
    body: CreatePriceTierRequest,
    member: ProductManager,
    products: Products,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> PriceTierOut:
    tier = await products.create_tier(db, member.tenant_id, body, actor_id=member.user_id)
    response.headers["Location"] = request.url_for("get_price_tier", tier_id=str(tier.id)).path
    set_etag(response, tier.version)
    return tier


@tiers_router.get(
    "/{tier_id}",
    response_model=PriceTierOut,
    summary="One price tier",
    responses={**etag_response(200, "The tier."), **error_responses(*NOT_FOUND_ERRORS)},
)
async def get_price_tier(
    tier_id: uuid.UUID,
    member: ProductViewer,
    products: Products,
    db: TenantSession,
    response: Response,
) -> PriceTierOut:
    tier = await products.get_tier(db, member.tenant_id, tier_id)
    set_etag(response, tier.version)
    return tier


@tiers_router.patch(
    "/{tier_id}",
    response_model=PriceTierOut,
    summary="Change a tier's minimum quantity or unit price (If-Match)",
    responses={
        **etag_response(200, "The changed tier."),
        **error_responses(*NOT_FOUND_ERRORS, CONFLICT, PRICE_TIER_EXISTS),
    },
)
async def update_price_tier(
    tier_id: uuid.UUID,
    body: UpdatePriceTierRequest,
    member: ProductManager,
    products: Products,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> PriceTierOut:
    tier = await products.update_tier(
        db, member.tenant_id, tier_id, body, expected, actor_id=member.user_id
    )
    set_etag(response, tier.version)
    return tier


@tiers_router.delete(
    "/{tier_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a price tier",
    responses=error_responses(*NOT_FOUND_ERRORS, CONFLICT),
)
async def delete_price_tier(
    tier_id: uuid.UUID,
    member: ProductManager,
    products: Products,
    db: TenantSession,
    expected: IfMatch,
) -> Response:
    await products.delete_tier(db, member.tenant_id, tier_id, expected, actor_id=member.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
