"""Error codes central auth adds to the platform catalogue."""

from __future__ import annotations

from garment.platform.errors import define_error

AUTH_REAUTH_REQUIRED = define_error(
    "AUTH_REAUTH_REQUIRED",
    401,
    id="Konfirmasi kata sandi Anda untuk melanjutkan.",
    en="Confirm your password to continue.",
    action="Ask for the password, POST /auth/reauth, then retry the request.",
)
AUTH_LINK_INVALID = define_error(
    "AUTH_LINK_INVALID",
    404,
    id="Tautan tidak valid atau sudah kedaluwarsa. Minta tautan baru.",
    en="The link is invalid or has expired. Request a new one.",
    action="Offer to send a new verification or reset mail.",
)
AUTH_PASSWORD_INCORRECT = define_error(
    "AUTH_PASSWORD_INCORRECT",
    403,
    id="Kata sandi saat ini salah.",
    en="The current password is incorrect.",
    action="Show the message on the current-password field.",
)
AUTH_MFA_INVALID = define_error(
    "AUTH_MFA_INVALID",
    401,
    id="Kode verifikasi salah atau sudah dipakai.",
    en="The verification code is wrong or was already used.",
    action="Show the message and let the user try another code.",
)
AUTH_MFA_CHALLENGE_EXPIRED = define_error(
    "AUTH_MFA_CHALLENGE_EXPIRED",
    401,
    id="Sesi verifikasi dua langkah berakhir. Silakan masuk kembali.",
    en="The two-step verification expired. Please sign in again.",
    action="Go back to the login form.",
)
