"""Auth activities: every auth event is a row, some are suspicious (and announced).

Request id, IP and user agent come from the request context, so the incident playbook can start
from a request id found in the logs (`GET /auth/activities?request_id=`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.events import SuspiciousActivityDetected
from garment.central.auth.models import AuthActivity
from garment.platform.context import current_context
from garment.platform.events import publish
from garment.platform.pagination import PageParams, paginate


class ActivityType(StrEnum):
    REGISTERED = "registered"
    EMAIL_VERIFIED = "email_verified"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    ACCOUNT_LOCKED = "account_locked"
    REFRESH = "refresh"
    REFRESH_REUSE_GRACE = "refresh_reuse_grace"
    REFRESH_REPLAY = "refresh_replay"
    FINGERPRINT_MISMATCH = "fingerprint_mismatch"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    SESSION_REVOKED = "session_revoked"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    REAUTHENTICATED = "reauthenticated"
    MFA_ENROLLED = "mfa_enrolled"
    MFA_DISABLED = "mfa_disabled"
    MFA_CHALLENGE_FAILED = "mfa_challenge_failed"
    MFA_RECOVERY_CODE_USED = "mfa_recovery_code_used"
    MFA_RECOVERY_CODES_REGENERATED = "mfa_recovery_codes_regenerated"
    TENANT_TOKEN_ISSUED = "tenant_token_issued"
    TENANT_CONTEXT_MISMATCH = "tenant_context_mismatch"
    ADMIN_FORCE_LOGOUT = "admin_force_logout"
    ADMIN_GRANTED = "admin_granted"


class SuspiciousReason(StrEnum):
    REFRESH_REPLAY = "refresh_replay"
    FINGERPRINT_MISMATCH = "fingerprint_mismatch"
    BRUTE_FORCE = "brute_force"
    NEW_DEVICE = "new_device"
    TENANT_MISMATCH = "tenant_mismatch"
    MFA_BRUTE_FORCE = "mfa_brute_force"


async def record_activity(
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
    context = current_context()
    activity = AuthActivity(
        type=type.value,
        user_id=user_id,
        session_id=session_id,
        tenant_id=tenant_id,
        actor_id=actor_id,
        request_id=context.request_id,
        ip=context.client_ip,
        user_agent=context.user_agent,
        suspicious=suspicious is not None,
        reason=suspicious.value if suspicious else None,
        details=details or {},
    )
    session.add(activity)
    await session.flush()
    if suspicious is not None:
        await publish(
            session,
            SuspiciousActivityDetected(
                activity_id=activity.id, user_id=user_id, reason=suspicious.value
            ),
        )
    return activity


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    user_id: uuid.UUID | None = None
    since: datetime | None = None
    reason: str | None = None
    request_id: str | None = None
    type: str | None = None
    suspicious_only: bool = False


def filtered(criteria: ActivityFilter) -> Select[AuthActivity]:
    statement = select(AuthActivity)
    if criteria.user_id is not None:
        statement = statement.where(AuthActivity.user_id == criteria.user_id)
    if criteria.since is not None:
        statement = statement.where(AuthActivity.occurred_at >= criteria.since)
    if criteria.reason is not None:
        statement = statement.where(AuthActivity.reason == criteria.reason)
    if criteria.request_id is not None:
        statement = statement.where(AuthActivity.request_id == criteria.request_id)
    if criteria.type is not None:
        statement = statement.where(AuthActivity.type == criteria.type)
    if criteria.suspicious_only:
        statement = statement.where(AuthActivity.suspicious.is_(True))
    return statement


async def list_activities(
    session: AsyncSession, criteria: ActivityFilter, page: PageParams
) -> tuple[list[AuthActivity], str | None]:
    return await paginate(
        session,
        filtered(criteria),
        key_columns=[AuthActivity.occurred_at, AuthActivity.id],
        params=page,
    )


async def count_recent(
    session: AsyncSession, user_id: uuid.UUID, type: ActivityType, since: datetime
) -> int:
    statement = (
        select(func.count())
        .select_from(AuthActivity)
        .where(
            AuthActivity.user_id == user_id,
            AuthActivity.type == type.value,
            AuthActivity.occurred_at >= since,
        )
    )
    return int((await session.execute(statement)).scalar_one())


async def record_tenant_mismatch(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    token_tenant_id: uuid.UUID | None,
    header_tenant_id: uuid.UUID,
    threshold: int,
    window_minutes: int,
) -> AuthActivity:
    """Reported by the tenant runtime (ValidateTenantToken). One mismatch is usually a front end
    that kept a stale tenant; repeated ones within the window are suspicious."""
    since = datetime.now(UTC) - timedelta(minutes=window_minutes)
    earlier = await count_recent(session, user_id, ActivityType.TENANT_CONTEXT_MISMATCH, since)
    return await record_activity(
        session,
        ActivityType.TENANT_CONTEXT_MISMATCH,
        user_id=user_id,
        session_id=session_id,
        tenant_id=header_tenant_id,
        suspicious=SuspiciousReason.TENANT_MISMATCH if earlier + 1 >= threshold else None,
        details={
            "token_tenant_id": str(token_tenant_id) if token_tenant_id else None,
            "header_tenant_id": str(header_tenant_id),
        },
    )
