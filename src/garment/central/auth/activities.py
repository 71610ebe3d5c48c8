"""Auth activities: every auth event is a row, some are suspicious (and announced).

Request id, IP and user agent come from the request context, so the incident playbook can start
from a request id found in the logs (`GET /auth/activities?request_id=`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.events import SuspiciousActivityDetected
from garment.central.auth.models import AuthActivity
from garment.central.auth.ports import ActivityType, SuspiciousReason
from garment.central.auth.repository import ACTIVITY_KEYSET, ActivityRepository
from garment.config import AuthSettings
from garment.platform.context import current_context
from garment.platform.events import publish
from garment.platform.metrics import SUSPICIOUS_ACTIVITIES
from garment.platform.pagination import PageParams

logger = structlog.get_logger(__name__)

__all__ = ["ActivityFilter", "ActivityService", "ActivityType", "SuspiciousReason"]

HEADER_VALUE_LIMIT = 128


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    user_id: uuid.UUID | None = None
    since: datetime | None = None
    reason: str | None = None
    request_id: str | None = None
    type: str | None = None
    suspicious_only: bool = False
    tenant_id: uuid.UUID | None = None


def _where(criteria: ActivityFilter) -> dict[str, Any]:
    """The filter as the repository's keyword arguments."""
    return {
        "user_id": criteria.user_id,
        "since": criteria.since,
        "reason": criteria.reason,
        "request_id": criteria.request_id,
        "type": criteria.type,
        "suspicious_only": criteria.suspicious_only,
        "tenant_id": criteria.tenant_id,
    }


def request_fields() -> dict[str, Any]:
    """What every activity row records about the request it happened in."""
    context = current_context()
    return {
        "request_id": context.request_id,
        "ip": context.client_ip,
        "user_agent": context.user_agent,
    }


class ActivityService:
    # The sort key of activity lists (newest first), and so their cursor format.
    keyset = ACTIVITY_KEYSET

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings

    async def record(
        self,
        session: AsyncSession,
        type: ActivityType,
        *,
        user_id: uuid.UUID | None = None,
        session_id: uuid.UUID | None = None,
        tenant_id: uuid.UUID | None = None,
        actor_id: uuid.UUID | None = None,
        suspicious: SuspiciousReason | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuthActivity:
        activity = await ActivityRepository(session).create(
            AuthActivity(
                type=type.value,
                user_id=user_id,
                session_id=session_id,
                tenant_id=tenant_id,
                actor_id=actor_id,
                **request_fields(),
                suspicious=suspicious is not None,
                reason=suspicious.value if suspicious else None,
                details=details or {},
            )
        )
        if suspicious is not None:
            SUSPICIOUS_ACTIVITIES.labels(suspicious.value).inc()
            # A security event is a warning line an operator can find by request id or user.
            logger.warning(
                "auth.suspicious_activity",
                activity_id=activity.id,
                activity_type=type.value,
                reason=suspicious.value,
                user_id=str(user_id) if user_id else None,
                tenant_id=str(tenant_id) if tenant_id else None,
            )
            await publish(
                session,
                SuspiciousActivityDetected(
                    activity_id=activity.id, user_id=user_id, reason=suspicious.value
                ),
            )
        return activity

    async def list(
        self, session: AsyncSession, criteria: ActivityFilter, page: PageParams
    ) -> tuple[list[AuthActivity], str | None]:
        activities = ActivityRepository(session)
        return await activities.newest_page(activities.filtered(**_where(criteria)), page)

    async def history(
        self, session: AsyncSession, criteria: ActivityFilter, limit: int
    ) -> Sequence[AuthActivity]:
        """The newest `limit` activities matching `criteria`, newest first, without a cursor
        (operator views such as `garment incident timeline`)."""
        activities = ActivityRepository(session)
        return await activities.newest(activities.filtered(**_where(criteria)), limit)

    async def record_tenant_mismatch(
        self,
        session: AsyncSession,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        token_tenant_id: uuid.UUID | None,
        header_value: str,
    ) -> AuthActivity:
        """Reported by the tenant runtime (ValidateTenantToken). One mismatch is usually a front
        end that kept a stale tenant; repeated ones within the window are suspicious. The row
        belongs to the token's tenant and keeps the header exactly as sent (it is never looked
        up, so nothing here says whether it names a tenant)."""
        since = datetime.now(UTC) - timedelta(minutes=self.settings.tenant_mismatch_window_minutes)
        earlier = await ActivityRepository(session).count_since(
            user_id, ActivityType.TENANT_CONTEXT_MISMATCH, since
        )
        suspicious = earlier + 1 >= self.settings.tenant_mismatch_threshold
        activity = await self.record(
            session,
            ActivityType.TENANT_CONTEXT_MISMATCH,
            user_id=user_id,
            session_id=session_id,
            tenant_id=token_tenant_id,
            suspicious=SuspiciousReason.TENANT_MISMATCH if suspicious else None,
            details={
                "token_tenant_id": str(token_tenant_id) if token_tenant_id else None,
                "header_tenant": header_value[:HEADER_VALUE_LIMIT],
            },
        )
        if not suspicious:  # a suspicious one was logged by `record`
            logger.warning(
                "auth.tenant_context_mismatch",
                activity_id=activity.id,
                user_id=str(user_id),
                tenant_id=str(token_tenant_id) if token_tenant_id else None,
            )
        return activity
