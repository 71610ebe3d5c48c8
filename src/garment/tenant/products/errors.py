"""Error codes and field messages of the catalogue."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

PRODUCT_SKU_TAKEN = define_error(
    "PRODUCT_SKU_TAKEN",
    409,
    id="SKU {sku} sudah dipakai produk atau varian lain.",
    en="The SKU {sku} is already used by another product or variant.",
    action="Ask for another SKU; show which one is taken.",
)
PRODUCT_IN_USE = define_error(
    "PRODUCT_IN_USE",
    409,
    id="Produk ini dipakai {orders} pesanan dan {quotations} penawaran; arsipkan saja "
    "(status `archived`) alih-alih menghapus.",
    en="This product is used by {orders} orders and {quotations} quotations; archive it "
    "(status `archived`) instead of deleting it.",
    action="Offer to archive the product (PATCH status `archived`); it stays on its orders.",
)
PRICE_TIER_EXISTS = define_error(
    "PRICE_TIER_EXISTS",
    409,
    id="Sudah ada tingkat harga untuk jenis pelanggan dan jumlah minimum ini.",
    en="A price tier for this customer type and minimum quantity already exists.",
    action="Edit the existing tier instead.",
)

UNKNOWN_TERM = Message(
    "Bukan {term_type} milik usaha ini.", "Not one of this business's {term_type} terms."
)
DUPLICATE_SIZES = Message("Ukuran tidak boleh berulang: {codes}.", "Sizes repeat: {codes}.")
UNKNOWN_VARIANT = Message(
    "Tidak ada varian {size}/{color} pada produk ini.",
    "The product has no variant {size}/{color}.",
)
UNKNOWN_MATERIAL = Message("Bukan bahan milik usaha ini.", "Not one of this business's materials.")
UNKNOWN_SIZE = Message(
    "Ukuran {size} tidak ada pada produk ini.", "The product has no size {size}."
)
