"""Queries of central auth: users, sessions and their refresh tokens, one-time tokens, login
throttles, MFA, activities and signing keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    LargeBinary,
    Select,
    String,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.models import (
    AuthActivity,
    AuthSession,
    LoginThrottle,
    MfaChallenge,
    MfaTotp,
    OneTimeToken,
    RecoveryCode,
    RefreshToken,
    SigningKey,
    User,
)
from garment.platform.db import Database, DriverStatements, driver_query, execute_alone
from garment.platform.pagination import Keyset, PageParams
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

    async def set_values(self, user_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(User).where(User.id == user_id).values(**values))

    async def insert_if_new(self, values: dict[str, Any]) -> uuid.UUID | None:
        """One atomic insert: None when the email is taken (two simultaneous registrations of
        one email cannot both pass a look-up and then collide)."""
        created = await self.session.execute(
            insert(User).values(**values).on_conflict_do_nothing().returning(User.id)
        )
        return created.scalar_one_or_none()


class SessionRepository(Repository[AuthSession]):
    model = AuthSession

    async def start(self, values: dict[str, Any]) -> bool:
        """Insert the session, its first refresh token and the device (see START); whether the
        device is new for a user who had others."""
        return bool((await self.session.execute(START, values)).scalar_one())

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

    async def of_user_since(
        self, user_id: uuid.UUID, since: datetime, limit: int
    ) -> list[AuthSession]:
        """The user's sessions that started or ended at `since` or later, newest first."""
        return await self.all(
            self.select()
            .where(
                AuthSession.user_id == user_id,
                (AuthSession.created_at >= since) | (AuthSession.revoked_at >= since),
            )
            .order_by(AuthSession.created_at.desc())
            .limit(limit)
        )

    async def set_values(self, session_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(AuthSession).where(AuthSession.id == session_id).values(**values)
        )

    async def mark_revoked(
        self, session_id: uuid.UUID, reason: str, by: uuid.UUID | None, now: datetime
    ) -> bool:
        """End a live session; False when it had already ended."""
        ended = await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoke_reason=reason, revoked_by=by)
            .returning(AuthSession.id)
            .execution_options(synchronize_session=False)
        )
        return ended.first() is not None


@dataclass(frozen=True, slots=True)
class ClaimedToken:
    """A presented refresh token and its session, locked for the rest of the transaction."""

    token_id: uuid.UUID
    generation: int
    expires_at: datetime
    used_at: datetime | None
    successor_id: uuid.UUID | None
    successor_ciphertext: bytes | None
    grace_until: datetime | None
    session_id: uuid.UUID
    user_id: uuid.UUID
    fingerprint_hash: str | None
    amr: list[str]
    last_used_at: datetime
    absolute_expires_at: datetime
    current_tenant_id: uuid.UUID | None
    revoked_at: datetime | None


