"""The sandbox provider: payments completed locally, so the whole flow runs with no provider.

Same wire format as Standard Webhooks (`standard.py`) with its own secret,
`billing.sandbox.secret`. Unset outside production, a secret is generated once into
`data_dir/billing_sandbox_secret` (mode 0600, created atomically so concurrent processes agree),
so the embedded default needs no configuration. Unset in production, the sandbox is not
configured and refuses every delivery: in production anyone holding its secret could mark
invoices paid, so it must be set on purpose, if at all.

`create_payment` returns `{http.public_url}/billing/sandbox/pay/{reference}`, a local address
(nothing remote exists). `garment billing simulate-payment INVOICE [--fail]` pays: it posts what
`build_simulated_delivery` builds to the running server's webhook ingress. The sandbox remembers
nothing remotely: `fetch_payment` is None, `list_payments` [], `retry_charge` False.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from garment.central.billing.providers._support import plain_secret, utc_now
from garment.central.billing.providers.base import PaymentEventKind, PaymentLink, PaymentRequest
from garment.central.billing.providers.standard import (
    SECRET_PREFIX,
    StandardWireFormat,
    event_body,
    sign_delivery,
)
from garment.config import Environment, Settings

NAME = "sandbox"
SECRET_FILE = "billing_sandbox_secret"
PAY_PATH = "/billing/sandbox/pay"


def new_secret() -> str:
    """A fresh `whsec_` secret (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sandbox_secret(settings: Settings) -> str | None:
    """The configured sandbox secret; unset outside production, the one generated into
    `data_dir` (created on first use); unset in production, None."""
    configured = plain_secret(settings.billing.sandbox.secret)
    if configured is not None:
        return configured
    if settings.environment is Environment.PRODUCTION:
        return None
    return generated_secret(settings.data_dir / SECRET_FILE)


def generated_secret(path: Path) -> str:
    """The secret stored at `path`, writing a new one (mode 0600) when there is none. The file
    is written whole under a temporary name and linked into place, so a process starting at the
    same moment reads either nothing (and links its own, which fails) or the complete secret."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(new_secret())
        with contextlib.suppress(FileExistsError):  # another process won: use its secret
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_text(encoding="utf-8").strip()


class SandboxProvider(StandardWireFormat):
    """Local payments signed like Standard Webhooks (see the module docstring)."""

    name = NAME
    _setting = "billing.sandbox.secret"

    def __init__(self, *, secret: str | None, public_url: str) -> None:
        super().__init__(secret)
        self._public_url = public_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxProvider:
        return cls(secret=sandbox_secret(settings), public_url=settings.http.public_url)

    async def create_payment(self, request: PaymentRequest) -> PaymentLink:
        return PaymentLink(
            provider=NAME,
            provider_reference=provider_reference(request.reference),
            url=f"{self._public_url}{PAY_PATH}/{quote(request.reference, safe='')}",
            expires_at=request.expires_at,
        )


def provider_reference(reference: str) -> str:
    return f"sandbox_{reference}"


def build_simulated_delivery(
    reference: str,
    amount: int,
    *,
    fail: bool,
    secret: str,
    msg_id: str | None = None,
    now: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a sandbox webhook paying (or, with `fail`, failing) the invoice
    `reference` for `amount` rupiah, signed with `secret` at `now` (default: the clock). POST
    them to `/api/v1/billing/webhooks/sandbox`. Each call is a new event (`msg_id` defaults to
    a random `msg_...`)."""
    moment = now or utc_now()
    kind = PaymentEventKind.FAILED if fail else PaymentEventKind.SUCCEEDED
    body = event_body(
        kind,
        reference,
        amount,
        provider_reference=provider_reference(reference),
        occurred_at=moment,
    )
    headers = sign_delivery(secret, body, msg_id or f"msg_{secrets.token_hex(12)}", moment)
    headers["content-type"] = "application/json"
    return body, headers
