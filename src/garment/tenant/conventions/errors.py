"""Error codes of the tenant conventions (idempotency, entitlements)."""

from __future__ import annotations

from garment.platform.errors import define_error

IDEMPOTENCY_IN_PROGRESS = define_error(
    "IDEMPOTENCY_IN_PROGRESS",
    409,
    id="Permintaan dengan Idempotency-Key ini masih diproses. Coba lagi sebentar lagi.",
    en="A request with this Idempotency-Key is still being processed. Retry shortly.",
    action="Retry the same request with the same key after a moment.",
)
PLAN_FEATURE_UNAVAILABLE = define_error(
    "PLAN_FEATURE_UNAVAILABLE",
    402,
    id="Fitur {feature} tidak termasuk dalam paket Anda.",
    en="The feature {feature} is not part of your plan.",
    action="Show an upgrade prompt naming the feature.",
)