# The rotation of a refresh token in two statements, built once. CLAIM (in a unit of work) or
# PEEK (alone, no lock) reads the presented token and its session; ROTATE then, in one
# statement, locks both rows as CLAIM does (FOR UPDATE OF the session, then the token),
# provided the token is still unused and the session still live, and only then inserts the
# successor, marks the presented token used (with the successor pair kept encrypted for the
# grace window), drops the grandparent's copy of the pair, touches the session and records the
# activity. `rotated` says whether it did: after a PEEK another refresh of the same token, or a
# revoke, may have come first (each waits for the other's row locks, then sees its outcome),
# and the refresh is then decided again under CLAIM's locks.
_CLAIMED = (
    select(
        RefreshToken.id.label("token_id"),
        RefreshToken.generation,
        RefreshToken.expires_at,
        RefreshToken.used_at,
        RefreshToken.successor_id,
        RefreshToken.successor_ciphertext,
        RefreshToken.grace_until,
        AuthSession.id.label("session_id"),
        AuthSession.user_id,
        AuthSession.fingerprint_hash,
        AuthSession.amr,
        AuthSession.last_used_at,
        AuthSession.absolute_expires_at,
        AuthSession.current_tenant_id,
        AuthSession.revoked_at,
    )
    .join(AuthSession, AuthSession.id == RefreshToken.session_id)
    .where(RefreshToken.token_hash == any_(bindparam("candidates", type_=ARRAY(String))))
)
CLAIM = _CLAIMED.with_for_update(of=[AuthSession, RefreshToken])
PEEK = _CLAIMED
ROTATE = text(
    """
    WITH live AS (
        SELECT t.id FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
         WHERE t.id = :token_id AND t.used_at IS NULL AND s.revoked_at IS NULL
           FOR UPDATE OF s, t
    ), used AS (
        UPDATE auth_refresh_tokens
           SET used_at = :now, successor_id = :successor_id, grace_until = :grace_until,
               successor_ciphertext = :ciphertext
         WHERE id = (SELECT id FROM live)
        RETURNING id
    ), successor AS (
        INSERT INTO auth_refresh_tokens
               (id, session_id, token_hash, generation, issued_at, expires_at)
        SELECT :successor_id, :session_id, CAST(:token_hash AS varchar),
               CAST(:generation AS integer), :now, :expires_at
          FROM used
    ), grandparent AS (
        UPDATE auth_refresh_tokens SET successor_ciphertext = NULL
         WHERE successor_id = :token_id AND successor_ciphertext IS NOT NULL
           AND EXISTS (SELECT FROM used)
    ), touched AS (
        UPDATE auth_sessions SET last_used_at = :now
         WHERE id = :session_id AND EXISTS (SELECT FROM used)
    ), recorded AS (
        INSERT INTO auth_activities
               (occurred_at, type, user_id, session_id, request_id, ip, user_agent, suspicious,
                details)
        SELECT :now, CAST(:activity_type AS varchar), :user_id, :session_id,
               CAST(:request_id AS varchar), CAST(:ip AS varchar), CAST(:user_agent AS varchar),
               false, CAST(:details AS jsonb)
          FROM used
    )
    SELECT count(*) > 0 AS rotated FROM used
    """
).bindparams(
    bindparam("successor_id", type_=UUID(as_uuid=True)),
    bindparam("session_id", type_=UUID(as_uuid=True)),
    bindparam("token_id", type_=UUID(as_uuid=True)),
    bindparam("user_id", type_=UUID(as_uuid=True)),
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("expires_at", type_=DateTime(timezone=True)),
    bindparam("grace_until", type_=DateTime(timezone=True)),
    bindparam("ciphertext", type_=LargeBinary),
)


# A new session, its first refresh token and the device, in one round trip. `known` reads the
# devices as they were before this statement (every part of a statement shares one snapshot),
# so `new_device` is true only for a user with earlier devices, none of them this one. The
# refresh token's foreign key is checked at the end of the statement, after the session exists.
_START_PARTS = """
    WITH known AS (
        SELECT count(*) > 0 AS any_device,
               coalesce(bool_or(fingerprint_hash = :device), false) AS this_device
          FROM auth_known_devices WHERE user_id = :user_id
    ), started AS (
        INSERT INTO auth_sessions
               (id, user_id, fingerprint_hash, user_agent, ip, amr, created_at, last_used_at,
                authenticated_at, absolute_expires_at)
        VALUES (:session_id, :user_id, :device, :user_agent, :ip, CAST(:amr AS jsonb), :now, :now,
                :now, :absolute_expires_at)
    ), first_token AS (
        INSERT INTO auth_refresh_tokens
               (id, session_id, token_hash, generation, issued_at, expires_at)
        VALUES (:token_id, :session_id, :token_hash, 0, :now, :expires_at)
    ), device AS (
        INSERT INTO auth_known_devices (user_id, fingerprint_hash, first_seen_at, last_seen_at)
        SELECT :user_id, :device, :now, :now WHERE CAST(:device AS varchar) IS NOT NULL
        ON CONFLICT (user_id, fingerprint_hash) DO UPDATE SET last_seen_at = :now
    )"""
