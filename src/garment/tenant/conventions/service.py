"""The tenant-route conventions of spec 03, as services every tenant context uses:

* idempotency: `IdempotencyService.claim` / `.complete` / `.release` (the HTTP side is
  `dependencies.Idempotent` with `dependencies.ConventionRoute`, ADR 0013);
* document numbers: `next_document_number(session, tenant_id, DocumentType.QUOTATION)` →
  `QT/2026/000001`, gap-free and unique under concurrency;
* plan entitlements: `Entitlements.require_within_limit(plan_code, "max_products", usage)` and
  `.require_feature(plan_code, "custom_roles")` → `402` with the limit and usage in details.

Versions and ETags are platform (`platform.versioning`), the audit writer is `tenant.audit`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.billing.service import PlanCatalogue
from garment.platform.cache import InvalidationBus, TtlCache
from garment.platform.errors import IDEMPOTENCY_KEY_REUSED, PLAN_LIMIT_REACHED, AppError
from garment.tenant.conventions.errors import IDEMPOTENCY_IN_PROGRESS, PLAN_FEATURE_UNAVAILABLE
from garment.tenant.conventions.repository import (
    COMPLETED,
    DocumentCounterRepository,
    IdempotencyRepository,
)

IDEMPOTENCY_TTL = timedelta(hours=24)
# How long a duplicate waits for the first request with its key before 409 IN_PROGRESS.
IDEMPOTENCY_WAIT_SECONDS = 10.0
IDEMPOTENCY_RETRY_AFTER = 1
LOCK_NOT_AVAILABLE = "55P03"
DEFAULT_TIMEZONE = ZoneInfo("Asia/Jakarta")

# Response headers a replay repeats (the body and status always).
REPLAYED_HEADERS = ("location", "etag", "content-type")


# --- idempotency -------------------------------------------------------------------------------


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and body. A JSON body is compared by
    its value (member order and spacing do not matter); anything else byte for byte."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def _lock_not_available(exc: DBAPIError) -> bool:
    original = getattr(exc, "orig", None)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code is None:
        cause = getattr(original, "__cause__", None)
        code = getattr(cause, "sqlstate", None)
    return code == LOCK_NOT_AVAILABLE


class IdempotencyService:
    """Stored responses per tenant and `Idempotency-Key` on the tenant's cluster (ADR 0013)."""

    def __init__(self, *, wait_seconds: float = IDEMPOTENCY_WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds

    async def claim(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        key: str,
        *,
        method: str,
        path: str,
        body: bytes,
    ) -> StoredResponse | None:
        """None: this request holds the key and runs (then `complete`). A `StoredResponse`:
        the key's first request committed with the same fingerprint; answer with it.

        Raises `IDEMPOTENCY_KEY_REUSED` (same key, other request) and, when the first request
        still runs after `wait_seconds`, `IDEMPOTENCY_IN_PROGRESS`."""
        fingerprint = request_fingerprint(method, path, body)
        keys = IdempotencyRepository(session)
        now = datetime.now(UTC)
        try:
            claimed = await keys.claim(
                tenant_id,
                key,
                fingerprint=fingerprint,
                method=method,
                path=path,
                now=now,
                expires_at=now + IDEMPOTENCY_TTL,
                wait_milliseconds=int(self.wait_seconds * 1000),
            )
        except DBAPIError as exc:
            if _lock_not_available(exc):
                raise in_progress() from exc
            raise
        if claimed:
            return None
        row = await keys.stored(tenant_id, key)
        if row is None:  # purged between the two statements: a fresh key after all
            return await self.claim(session, tenant_id, key, method=method, path=path, body=body)
        if row.fingerprint != fingerprint:
            raise AppError(IDEMPOTENCY_KEY_REUSED)
        if row.state != COMPLETED or row.response_status is None:
            raise in_progress()
        return StoredResponse(
            status=row.response_status,
            headers=dict(row.response_headers or {}),
            body=row.response_body or b"",
        )

    async def complete(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        key: str,
        *,
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        """Store the response of the request that holds the key, in its own transaction: the
        key and the work it did commit together or not at all."""
        kept = {name: value for name, value in headers.items() if name in REPLAYED_HEADERS}
        await IdempotencyRepository(session).complete(
            tenant_id, key, status=status, headers=kept, body=body
        )

    async def release(self, session: AsyncSession, tenant_id: uuid.UUID, key: str) -> None:
        """The request failed: the key is free again (matters only when the transaction
        commits anyway, e.g. an error that keeps its changes)."""
        await IdempotencyRepository(session).release(tenant_id, key)

    async def purge_expired(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
        return await IdempotencyRepository(session).purge_expired(tenant_id, datetime.now(UTC))


def in_progress() -> AppError:
    return AppError(
        IDEMPOTENCY_IN_PROGRESS,
        headers={"Retry-After": str(IDEMPOTENCY_RETRY_AFTER)},
        params={"retry_after": IDEMPOTENCY_RETRY_AFTER},
    )


# --- document numbers --------------------------------------------------------------------------


class DocumentType(StrEnum):
    """Numbered documents and their prefixes (spec 03)."""

    QUOTATION = "QT"
    SALES_ORDER = "SO"
    DELIVERY_NOTE = "SJ"
    MAKLOON_DISPATCH = "MK"
    INVOICE = "INV"


def format_document_number(doc_type: DocumentType | str, year: int, number: int) -> str:
    return f"{DocumentType(doc_type).value}/{year:04d}/{number:06d}"


async def next_document_number(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    doc_type: DocumentType,
    *,
    at: datetime | None = None,
    timezone: ZoneInfo = DEFAULT_TIMEZONE,
) -> str:
    """The next number of this type and year (the tenant's local year), e.g. `QT/2026/000001`.
    Call it in the transaction that creates the document: the counter row stays locked until
    that transaction ends, so concurrent creators get consecutive numbers, and a rolled-back
    creation gives its number back (no gaps)."""
    moment = (at or datetime.now(UTC)).astimezone(timezone)
    number = await DocumentCounterRepository(session).take_next(
        tenant_id, doc_type.value, moment.year
    )
    return format_document_number(doc_type, moment.year, number)


# --- plan entitlements -------------------------------------------------------------------------

PLAN_CACHE_SECONDS = 60.0


def limit_reached(name: str, usage: int, maximum: int) -> AppError:
    details = {"limit": name, "usage": usage, "maximum": maximum}
    return AppError(PLAN_LIMIT_REACHED, params=details, extra=details)


class Entitlements:
    """The tenant's plan limits and features, from the central plan catalogue through a cache
    (tenant code never reads billing tables). The plan code comes from the cached tenant row
    (`member.tenant.plan_code`)."""

    def __init__(self, plans: PlanCatalogue, invalidations: InvalidationBus) -> None:
        self.plans = plans
        self._cache: TtlCache[str, dict[str, Any]] = invalidations.cache(
            "entitlements", ttl_seconds=PLAN_CACHE_SECONDS
        )

    def of(self, plan_code: str) -> dict[str, Any]:
        """`{"limits": {...}, "features": {...}}` of the plan."""
        cached = self._cache.get(plan_code)
        if cached is None:
            cached = self.plans.entitlements(plan_code)
            self._cache.put(plan_code, cached)
        return cached

    def limit(self, plan_code: str, name: str) -> int | None:
        value = self.of(plan_code)["limits"].get(name)
        return int(value) if value is not None else None

    def has_feature(self, plan_code: str, feature: str) -> bool:
        return bool(self.of(plan_code)["features"].get(feature, False))

    def require_within_limit(
        self, plan_code: str, name: str, usage: int, *, adding: int = 1
    ) -> None:
        """Refuse with `402 PLAN_LIMIT_REACHED` (details: limit, usage, maximum) when `usage`
        existing items plus `adding` new ones would exceed the plan's `name` limit. A plan
        without that limit allows anything."""
        maximum = self.limit(plan_code, name)
        if maximum is not None and usage + adding > maximum:
            raise limit_reached(name, usage, maximum)

    def require_feature(self, plan_code: str, feature: str) -> None:
        """Refuse with `402 PLAN_FEATURE_UNAVAILABLE` (details: feature) when the plan lacks it."""
        if not self.has_feature(plan_code, feature):
            raise AppError(
                PLAN_FEATURE_UNAVAILABLE, params={"feature": feature}, extra={"feature": feature}
            )
