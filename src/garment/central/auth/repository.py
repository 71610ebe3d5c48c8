"""Queries of central auth: users, sessions and their refresh tokens, one-time tokens, login
throttles, MFA, activities and signing keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.models import (
    AuthActivity,
    AuthSession,
    KnownDevice,
    LoginThrottle,
    MfaChallenge,
    MfaTotp,
    OneTimeToken,
    RecoveryCode,
    RefreshToken,
    SigningKey,
    User,
)
from garment.platform.pagination import PageParams
from garment.platform.repository import Repository

# Built once: this runs whenever a session's liveness is looked up, and constructing the
# expression costs more Python time than executing its cached compiled form.
LIVE_SESSION = (
    select(AuthSession, User)
    .join(User, User.id == AuthSession.user_id)
    .where(AuthSession.id == bindparam("session_id"))
)


class UserRepository(Repository[User]):
    model = User

    async def by_email(self, email: str) -> User | None:
        return await self.one_or_none(
            self.select().where(func.lower(User.email) == email.strip().lower())
        )

    async def insert_if_new(self, values: dict[str, Any]) -> uuid.UUID | None:
        """One atomic insert: None when the email is taken (two simultaneous registrations of
        one email cannot both pass a look-up and then collide)."""
        created = await self.session.execute(
            insert(User).values(**values).on_conflict_do_nothing().returning(User.id)
        )
        return created.scalar_one_or_none()


class SessionRepository(Repository[AuthSession]):
    model = AuthSession

    async def with_user(self, session_id: uuid.UUID) -> tuple[AuthSession, User] | None:
        row = (await self.session.execute(LIVE_SESSION, {"session_id": session_id})).one_or_none()
        return (row[0], row[1]) if row is not None else None

    async def locked(self, session_id: uuid.UUID, owner: uuid.UUID | None) -> AuthSession | None:
        statement = self.select().where(AuthSession.id == session_id).with_for_update()
        if owner is not None:
            statement = statement.where(AuthSession.user_id == owner)
        return await self.one_or_none(statement)

    async def live_of_user_locked(
        self, user_id: uuid.UUID, except_session: uuid.UUID | None
    ) -> list[AuthSession]:
        statement = (
            self.select()
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .with_for_update()
        )
        if except_session is not None:
            statement = statement.where(AuthSession.id != except_session)
        return await self.all(statement)

    async def live_of_user(self, user_id: uuid.UUID, now: datetime) -> list[AuthSession]:
        return await self.all(
            self.select()
            .where(
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.absolute_expires_at > now,
            )
            .order_by(AuthSession.last_used_at.desc())
        )

    async def set_values(self, session_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(AuthSession).where(AuthSession.id == session_id).values(**values)
        )


class RefreshTokenRepository(Repository[RefreshToken]):
    model = RefreshToken

    async def claim(self, candidates: Sequence[str]) -> tuple[RefreshToken, AuthSession] | None:
        """The presented token and its session, both locked: N simultaneous refreshes of one
        token serialize here."""
        row = (
            await self.session.execute(
                select(RefreshToken, AuthSession)
                .join(AuthSession, AuthSession.id == RefreshToken.session_id)
                .where(RefreshToken.token_hash.in_(candidates))
                .with_for_update(of=[AuthSession, RefreshToken])
            )
        ).one_or_none()
        return (row[0], row[1]) if row is not None else None

    async def used_at(self, token_id: uuid.UUID) -> datetime | None:
        statement = select(RefreshToken.used_at).where(RefreshToken.id == token_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def forget_successor_of(self, token_id: uuid.UUID) -> None:
        """The grandparent of a new token is no longer an immediate parent: drop its copy."""
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.successor_id == token_id)
            .values(successor_ciphertext=None)
        )

    async def forget_successors_in(self, session_id: uuid.UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id == session_id)
            .values(successor_ciphertext=None)
        )


class DeviceRepository(Repository[KnownDevice]):
    model = KnownDevice

    async def known_fingerprints(self, user_id: uuid.UUID) -> list[str]:
        statement = select(KnownDevice.fingerprint_hash).where(KnownDevice.user_id == user_id)
        return list((await self.session.execute(statement)).scalars().all())

    async def remember(self, user_id: uuid.UUID, fingerprint_hash: str) -> None:
        statement = insert(KnownDevice).values(user_id=user_id, fingerprint_hash=fingerprint_hash)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[KnownDevice.user_id, KnownDevice.fingerprint_hash],
                set_={"last_seen_at": datetime.now(UTC)},
            )
        )


class OneTimeTokenRepository(Repository[OneTimeToken]):
    model = OneTimeToken

    async def retire_unused(self, user_id: uuid.UUID, purpose: str, now: datetime) -> None:
        await self.session.execute(
            update(OneTimeToken)
            .where(
                OneTimeToken.user_id == user_id,
                OneTimeToken.purpose == purpose,
                OneTimeToken.used_at.is_(None),
            )
            .values(used_at=now)
        )

    async def locked(self, candidates: Sequence[str], purpose: str) -> OneTimeToken | None:
        return await self.one_or_none(
            self.select()
            .where(OneTimeToken.token_hash.in_(candidates), OneTimeToken.purpose == purpose)
            .with_for_update()
        )


class LoginThrottleRepository(Repository[LoginThrottle]):
    model = LoginThrottle

    async def locked_row(self, email_hash: str, now: datetime) -> LoginThrottle:
        """Create-then-lock: with a plain SELECT FOR UPDATE, parallel first failures would find
        no row to lock, race on the insert and go uncounted."""
        await self.session.execute(
            insert(LoginThrottle)
            .values(email_hash=email_hash, failures=0, window_started_at=now)
            .on_conflict_do_nothing(index_elements=[LoginThrottle.email_hash])
        )
        statement = (
            self.select()
            .where(LoginThrottle.email_hash == email_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        throttle = await self.one_or_none(statement)
        assert throttle is not None  # inserted just above
        return throttle

    async def reset(self, email_hash: str) -> None:
        await self.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.email_hash == email_hash)
            .values(failures=0, locked_until=None)
        )


class MfaRepository(Repository[MfaTotp]):
    model = MfaTotp

    async def remove_totp(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(MfaTotp).where(MfaTotp.user_id == user_id))

    async def remove_recovery_codes(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))

    async def unused_recovery_code(
        self, user_id: uuid.UUID, candidates: Sequence[str]
    ) -> RecoveryCode | None:
        statement = (
            select(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_hash.in_(candidates),
                RecoveryCode.used_at.is_(None),
            )
            .with_for_update()
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def challenge(self, challenge_id: uuid.UUID) -> MfaChallenge | None:
        return await self.session.get(MfaChallenge, challenge_id, with_for_update=True)


class ActivityRepository(Repository[AuthActivity]):
    model = AuthActivity

    def filtered(
        self,
        *,
        user_id: uuid.UUID | None,
        since: datetime | None,
        reason: str | None,
        request_id: str | None,
        type: str | None,
        suspicious_only: bool,
    ) -> Select[AuthActivity]:
        statement = self.select()
        if user_id is not None:
            statement = statement.where(AuthActivity.user_id == user_id)
        if since is not None:
            statement = statement.where(AuthActivity.occurred_at >= since)
        if reason is not None:
            statement = statement.where(AuthActivity.reason == reason)
        if request_id is not None:
            statement = statement.where(AuthActivity.request_id == request_id)
        if type is not None:
            statement = statement.where(AuthActivity.type == type)
        if suspicious_only:
            statement = statement.where(AuthActivity.suspicious.is_(True))
        return statement

    async def newest_page(
        self, statement: Select[AuthActivity], params: PageParams
    ) -> tuple[list[AuthActivity], str | None]:
        return await self.page(
            statement, key_columns=[AuthActivity.occurred_at, AuthActivity.id], params=params
        )

    async def count_since(self, user_id: uuid.UUID, type: str, since: datetime) -> int:
        return await self.count(
            self.select().where(
                AuthActivity.user_id == user_id,
                AuthActivity.type == type,
                AuthActivity.occurred_at >= since,
            )
        )


class SigningKeyRepository(Repository[SigningKey]):
    model = SigningKey

    async def retire_active(self, now: datetime, verify_until: datetime) -> None:
        await self.session.execute(
            update(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .values(retired_at=now, verify_until=verify_until)
        )


# Periodic housekeeping (the spec's daily token clean-up, run more often so the refresh grace
# cache never outlives its window by much).
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


class HousekeepingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def clean_up(self) -> None:
        for statement in CLEANUP_STATEMENTS:
            await self.session.execute(text(statement))
