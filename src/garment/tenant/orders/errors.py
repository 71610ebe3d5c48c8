"""Error codes and field messages of sales (orders, payments, quotations, deliveries)."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

ORDER_TRANSITION_FORBIDDEN = define_error(
    "ORDER_TRANSITION_FORBIDDEN",
    409,
    id="Pesanan berstatus {current} tidak dapat diubah menjadi {target}.",
    en="An order in status {current} cannot move to {target}.",
    action="Refresh the order and offer only the transitions its status allows.",
)
ORDER_SET_BY_PRODUCTION = define_error(
    "ORDER_SET_BY_PRODUCTION",
    409,
    id="Status {target} diisi oleh produksi, bukan secara manual.",
    en="The status {target} is set by production, not by hand.",
    action="Record the remaining pieces in production; the order follows.",
)
ORDER_NOT_EDITABLE = define_error(
    "ORDER_NOT_EDITABLE",
    409,
    id="Pesanan berstatus {status} tidak dapat diubah lagi.",
    en="An order in status {status} can no longer be edited.",
    action="Show the order read-only; cancel and re-order to change it.",
)
ORDER_HAS_NO_LINES = define_error(
    "ORDER_HAS_NO_LINES",
    409,
    id="Pesanan tanpa baris tidak dapat dikonfirmasi.",
    en="An order without lines cannot be confirmed.",
    action="Add a line first.",
)
ARTWORK_NOT_APPROVED = define_error(
    "ARTWORK_NOT_APPROVED",
    409,
    id="Desain {count} baris pesanan belum disetujui.",
    en="The artwork of {count} order line(s) is not approved yet.",
    action="Approve the artwork of the lines listed in `line_ids` first.",
)
DOWN_PAYMENT_REQUIRED = define_error(
    "DOWN_PAYMENT_REQUIRED",
    409,
    id="Uang muka belum lunas: kurang Rp {amount_due}.",
    en="The down payment is not paid: Rp {amount_due} is still due.",
    action="Record a payment of at least `amount_due`, then retry.",
)
FULL_PAYMENT_REQUIRED = define_error(
    "FULL_PAYMENT_REQUIRED",
    409,
    id="Pesanan belum lunas: kurang Rp {amount_due}.",
    en="The order is not fully paid: Rp {amount_due} is still due.",
    action="Record the remaining `amount_due` (or give the customer credit terms), then retry.",
)
ORDER_NOT_FULLY_DELIVERED = define_error(
    "ORDER_NOT_FULLY_DELIVERED",
    409,
    id="Masih ada {remaining} potong yang belum dikirim.",
    en="{remaining} pieces are not delivered yet.",
    action="Issue delivery notes for the remaining pieces.",
)
PAYMENT_EXCEEDS_BALANCE = define_error(
    "PAYMENT_EXCEEDS_BALANCE",
    409,
    id="Pembayaran melebihi sisa tagihan Rp {balance}.",
    en="The payment exceeds the balance of Rp {balance}.",
    action="Record at most the balance.",
)
ORDER_NOT_PAYABLE = define_error(
    "ORDER_NOT_PAYABLE",
    409,
    id="Pesanan berstatus {status} tidak menerima pembayaran.",
    en="An order in status {status} takes no payments.",
    action="Payments are recorded on live orders only.",
)
ORDER_NOT_DELIVERABLE = define_error(
    "ORDER_NOT_DELIVERABLE",
    409,
    id="Pesanan berstatus {status} belum dapat dikirim.",
    en="An order in status {status} cannot be delivered yet.",
    action="Deliver once production marks the order ready.",
)
DELIVERY_EXCEEDS_REMAINING = define_error(
    "DELIVERY_EXCEEDS_REMAINING",
    409,
    id="Ukuran {size} tinggal {remaining} potong yang belum dikirim.",
    en="Only {remaining} pieces of size {size} remain to deliver.",
    action="Deliver at most the remaining pieces of each size (see `remaining` per size).",
)
QUOTATION_EXPIRED = define_error(
    "QUOTATION_EXPIRED",
    409,
    id="Penawaran ini kedaluwarsa pada {valid_until}.",
    en="This quotation expired on {valid_until}.",
    action="Issue a new revision with a later validity date.",
)
QUOTATION_SUPERSEDED = define_error(
    "QUOTATION_SUPERSEDED",
    409,
    id="Revisi v{revision} sudah digantikan oleh v{current}.",
    en="Revision v{revision} is superseded by v{current}.",
    action="Convert the latest revision.",
)
QUOTATION_CLOSED = define_error(
    "QUOTATION_CLOSED",
    409,
    id="Penawaran ini sudah {status}.",
    en="This quotation is already {status}.",
    action="Open the order it became, or issue a new quotation.",
)

UNKNOWN_PRODUCT = Message("Bukan produk milik usaha ini.", "Not one of this business's products.")
UNKNOWN_CUSTOMER = Message(
    "Bukan pelanggan milik usaha ini.", "Not one of this business's customers."
)
UNKNOWN_COLOR = Message(
    "Warna {color} tidak ada pada produk ini.", "The product has no colour {color}."
)
UNKNOWN_SIZE = Message(
    "Ukuran {size} tidak ada pada produk ini.", "The product has no size {size}."
)
EMPTY_BREAKDOWN = Message(
    "Isi jumlah untuk minimal satu ukuran.", "Give a quantity for at least one size."
)
DUPLICATE_LINE = Message(
    "Produk dan warna ini sudah ada di baris {index}.",
    "This product and colour are already on line {index}.",
)
DISCOUNT_TOO_HIGH = Message(
    "Diskon melebihi subtotal Rp {subtotal}.", "The discount exceeds the subtotal of Rp {subtotal}."
)
REASON_REQUIRED = Message("Alasan wajib diisi untuk pembatalan.", "A reason is required to cancel.")
UNKNOWN_LINE = Message("Bukan baris pesanan ini.", "Not a line of this order.")
NOT_ON_LINE = Message(
    "Ukuran {size} tidak dipesan pada baris ini.", "Size {size} is not ordered on this line."
)
CSV_UNREADABLE = Message(
    "Berkas CSV tidak terbaca: {problem}.", "The CSV cannot be read: {problem}."
)
CSV_ROW_SIZE = Message(
    "Baris {row}: ukuran {size} tidak ada pada produk ini.",
    "Row {row}: the product has no size {size}.",
)
CSV_ROW_NAME = Message("Baris {row}: nama kosong.", "Row {row}: the name is empty.")
VALID_UNTIL_PAST = Message(
    "Tanggal berlaku tidak boleh sebelum hari ini.", "The validity date cannot be in the past."
)
PERCENT_TOO_HIGH = Message(
    "Persentase uang muka paling banyak 100.", "A down payment percent is at most 100."
)
UNKNOWN_ORDER = Message("Bukan pesanan milik usaha ini.", "Not one of this business's orders.")
NOT_A_DAY = Message("Tanggal ini tidak ada.", "This day does not exist.")
