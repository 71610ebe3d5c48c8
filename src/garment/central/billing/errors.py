"""Error codes billing adds to the catalogue (WEBHOOK_SIGNATURE_INVALID and PLAN_LIMIT_REACHED
are platform codes: other contexts raise them too)."""

from __future__ import annotations

from garment.platform.errors import define_error

WEBHOOK_PROVIDER_UNKNOWN = define_error(
    "WEBHOOK_PROVIDER_UNKNOWN",
    404,
    id="Penyedia pembayaran ini tidak dikenal.",
    en="This payment provider is unknown.",
    action="(Provider-facing) check the webhook URL configured at the provider.",
)
INVOICE_NOT_PAYABLE = define_error(
    "INVOICE_NOT_PAYABLE",
    409,
    id="Tagihan ini tidak bisa dibayar (status: {status}).",
    en="This invoice cannot be paid (status: {status}).",
    action="Reload the invoices; show the invoice's status.",
)
PAYMENT_PROVIDER_UNAVAILABLE = define_error(
    "PAYMENT_PROVIDER_UNAVAILABLE",
    503,
    id="Layanan pembayaran sedang tidak tersedia. Coba lagi dalam {retry_after} detik.",
    en="The payment service is unavailable. Try again in {retry_after} seconds.",
    action="Retry after Retry-After.",
)
PLAN_UNCHANGED = define_error(
    "PLAN_UNCHANGED",
    409,
    id="Langganan Anda sudah memakai paket ini.",
    en="Your subscription is already on this plan.",
    action="Show the current plan.",
)
SUBSCRIPTION_NOT_CHANGEABLE = define_error(
    "SUBSCRIPTION_NOT_CHANGEABLE",
    409,
    id="Langganan dengan status {status} tidak bisa diubah.",
    en="A subscription in status {status} cannot be changed.",
    action="Reload the subscription; pay open invoices first.",
)
