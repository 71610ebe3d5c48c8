"""Error codes and field messages of invoicing (customer invoices, tax settings, Coretax)."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

ORDER_NOT_INVOICEABLE = define_error(
    "ORDER_NOT_INVOICEABLE",
    409,
    id="Pesanan berstatus {status} belum atau tidak dapat ditagih.",
    en="An order in status {status} cannot be invoiced.",
    action="Invoice a confirmed (or later) order that is not cancelled.",
)
DOWN_PAYMENT_NOT_REQUESTED = define_error(
    "DOWN_PAYMENT_NOT_REQUESTED",
    409,
    id="Pesanan ini tidak meminta uang muka.",
    en="This order asks for no down payment.",
    action="Issue the final invoice instead, or send an explicit `amount`.",
)
INVOICE_ALREADY_EXISTS = define_error(
    "INVOICE_ALREADY_EXISTS",
    409,
    id="Pesanan ini sudah memiliki faktur {kind} ({invoice_id}).",
    en="This order already has a {kind} invoice ({invoice_id}).",
    action="Open the invoice in `invoice_id`; void or replace it to start over.",
)
FINAL_INVOICE_EXISTS = define_error(
    "FINAL_INVOICE_EXISTS",
    409,
    id="Faktur pelunasan pesanan ini sudah dibuat; uang muka tidak dapat ditagih lagi.",
    en="The order's final invoice exists; a down payment can no longer be invoiced.",
    action="Void or replace the final invoice first.",
)
DOWN_PAYMENT_INVOICE_NOT_ISSUED = define_error(
    "DOWN_PAYMENT_INVOICE_NOT_ISSUED",
    409,
    id="Faktur uang muka pesanan ini masih draf.",
    en="The order's down payment invoice is still a draft.",
    action="Issue (or void) the down payment invoice first.",
)
INVOICE_EXPORTED = define_error(
    "INVOICE_EXPORTED",
    409,
    id="Faktur sudah diekspor ke Coretax dan tidak dapat diubah.",
    en="The invoice was exported to Coretax and can no longer be changed.",
    action="Create a replacement invoice (`POST /invoices/{id}/replacement`).",
)
INVOICE_NOT_ISSUED = define_error(
    "INVOICE_NOT_ISSUED",
    409,
    id="Faktur berstatus {status}: hanya faktur terbit yang dapat diproses.",
    en="The invoice is {status}: only an issued invoice can be processed.",
    action="Issue the invoice first (a void or replaced one stays as it is).",
)
INVOICE_NOT_TAXABLE = define_error(
    "INVOICE_NOT_TAXABLE",
    409,
    id="Faktur tanpa PPN (penjual bukan PKP) tidak diekspor ke Coretax.",
    en="An invoice without PPN (the seller is not PKP) is not exported to Coretax.",
    action="Export only invoices issued while the tenant was PKP.",
)
INVOICE_HAS_PAYMENTS = define_error(
    "INVOICE_HAS_PAYMENTS",
    409,
    id="Faktur yang sudah dibayar tidak dapat dibatalkan.",
    en="An invoice with payments cannot be voided.",
    action="Create a replacement invoice; the payments move to it.",
)
INVOICE_PAYMENT_EXCEEDS_BALANCE = define_error(
    "INVOICE_PAYMENT_EXCEEDS_BALANCE",
    409,
    id="Pembayaran melebihi sisa tagihan faktur (Rp {balance}).",
    en="The payment exceeds the invoice's balance (Rp {balance}).",
    action="Apply at most `balance`.",
)
ORDER_PAYMENT_ALREADY_APPLIED = define_error(
    "ORDER_PAYMENT_ALREADY_APPLIED",
    409,
    id="Pembayaran pesanan itu tinggal Rp {available} yang belum dialokasikan.",
    en="Only Rp {available} of that order payment is not applied yet.",
    action="Apply at most `available` of it, or record a new payment.",
)
INVOICE_NOT_EXPORTED = define_error(
    "INVOICE_NOT_EXPORTED",
    409,
    id="Faktur belum diekspor ke Coretax; NSFP belum dapat dicatat.",
    en="The invoice has not been exported to Coretax; its NSFP cannot be recorded yet.",
    action="Export the invoice, upload it to Coretax, then import the NSFP it assigns.",
)
NSFP_ALREADY_SET = define_error(
    "NSFP_ALREADY_SET",
    409,
    id="Faktur ini sudah memiliki NSFP {nsfp}.",
    en="This invoice already has the NSFP {nsfp}.",
    action="A correction is a replacement invoice with its own NSFP.",
)
NSFP_TAKEN = define_error(
    "NSFP_TAKEN",
    409,
    id="NSFP {nsfp} sudah dipakai faktur lain.",
    en="The NSFP {nsfp} belongs to another invoice.",
    action="Check the number against Coretax.",
)

UNKNOWN_ORDER = Message("Pesanan tidak ditemukan.", "No such order.")
DOWN_PAYMENT_TOO_HIGH = Message(
    "Uang muka harus kurang dari total pesanan (Rp {total}).",
    "The down payment must be less than the order's total (Rp {total}).",
)
UNKNOWN_ORDER_PAYMENT = Message(
    "Pembayaran pesanan tidak ditemukan pada pesanan faktur ini.",
    "No such payment on this invoice's order.",
)
PAYMENT_SOURCE = Message(
    "Kirim `order_payment_id` atau `method` bersama `paid_on`, tidak keduanya.",
    "Send either `order_payment_id` or `method` with `paid_on`, not both.",
)
NOT_A_MONTH = Message("Bulan harus berformat YYYY-MM.", "The month must read YYYY-MM.")
NOT_A_DAY = Message("Tanggal harus berformat YYYY-MM-DD.", "The date must read YYYY-MM-DD.")
BASE_RATIO = Message(
    "Pembilang dasar pengenaan pajak tidak boleh melebihi penyebutnya.",
    "The tax base numerator must not exceed its denominator.",
)
SELLER_NPWP_MISSING = Message(
    "NPWP penjual (pengaturan pajak) wajib untuk ekspor Coretax.",
    "The seller's NPWP (tax settings) is required for the Coretax export.",
)
SELLER_NITKU_NOT_OF_NPWP = Message(
    "NITKU penjual harus diawali NPWP 16 digit penjual ({npwp}).",
    "The seller's NITKU must start with the seller's 16-digit NPWP ({npwp}).",
)
BUYER_ID_MISSING = Message(
    "Pelanggan memerlukan NPWP atau NIK untuk faktur pajak.",
    "The customer needs an NPWP or a NIK for a tax invoice.",
)
BUYER_NPWP_INVALID = Message(
    "NPWP pelanggan harus 15 atau 16 digit.", "The customer's NPWP must have 15 or 16 digits."
)
BUYER_NITKU_INVALID = Message(
    "NITKU pelanggan harus 22 digit dan diawali NPWP 16 digitnya ({npwp}).",
    "The customer's NITKU must have 22 digits and start with its 16-digit NPWP ({npwp}).",
)
TRX_CODE_UNSUPPORTED = Message(
    "Ekspor Coretax mendukung kode transaksi 04 (DPP nilai lain 11/12) saja.",
    "The Coretax export supports transaction code 04 (other tax base 11/12) only.",
)
UNIT_CODE_INVALID = Message(
    "Kode satuan Coretax harus berformat UM.0000.",
    "The Coretax unit code must read UM.0000.",
)
GOODS_CODE_INVALID = Message(
    "Kode barang/jasa Coretax harus 6 digit.", "The Coretax goods/service code must be 6 digits."
)
UNKNOWN_INVOICE = Message("Faktur tidak ditemukan.", "No such invoice.")
NSFP_FORMAT = Message("NSFP harus 17 digit.", "An NSFP has 17 digits.")
CSV_UNREADABLE = Message("CSV tidak terbaca: {problem}.", "The CSV cannot be read: {problem}.")
DUPLICATE_IN_BATCH = Message(
    "Faktur atau NSFP ini muncul lebih dari sekali.", "This invoice or NSFP appears twice."
)
BUYER_ADDRESS_MISSING = Message(
    "Alamat pelanggan wajib untuk faktur pajak.",
    "The customer's address is required for a tax invoice.",
)
AMOUNT_ONLY_FOR_DOWN_PAYMENT = Message(
    "`amount` hanya untuk faktur uang muka.", "`amount` is for a down payment invoice only."
)
DOWN_PAYMENT_EXCEEDS_ORDER = Message(
    "Uang muka yang sudah difakturkan melebihi nilai pesanan sekarang.",
    "The invoiced down payment exceeds the order's current value.",
)
NSFP_SOURCE = Message(
    "Kirim `items` atau `csv`, salah satu saja.", "Send either `items` or `csv`, one of them."
)
CSV_ROW = Message(
    "Baris {row}: harus `nomor faktur,NSFP 17 digit`.",
    "Row {row}: must read `invoice number,17-digit NSFP`.",
)
INVOICE_NOT_EXPORTED_FIELD = Message(
    "Faktur {number} belum diekspor ke Coretax.", "Invoice {number} has not been exported yet."
)
NSFP_CONFLICT_FIELD = Message(
    "NSFP {nsfp} bertentangan dengan faktur yang ada.",
    "The NSFP {nsfp} conflicts with an existing invoice.",
)
