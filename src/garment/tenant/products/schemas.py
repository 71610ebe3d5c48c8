"""Request and response bodies of the catalogue: products, variants, price tiers, BOM."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from garment.platform.contract import TRIMMED_TEXT, RequestBody
from garment.platform.pagination import PageMeta
from garment.tenant.products.states import CustomerType, ProductStatus, ServiceKind

# Integer rupiah; a trillion is far above any garment price and keeps every sum in range.
MAX_RUPIAH = 1_000_000_000_000
Rupiah = Annotated[int, Field(ge=0, le=MAX_RUPIAH, examples=[85_000])]
Pieces = Annotated[int, Field(ge=1, le=1_000_000, examples=[12])]
SKU_PATTERN = r"^[A-Z0-9](?:[A-Z0-9-]{0,38}[A-Z0-9])?$"
Sku = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=SKU_PATTERN),
    Field(
        description="Upper-case letters, digits and inner hyphens; unique per tenant. Each "
        "variant's SKU is `<sku>-<SIZE>-<COLOUR>`.",
        examples=["KAOS-CC30S"],
    ),
]
SIZE_PATTERN = r"^[A-Z0-9]{1,8}$"
SizeCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=8, pattern=SIZE_PATTERN),
    Field(examples=["XXL"]),
]
COLOR_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ColorCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=COLOR_PATTERN),
    Field(examples=["hitam"]),
]
ImageUrl = Annotated[
    str,
    StringConstraints(max_length=2000, pattern=r"^https?://[!-~]+$"),
    Field(examples=["https://cdn.konveksi.id/kaos-hitam.jpg"]),
]
Name = Annotated[
    str,
    StringConstraints(min_length=2, max_length=200, pattern=TRIMMED_TEXT),
    Field(examples=["Kaos Polos Cotton Combed 30s"]),
]
# Material quantities travel as decimal text (never a binary float): up to 10 integer digits
# and 3 decimals, greater than zero.
POSITIVE_QUANTITY = (
    r"^(?:[1-9][0-9]{0,9}(?:\.[0-9]{1,3})?|0\.(?:[1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$"
)
QuantityText = Annotated[
    str,
    StringConstraints(max_length=14, pattern=POSITIVE_QUANTITY),
    Field(examples=["0.215"]),
]


class SizeIn(RequestBody):
    code: SizeCode
    surcharge: Rupiah = Field(0, description="Added to the base price for this size.")


class SizeOut(BaseModel):
    code: str
    surcharge: int


class CreateProductRequest(RequestBody):
    sku: Sku
    name: Name
    category_id: uuid.UUID | None = Field(None, description="A `category` taxonomy term.")
    collection_id: uuid.UUID | None = Field(None, description="A `collection` taxonomy term.")
    description: str | None = Field(None, max_length=4000)
    base_price: Rupiah
    status: ProductStatus = ProductStatus.DRAFT
    image_urls: list[ImageUrl] = Field(default_factory=list, max_length=10)
    sizes: list[SizeIn] = Field(
        min_length=1,
        max_length=12,
        description="The size set in grid order, each with its surcharge; codes must differ.",
    )
    colors: list[ColorCode] = Field(
        min_length=1,
        max_length=24,
        description="The colour set in grid order (taxonomy `color` codes).",
        json_schema_extra={"uniqueItems": True},
    )


class UpdateProductRequest(RequestBody):
    """Only the members sent change. For `name`, `base_price` and `status`, null means
    "unchanged"; for `category_id`, `collection_id` and `description` it clears the value."""

    name: Name | None = None
    category_id: uuid.UUID | None = None
    collection_id: uuid.UUID | None = None
    description: str | None = Field(None, max_length=4000)
    base_price: Rupiah | None = None
    status: ProductStatus | None = None
    image_urls: list[ImageUrl] | None = Field(None, max_length=10)


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    product_id: uuid.UUID
    sku: str
    size: str
    color: str
    position: int
    price_override: int | None
    price: int = Field(
        description="One piece before tiers: the override, or base price plus size surcharge."
    )
    stock: int
    version: int


class ProductOut(BaseModel):
    id: uuid.UUID
    sku: str
    name: str
    category_id: uuid.UUID | None
    collection_id: uuid.UUID | None
    description: str | None
    base_price: int
    status: ProductStatus
    image_urls: list[str]
    sizes: list[SizeOut]
    colors: list[str]
    variant_count: int
    version: int
    created_at: datetime
    updated_at: datetime


class ProductDetail(ProductOut):
    variants: list[VariantOut]


class ProductList(BaseModel):
    data: list[ProductOut]
    meta: PageMeta


class VariantList(BaseModel):
    data: list[VariantOut]
    meta: PageMeta


class UpdateVariantRequest(RequestBody):
    """`price_override` null goes back to the base price plus surcharge; `stock` null keeps it."""

    price_override: Rupiah | None = None
    stock: Annotated[int, Field(ge=0, le=1_000_000_000)] | None = None


# --- price tiers -----------------------------------------------------------------------------


class CreatePriceTierRequest(RequestBody):
    product_id: uuid.UUID
    customer_type: CustomerType
    min_quantity: Pieces = Field(
        description="From this many pieces of the design (all sizes and colours together)."
    )
    unit_price: Rupiah = Field(description="Replaces the base price; size surcharges still apply.")


class UpdatePriceTierRequest(RequestBody):
    min_quantity: Pieces | None = None
    unit_price: Rupiah | None = None


class PriceTierOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    product_id: uuid.UUID
    customer_type: CustomerType
    min_quantity: int
    unit_price: int
    version: int
    created_at: datetime
    updated_at: datetime


class PriceTierList(BaseModel):
    data: list[PriceTierOut]
    meta: PageMeta


class QuoteLineIn(RequestBody):
    size: SizeCode
    color: ColorCode
    quantity: Pieces


class QuoteRequest(RequestBody):
    customer_type: CustomerType
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=300)


class QuoteLineOut(BaseModel):
    variant_id: uuid.UUID
    sku: str
    size: str
    color: str
    quantity: int
    unit_price: int
    amount: int


class QuoteOut(BaseModel):
    product_id: uuid.UUID
    customer_type: CustomerType
    total_quantity: int = Field(description="Pieces over every size and colour: picks the tier.")
    tier_id: uuid.UUID | None
    tier_min_quantity: int | None
    lines: list[QuoteLineOut]
    total: int


# --- bill of materials -----------------------------------------------------------------------


class ConsumptionIn(RequestBody):
    size: SizeCode
    quantity: QuantityText = Field(description="Per piece, in the material's unit.")


class MaterialLineIn(RequestBody):
    kind: Literal["material"]
    material_id: uuid.UUID
    consumption: list[ConsumptionIn] = Field(
        min_length=1,
        max_length=12,
        description="How much one piece of each size uses; sizes of the product, each once.",
    )
    description: str | None = Field(None, max_length=200)


class ServiceLineIn(RequestBody):
    kind: Literal["service"]
    service: ServiceKind
    description: str | None = Field(None, max_length=200, examples=["Sablon 2 warna dada"])
    cost_per_piece: Rupiah


BomLineIn = Annotated[MaterialLineIn | ServiceLineIn, Field(discriminator="kind")]


class ReplaceBomRequest(RequestBody):
    lines: list[BomLineIn] = Field(max_length=50)


class ConsumptionOut(BaseModel):
    size: str
    quantity: str


class BomLineOut(BaseModel):
    id: uuid.UUID
    position: int
    kind: str
    material_id: uuid.UUID | None
    service: ServiceKind | None
    description: str | None
    cost_per_piece: int
    consumption: list[ConsumptionOut]


class BomOut(BaseModel):
    product_id: uuid.UUID
    lines: list[BomLineOut]
    service_cost_per_piece: int = Field(description="The service lines' costs summed.")