_NEW_DEVICE = """
    SELECT CAST(:device AS varchar) IS NOT NULL AND any_device AND NOT this_device AS new_device
      FROM known"""
_START_TYPES = (
    bindparam("session_id", type_=UUID(as_uuid=True)),
    bindparam("user_id", type_=UUID(as_uuid=True)),
    bindparam("token_id", type_=UUID(as_uuid=True)),
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("absolute_expires_at", type_=DateTime(timezone=True)),
    bindparam("expires_at", type_=DateTime(timezone=True)),
)
START = text(_START_PARTS + _NEW_DEVICE).bindparams(*_START_TYPES)

# START and the login's activity in one statement, for a login whose device is already known
# or needs no flag (LOGIN_CANDIDATE said so): a flagged login records its suspicious activity
# through the activity service instead, which also tells operators and the event consumers.
# Devices are never forgotten, so a device known when the password was checked is still known.
# The activity's time is the server's, as `ActivityService.record` leaves it: after the
# session's `created_at` (taken before the statement), so a timeline keeps their order.
START_SIGNED_IN = text(
    _START_PARTS
    + """, signed_in AS (
        INSERT INTO auth_activities
               (type, user_id, session_id, request_id, ip, user_agent, suspicious, details)
        VALUES (:activity_type, :user_id, :session_id, :request_id, :ip, :user_agent, false,
                CAST(:details AS jsonb))
    )"""
    + _NEW_DEVICE
).bindparams(*_START_TYPES)

# What a login needs before the password is checked, in one read: the account (if any), the
# email's failure record (if any) and whether this device would be a new one for the account.
# `(SELECT 1)` makes it one row whatever exists, so an unknown email costs the same statement.
LOGIN_CANDIDATE = text(
    """
    SELECT u.id, u.email, u.name, u.locale, u.password_hash, u.email_verified_at,
           u.is_platform_admin, u.mfa_enabled,
           t.email_hash IS NOT NULL AS throttled, t.locked_until,
           CAST(:device AS varchar) IS NOT NULL
           AND EXISTS (SELECT FROM auth_known_devices d WHERE d.user_id = u.id)
           AND NOT EXISTS (SELECT FROM auth_known_devices d
                            WHERE d.user_id = u.id AND d.fingerprint_hash = :device)
           AS new_device
      FROM (SELECT 1) AS one
      LEFT JOIN users u ON lower(u.email) = :email
      LEFT JOIN auth_login_throttles t ON t.email_hash = :email_hash
    """
)


@dataclass(frozen=True, slots=True)
class LoginAccount:
    """The account a login names, as the login reads it (no ORM object)."""

    id: uuid.UUID
    email: str
    name: str
    locale: str
    password_hash: str
    email_verified_at: datetime | None
    is_platform_admin: bool
    mfa_enabled: bool


@dataclass(frozen=True, slots=True)
class LoginCandidate:
    account: LoginAccount | None
    throttled: bool  # the email has a failure record
    locked_until: datetime | None
    new_device: bool


class LoginRepository:
    """The login's hot statements, each alone on a pooled driver connection (one round trip,
    no ORM session): the candidate before the password check, the session after it."""

    __slots__ = ("database",)

    def __init__(self, database: Database) -> None:
        self.database = database

    async def candidate(self, email: str, email_hash: str, device: str | None) -> LoginCandidate:
        query = driver_query(LOGIN_CANDIDATE, self.database.engine.dialect)
        row = await execute_alone(
            self.database, query, {"email": email, "email_hash": email_hash, "device": device}
        )
        account = None
        if row["id"] is not None:
            account = LoginAccount(**{name: row[name] for name in LoginAccount.__slots__})
        return LoginCandidate(
            account, row["throttled"], row["locked_until"], bool(row["new_device"])
        )

    async def start_signed_in(self, values: dict[str, Any]) -> None:
        """START_SIGNED_IN: the session, its first token, the device and the activity."""
        query = driver_query(START_SIGNED_IN, self.database.engine.dialect)
        await execute_alone(self.database, query, values)


