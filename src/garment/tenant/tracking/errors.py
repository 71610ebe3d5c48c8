"""Error codes and the texts of the public tracking page, Indonesian and English."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

# One answer for an unknown, malformed, expired or revoked token, and for a tenant that is not
# serving (ADR 0018): the page never tells which of these it was.
TRACKING_LINK_NOT_FOUND = define_error(
    "TRACKING_LINK_NOT_FOUND",
    404,
    id="Tautan pelacakan tidak ditemukan, sudah kedaluwarsa, atau sudah dicabut.",
    en="This tracking link does not exist, has expired or was revoked.",
    action="Tell the customer to ask the shop for a new tracking link.",
)

# --- the page ---------------------------------------------------------------------------------

PAGE_TITLE = Message("Lacak pesanan {number}", "Track order {number}")
NOT_FOUND_TITLE = Message("Tautan tidak berlaku", "Link not valid")
NOT_FOUND_HINT = Message(
    "Mintalah tautan baru kepada penjual.", "Ask the seller for a new tracking link."
)
ORDER = Message("Pesanan", "Order")
STATUS = Message("Status", "Status")
ORDER_DATE = Message("Tanggal pesan", "Order date")
DUE_DATE = Message("Target selesai", "Due date")
NO_DUE_DATE = Message("Belum ditentukan", "Not set yet")
QUANTITY = Message("Jumlah", "Quantity")
PIECES = Message("{count} pcs", "{count} pcs")
PAYMENT = Message("Pembayaran", "Payment")
TOTAL = Message("Total pesanan", "Order total")
DOWN_PAYMENT = Message("Uang muka (DP)", "Down payment (DP)")
PAID = Message("Sudah dibayar", "Paid")
BALANCE = Message("Sisa tagihan", "Balance due")
PRODUCTION = Message("Progres produksi", "Production progress")
NOT_IN_PRODUCTION = Message("Belum masuk produksi.", "Not in production yet.")
SIZE = Message("Ukuran", "Size")
ORDERED = Message("Dipesan", "Ordered")
DELIVERED = Message("Terkirim", "Delivered")
DELIVERIES = Message("Pengiriman", "Deliveries")
NO_DELIVERIES = Message("Belum ada pengiriman.", "No deliveries yet.")
UPDATED = Message("Diperbarui {time} UTC", "Updated {time} UTC")
LANGUAGE = Message("English", "Bahasa Indonesia")

STATUS_LABELS: dict[str, Message] = {
    "draft": Message("Draf", "Draft"),
    "confirmed": Message("Dikonfirmasi", "Confirmed"),
    "in_production": Message("Sedang diproduksi", "In production"),
    "ready": Message("Siap dikirim", "Ready"),
    "delivered": Message("Terkirim", "Delivered"),
    "closed": Message("Selesai", "Completed"),
    "cancelled": Message("Dibatalkan", "Cancelled"),
}
