"""Error codes and field messages of materials and stock."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

MATERIAL_CODE_TAKEN = define_error(
    "MATERIAL_CODE_TAKEN",
    409,
    id="Kode bahan {code} sudah dipakai.",
    en="The material code {code} is already used.",
    action="Ask for another code.",
)
LOT_NUMBER_TAKEN = define_error(
    "LOT_NUMBER_TAKEN",
    409,
    id="Nomor lot/rol {lot_number} sudah ada untuk bahan ini.",
    en="The lot or roll number {lot_number} already exists for this material.",
    action="Ask for another lot number.",
)
INSUFFICIENT_STOCK = define_error(
    "INSUFFICIENT_STOCK",
    409,
    id="Stok tidak cukup: tersedia {available}, diminta {requested}.",
    en="Not enough stock: {available} available, {requested} requested.",
    action="Show the available quantity; let the user lower the quantity.",
)
STOCK_OUT_OF_RANGE = define_error(
    "STOCK_OUT_OF_RANGE",
    409,
    id="Jumlah stok akan melebihi batas yang dapat dicatat.",
    en="The stock would exceed the largest quantity that can be recorded.",
    action="Check the quantity entered.",
)

LOT_NOT_OF_MATERIAL = Message(
    "Lot ini bukan milik bahan ini.", "This lot does not belong to this material."
)