class RefreshTokenRepository(Repository[RefreshToken]):
    model = RefreshToken

    async def claim(self, candidates: Sequence[str]) -> ClaimedToken | None:
        """The presented token and its session, both locked: N simultaneous refreshes of one
        token serialize here."""
        row = (await self.session.execute(CLAIM, {"candidates": list(candidates)})).one_or_none()
        return ClaimedToken(**row._mapping) if row is not None else None

    async def rotate(self, values: dict[str, Any]) -> bool:
        """Insert the successor and record the rotation (see ROTATE) in one round trip;
        whether it rotated (always, under CLAIM's locks)."""
        return bool((await self.session.execute(ROTATE, values)).scalar_one())

    async def used_at(self, token_id: uuid.UUID) -> datetime | None:
        statement = select(RefreshToken.used_at).where(RefreshToken.id == token_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def forget_successors_in(self, session_id: uuid.UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id == session_id)
            .values(successor_ciphertext=None)
        )


class DriverRotationRepository:
    """PEEK and ROTATE alone on a pooled driver connection (`Database.statements`): the
    refresh's happy path in two round trips, no transaction block and no ORM session."""

    __slots__ = ("peek_query", "rotate_query", "statements")

    def __init__(self, statements: DriverStatements) -> None:
        self.statements = statements
        self.peek_query = driver_query(PEEK, statements.dialect)
        self.rotate_query = driver_query(ROTATE, statements.dialect)

    async def peek(self, candidates: Sequence[str]) -> ClaimedToken | None:
        row = await self.statements.fetchrow(self.peek_query, {"candidates": list(candidates)})
        return ClaimedToken(**row) if row is not None else None

    async def rotate(self, values: dict[str, Any]) -> bool:
        """ROTATE; False when another refresh or a revoke came first (the caller decides
        again under CLAIM's locks)."""
        row = await self.statements.fetchrow(self.rotate_query, values)
        return row is not None and bool(row["rotated"])


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

    async def forget(self, email_hash: str) -> None:
        await self.session.execute(
            delete(LoginThrottle).where(LoginThrottle.email_hash == email_hash)
        )

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


# Newest first; the example is a realistic cursor for the API documentation.
ACTIVITY_KEYSET = Keyset.of(
    AuthActivity.occurred_at,
    AuthActivity.id,
    example=(datetime(2026, 12, 1, 1, 30, tzinfo=UTC), 4812),
)


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
        tenant_id: uuid.UUID | None = None,
    ) -> Select[AuthActivity]:
        statement = self.select()
        if user_id is not None:
            statement = statement.where(AuthActivity.user_id == user_id)
        if tenant_id is not None:
            statement = statement.where(AuthActivity.tenant_id == tenant_id)
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
        return await self.page(statement, keyset=ACTIVITY_KEYSET, params=params)

    async def newest(self, statement: Select[AuthActivity], limit: int) -> list[AuthActivity]:
        """The newest `limit` rows of `statement`, newest first (no cursor: operator reads)."""
        newest_first = statement.order_by(AuthActivity.occurred_at.desc(), AuthActivity.id.desc())
        return await self.all(newest_first.limit(limit))

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

    async def retire_unretired(self, retire_at: datetime, verify_until: datetime) -> None:
        """Every key still signing (or waiting to sign) stops signing at `retire_at`."""
        await self.session.execute(
            update(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .values(retired_at=retire_at, verify_until=verify_until)
        )

    async def revoke_all(self, now: datetime) -> None:
        """Every key stops signing and verifying now, also ones already retiring (a leak)."""
        await self.session.execute(
            update(SigningKey)
            .where(or_(SigningKey.verify_until.is_(None), SigningKey.verify_until > now))
            .values(
                retired_at=func.least(func.coalesce(SigningKey.retired_at, now), now),
                verify_until=now,
            )
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
