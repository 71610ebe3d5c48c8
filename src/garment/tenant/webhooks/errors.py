"""Error codes and field messages of outbound webhooks."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

WEBHOOK_ENDPOINT_DISABLED = define_error(
    "WEBHOOK_ENDPOINT_DISABLED",
    409,
    id="Endpoint webhook ini nonaktif; aktifkan dulu sebelum mengirim ulang.",
    en="This webhook endpoint is disabled; enable it before replaying.",
    action="Offer to enable the endpoint (PATCH status: enabled), then replay.",
)

URL_SCHEME = Message(
    "URL harus diawali http:// atau https://.", "The URL must start with http:// or https://."
)
URL_HOST = Message("URL harus memiliki nama host.", "The URL must name a host.")
URL_CREDENTIALS = Message(
    "URL tidak boleh memuat nama pengguna atau kata sandi.",
    "The URL must not contain a user name or password.",
)
URL_PRIVATE = Message(
    "Alamat ini tidak dapat dijangkau dari internet (loopback atau jaringan privat).",
    "This address is not reachable from the internet (loopback or a private network).",
)
UNKNOWN_EVENT_TYPE = Message(
    "Jenis event tidak dikenal: {event_type}.", "Unknown event type: {event_type}."
)
