"""Error codes tenancy adds to the catalogue."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

TENANT_MAINTENANCE = define_error(
    "TENANT_MAINTENANCE",
    503,
    id="Data usaha Anda sedang dipindahkan; perubahan bisa dilakukan lagi dalam "
    "{retry_after} detik.",
    en="Your business data is being moved; changes are possible again in {retry_after} seconds.",
    action="Allow reads; retry writes after Retry-After.",
)
INVITATION_INVALID = define_error(
    "INVITATION_INVALID",
    404,
    id="Undangan tidak valid, sudah dipakai, dicabut, atau kedaluwarsa.",
    en="The invitation is invalid, used, revoked or expired.",
    action="Ask the inviter for a new invitation.",
)
TENANT_SLUG_TAKEN = define_error(
    "TENANT_SLUG_TAKEN",
    409,
    id="Alamat usaha (slug) ini sudah dipakai. Pilih yang lain.",
    en="This business address (slug) is taken. Choose another one.",
    action="Show the message on the slug field (`errors`) and suggest another slug.",
)
INVITATION_EMAIL_MISMATCH = define_error(
    "INVITATION_EMAIL_MISMATCH",
    403,
    id="Undangan ini untuk alamat email lain. Masuk dengan akun yang diundang.",
    en="This invitation is for another email address. Sign in with the invited account.",
    action="Offer to sign out and sign in with the invited email.",
)

# --- field messages --------------------------------------------------------------------------

SLUG_INVALID = Message(
    "Gunakan 3-63 huruf kecil, angka atau tanda hubung; tidak boleh nama yang dicadangkan.",
    "Use 3-63 lowercase letters, digits or hyphens; reserved names are not allowed.",
)
SLUG_TAKEN = Message("Alamat ini sudah dipakai.", "This slug is taken.")
PLAN_UNKNOWN = Message("Paket tidak dikenal.", "Unknown plan.")
