"""Sending one webhook message: Standard Webhooks signatures, one HTTP POST with a short
timeout and no redirects, and the SSRF guard on the target address.

Nothing here logs or returns a secret or a request header: an attempt's record holds the status
code, the duration, our error text and the first bytes of the answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from garment.config import Environment, Settings, WebhookSettings
from garment.tenant.webhooks.states import AttemptOutcome

EXCERPT_CHARS = 1000
ERROR_CHARS = 500
USER_AGENT = "Garment.id-Webhooks/1"


def private_targets_allowed(settings: Settings) -> bool:
    """The SSRF guard's switch: explicit setting, else allowed outside production only."""
    configured = settings.webhooks.allow_private_targets
    if configured is not None:
        return configured
    return settings.environment is not Environment.PRODUCTION


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> str | None:
    """The host when it is an IP literal (`[::1]` unbracketed), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def host_is_private_name(host: str) -> bool:
    """Names that can only mean this machine or a local network, refused without a lookup."""
    lowered = host.lower().rstrip(".")
    return lowered == "localhost" or lowered.endswith((".localhost", ".local", ".internal"))


def sign_headers(
    webhook_id: str, body: bytes, secrets: Sequence[str], moment: datetime
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` (one `v1,` signature per
    secret: during a rotation both the new and the previous secret sign)."""
    text = body.decode("utf-8")
    signatures = [Webhook(secret).sign(webhook_id, moment, text) for secret in secrets]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: AttemptOutcome
    status_code: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None


class WebhookSender:
    """POSTs a frozen body to an endpoint. `transport` is for tests only."""

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        allow_private: bool,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.allow_private = allow_private
        self.transport = transport

    async def blocked_reason(self, url: str) -> str | None:
        """Why the URL's host may not be called (SSRF guard), resolved now; None when fine.
        The check runs before every attempt, so a name that starts resolving to a private
        address is refused from then on."""
        if self.allow_private:
            return None
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return "invalid_url"
        if host_is_private_name(host):
            return "target_not_public"
        literal = literal_address(host)
        if literal is not None:
            return None if is_public_address(literal) else "target_not_public"
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return "dns_lookup_failed"
        addresses = {str(info[4][0]) for info in infos}
        if not addresses or not all(is_public_address(address) for address in addresses):
            return "target_not_public"
        return None

    async def send(
        self, url: str, webhook_id: str, body: bytes, secrets: Sequence[str]
    ) -> SendResult:
        started = time.monotonic()
        blocked = await self.blocked_reason(url)
        if blocked is not None:
            return SendResult(AttemptOutcome.FAILED, None, 0, blocked, None)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **sign_headers(webhook_id, body, secrets, datetime.now(UTC)),
        }
        try:
            # One bound on the whole attempt (httpx's timeout is per read: a server dripping
            # bytes would otherwise hold the worker).
            async with asyncio.timeout(self.settings.timeout_seconds):
                status_code, head = await self._post(url, body, headers)
        except (TimeoutError, httpx.TimeoutException):
            return SendResult(AttemptOutcome.FAILED, None, _elapsed(started), "timeout", None)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
            return SendResult(AttemptOutcome.FAILED, None, _elapsed(started), error, None)
        return _result_of(status_code, head, _elapsed(started))

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """The status code and at most the first `EXCERPT_CHARS` x 4 bytes of the answer (we
        never read a large answer into memory)."""
        # Redirects are never followed: a 3xx is a failed attempt (the target must be the URL
        # the tenant configured, never wherever it points us).
        async with (
            httpx.AsyncClient(
                timeout=self.settings.timeout_seconds,
                follow_redirects=False,
                transport=self.transport,
                trust_env=False,
            ) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            head = b""
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= EXCERPT_CHARS * 4:
                    break
            return response.status_code, head


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _result_of(code: int, head: bytes, duration_ms: int) -> SendResult:
    excerpt = head.decode("utf-8", errors="replace")[:EXCERPT_CHARS] if head else None
    if 200 <= code < 300:
        return SendResult(AttemptOutcome.SUCCEEDED, code, duration_ms, None, excerpt)
    if code == 410:
        return SendResult(AttemptOutcome.GONE, code, duration_ms, "gone", excerpt)
    error = "redirect_not_followed" if 300 <= code < 400 else f"http_{code}"
    return SendResult(AttemptOutcome.FAILED, code, duration_ms, error, excerpt)
