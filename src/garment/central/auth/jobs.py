"""Periodic housekeeping of auth data (the spec's daily token clean-up, run more often so the
refresh grace cache never outlives its window by much)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from garment.platform.jobs import JobContext, tasks

CLEANUP_STATEMENTS = (
    # The successor pair is kept only for the grace window.
    "UPDATE auth_refresh_tokens SET successor_ciphertext = NULL "
    "WHERE successor_ciphertext IS NOT NULL AND grace_until < now()",
    "DELETE FROM auth_one_time_tokens WHERE expires_at < now() - interval '7 days'",
    "DELETE FROM auth_mfa_challenges WHERE expires_at < now() - interval '1 day'",
    "DELETE FROM auth_login_throttles WHERE (locked_until IS NULL OR locked_until < now()) "
    "AND window_started_at < now() - interval '1 day'",
    # Tokens of sessions that ended long ago carry no forensic value the session row lacks.
    "DELETE FROM auth_refresh_tokens t USING auth_sessions s WHERE t.session_id = s.id "
    "AND coalesce(s.revoked_at, s.absolute_expires_at) < now() - interval '30 days'",
)


@tasks.task("auth.cleanup", retries=3)
async def cleanup(payload: dict[str, Any], job: JobContext) -> None:
    async with job.services.central.transaction() as session:
        for statement in CLEANUP_STATEMENTS:
            await session.execute(text(statement))


tasks.every("*/5 * * * *", "auth.cleanup")
