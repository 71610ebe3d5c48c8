"""Sessions: one login on one device, i.e. one family of rotating refresh tokens.

Rotation is one atomic claim: the presented token and its session are locked (`FOR UPDATE`) in
the same transaction that marks the token used and inserts its successor, so N simultaneous
refreshes of one token serialize. The first rotates; the others, within the grace window and
from the same device, get the very same successor pair back (kept encrypted for the window
only). The family never forks, and a revoke racing a refresh waits for the lock and wins or loses
cleanly. Everything else that presents a used token is a replay and revokes the family.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.activities import ActivityService, request_fields
from garment.central.auth.component import AuthComponents
from garment.central.auth.errors import AUTH_REAUTH_REQUIRED
from garment.central.auth.models import AuthSession
from garment.central.auth.ports import (
    ActivityType,
    AuthenticatedUser,
    Principal,
    RevokeReason,
    SessionInfo,
    SuspiciousReason,
)
from garment.central.auth.repository import (
    ClaimedToken,
    DriverRotationRepository,
    LoginRepository,
    RefreshTokenRepository,
    SessionRepository,
    UserRepository,
)
from garment.platform.cache import InvalidationBus, TtlCache
from garment.platform.context import current_context, identify_in_context
from garment.platform.errors import (
    AUTH_FINGERPRINT_MISMATCH,
    AUTH_REFRESH_INVALID,
    AUTH_REFRESH_REPLAYED,
    AUTH_SESSION_REVOKED,
    RESOURCE_NOT_FOUND,
    AppError,
)
from garment.platform.secretbox import InvalidToken

REFRESH_TOKEN_PREFIX = "grt_"


def fingerprint_hash(fingerprint: str | None) -> str | None:
    """Only the SHA-256 of the device fingerprint is stored (it identifies a device, it is not
    a secret that opens anything)."""
    if not fingerprint:
        return None
    return hashlib.sha256(fingerprint.encode()).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 bits


class UserFields(Protocol):
    """What `user_view` reads: an ORM `User` or a `LoginAccount`."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def locale(self) -> str: ...
    @property
    def email_verified_at(self) -> datetime | None: ...
    @property
    def mfa_enabled(self) -> bool: ...
    @property
    def is_platform_admin(self) -> bool: ...


def user_view(user: UserFields) -> AuthenticatedUser:
    return AuthenticatedUser(
        id=user.id,
        email=user.email,
        name=user.name,
        locale=user.locale,
        email_verified=user.email_verified_at is not None,
        mfa_enabled=user.mfa_enabled,
        is_platform_admin=user.is_platform_admin,
    )


def session_view(auth_session: AuthSession) -> SessionInfo:
    return SessionInfo(
        id=auth_session.id,
        user_id=auth_session.user_id,
        amr=tuple(auth_session.amr),
        authenticated_at=auth_session.authenticated_at,
        absolute_expires_at=auth_session.absolute_expires_at,
        current_tenant_id=auth_session.current_tenant_id,
    )


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: uuid.UUID

    def to_bytes(self) -> bytes:
        data = asdict(self)
        data["session_id"] = str(self.session_id)
        return json.dumps(data).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> TokenPair:
        data = json.loads(raw)
        data["session_id"] = uuid.UUID(data["session_id"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """One of the user's live sessions, for `GET /auth/sessions`."""

    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    ip: str | None
    amr: list[str]
    current: bool


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session of a user as operators see it: when it started and how it ended."""

    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    revoked_by: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    amr: list[str]
    current_tenant_id: uuid.UUID | None


class RefreshVerdict(Enum):
    """What presenting a refresh token means (`SessionService._verdict`)."""

    ROTATE = "rotate"
    INVALID = "invalid"  # unknown, revoked or expired: refused, nothing written
    SESSION_EXPIRED = "session_expired"  # the session ends
    OTHER_DEVICE = "other_device"  # the family ends, suspicious
    REUSED = "reused"  # the grace copy, or a replay that ends the family


def _name_in_request_log(claimed: ClaimedToken | None) -> None:
    """The request log line and every activity name the user and session of a token that
    belongs to a live session (an unknown or revoked one names nobody)."""
    if claimed is not None and claimed.revoked_at is None:
        identify_in_context(claimed.user_id, claimed.session_id)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds()))


SESSION_TOPIC = "session"
USER_TOPIC = "user"
LIVE_SESSION_CACHE_SECONDS = 300.0

LiveSession = tuple[SessionInfo, AuthenticatedUser]


class SessionService:
    def __init__(
        self,
        auth: AuthComponents,
        activities: ActivityService,
        invalidations: InvalidationBus,
    ) -> None:
        self.auth = auth
        self.settings = auth.settings.auth
        self.activities = activities
        self.invalidations = invalidations
        # Session liveness (and the user behind it) for the per-request check; every change
        # that ends a session or changes what it carries invalidates it in every process.
        self._live: TtlCache[uuid.UUID, LiveSession] = invalidations.cache(
            "sessions", ttl_seconds=LIVE_SESSION_CACHE_SECONDS
        )
        invalidations.subscribe(SESSION_TOPIC, lambda key: self._live.drop(uuid.UUID(key)))
        invalidations.subscribe(USER_TOPIC, self._forget_user)

    def _forget_user(self, key: str) -> None:
        user_id = uuid.UUID(key)
        self._live.drop_where(lambda _, live: live[1].id == user_id)

    async def session_changed(self, session: AsyncSession, session_id: uuid.UUID) -> None:
        """The session ended or what it carries changed: no process may serve it from cache."""
        await self.invalidations.publish_in(session, SESSION_TOPIC, str(session_id))

    async def user_changed(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        """The user's profile or flags changed: every cached session of theirs is dropped."""
        await self.invalidations.publish_in(session, USER_TOPIC, str(user_id))

    # --- starting and rotating ----------------------------------------------------------------

    async def start(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        fingerprint: str | None,
        amr: list[str],
    ) -> TokenPair:
        """Open a session after a successful login (password, and MFA when enabled): the
        session, its first refresh token and the device in one statement, then the activity
        (flagged when the device is new for a user who had others)."""
        now = datetime.now(UTC)
        values, raw = self._start_values(user_id, fingerprint, amr, now)
        new_device = await SessionRepository(session).start(values)
        await self.activities.record(
            session,
            ActivityType.LOGIN_SUCCEEDED,
            user_id=user_id,
            session_id=values["session_id"],
            suspicious=SuspiciousReason.NEW_DEVICE if new_device else None,
            details={"amr": amr},
        )
        return await self._first_pair(values, raw, amr, now)

    async def start_signed_in(
        self, user_id: uuid.UUID, *, fingerprint: str | None, amr: list[str]
    ) -> TokenPair:
        """`start` for a login that needs no flag, as one statement of its own (no unit of
        work): the caller knows the device is not a new one (`LoginCandidate.new_device`)."""
        now = datetime.now(UTC)
        values, raw = self._start_values(user_id, fingerprint, amr, now)
        await LoginRepository(self.auth.central).start_signed_in(
            {
                **values,
                **request_fields(),
                "activity_type": ActivityType.LOGIN_SUCCEEDED.value,
                "details": json.dumps({"amr": amr}),
            }
        )
        return await self._first_pair(values, raw, amr, now)

    def _start_values(
        self, user_id: uuid.UUID, fingerprint: str | None, amr: list[str], now: datetime
    ) -> tuple[dict[str, Any], str]:
        """START's values and the raw first refresh token."""
        context = current_context()
        absolute_expires_at = now + timedelta(days=self.settings.session_absolute_days)
        raw = new_refresh_token()
        values = {
            "session_id": uuid.uuid4(),
            "user_id": user_id,
            "device": fingerprint_hash(fingerprint),
            "user_agent": context.user_agent,
            "ip": context.client_ip,
            "amr": json.dumps(amr),
            "now": now,
            "absolute_expires_at": absolute_expires_at,
            "token_id": uuid.uuid4(),
            "token_hash": self.auth.token_hasher.hash(raw),
            "expires_at": min(
                now + timedelta(days=self.settings.refresh_token_days), absolute_expires_at
            ),
        }
        return values, raw

    async def _first_pair(
        self, values: dict[str, Any], raw: str, amr: list[str], now: datetime
    ) -> TokenPair:
        access, lifetime = await self.auth.tokens.issue(
            user_id=values["user_id"], session_id=values["session_id"], amr=amr
        )
        return TokenPair(
            access_token=access,
            expires_in=lifetime,
            refresh_token=raw,
            refresh_expires_in=_seconds_until(values["expires_at"], now),
            session_id=values["session_id"],
        )

    async def refresh(self, raw_token: str, fingerprint: str | None) -> TokenPair:
        """Rotate a refresh token.

        The happy path (a live, unused token presented from its own device) is the most frequent
        write of the platform, so it is two statements alone on a pooled connection, no
        transaction block and no ORM session: PEEK reads the token and its session unlocked, and
        ROTATE rotates only if, under both rows' locks, the token is still unused and the
        session still live. Every other outcome, and a ROTATE that found another refresh or a
        revoke had come first, is decided again in a unit of work under CLAIM's locks: nothing
        is written on the strength of rows that were not locked."""
        candidates = self.auth.token_hasher.candidates(raw_token)
        async with self.auth.central.statements() as statements:
            pair = await self._rotate_plain(
                DriverRotationRepository(statements), candidates, fingerprint
            )
        if pair is not None:
            return pair
        async with self.auth.central.transaction() as session:
            return await self._refresh_in(session, candidates, fingerprint)

    async def _rotate_plain(
        self,
        rotation: DriverRotationRepository,
        candidates: tuple[str, ...],
        fingerprint: str | None,
    ) -> TokenPair | None:
        """The rotated pair when the token was plainly rotatable and ROTATE rotated it; None
        when the outcome needs the unit of work (`refresh`). An unknown token, a revoked
        session and an expired token are refused from the unlocked read: none of them can
        become rotatable again."""
        now = datetime.now(UTC)
        claimed = await rotation.peek(candidates)
        verdict = self._verdict(claimed, fingerprint, now)
        if verdict is not RefreshVerdict.ROTATE and verdict is not RefreshVerdict.INVALID:
            return None
        _name_in_request_log(claimed)
        if verdict is RefreshVerdict.INVALID:
            raise AppError(AUTH_REFRESH_INVALID)
        assert claimed is not None  # only a claimed token is rotatable
        pair, values = await self._rotation(claimed, now)
        return pair if await rotation.rotate(values) else None

    async def _refresh_in(
        self, session: AsyncSession, candidates: tuple[str, ...], fingerprint: str | None
    ) -> TokenPair:
        now = datetime.now(UTC)
        repository = RefreshTokenRepository(session)
        claimed = await repository.claim(candidates)
        verdict = self._verdict(claimed, fingerprint, now)
        _name_in_request_log(claimed)
        if verdict is RefreshVerdict.INVALID:
            raise AppError(AUTH_REFRESH_INVALID)
        assert claimed is not None  # every other verdict is of a claimed token
        if verdict is RefreshVerdict.SESSION_EXPIRED:
            await self._revoke(session, claimed.session_id, RevokeReason.EXPIRED, now=now)
            raise AppError(AUTH_REFRESH_INVALID, keep_changes=True)
        if verdict is RefreshVerdict.OTHER_DEVICE:
            await self._end_compromised_family(
                session,
                claimed,
                ActivityType.FINGERPRINT_MISMATCH,
                SuspiciousReason.FINGERPRINT_MISMATCH,
                now,
            )
            raise AppError(AUTH_FINGERPRINT_MISMATCH, keep_changes=True)
        if verdict is RefreshVerdict.REUSED:
            return await self._reuse_or_replay(session, claimed, now)
        pair, values = await self._rotation(claimed, now)
        rotated = await repository.rotate(values)
        assert rotated, "CLAIM's locks keep the token unused and the session live"
        return pair

    def _verdict(
        self, claimed: ClaimedToken | None, fingerprint: str | None, now: datetime
    ) -> RefreshVerdict:
        """What presenting this token means, in the order the checks must run: a revoked or
        expired session first, then the device, then reuse, then the token's own expiry."""
        if claimed is None or claimed.revoked_at is not None:
            return RefreshVerdict.INVALID
        idle_limit = claimed.last_used_at + timedelta(days=self.settings.session_idle_days)
        if claimed.absolute_expires_at <= now or idle_limit <= now:
            return RefreshVerdict.SESSION_EXPIRED
        if fingerprint_hash(fingerprint) != claimed.fingerprint_hash:
            return RefreshVerdict.OTHER_DEVICE
        if claimed.used_at is not None:
            return RefreshVerdict.REUSED
        if claimed.expires_at <= now:
            return RefreshVerdict.INVALID
        return RefreshVerdict.ROTATE

    async def _rotation(
        self, claimed: ClaimedToken, now: datetime
    ) -> tuple[TokenPair, dict[str, Any]]:
        """The successor pair and ROTATE's values: Core statements, no ORM unit of work."""
        raw = new_refresh_token()
        successor_id = uuid.uuid4()
        expires_at = min(
            now + timedelta(days=self.settings.refresh_token_days), claimed.absolute_expires_at
        )
        access, lifetime = await self.auth.tokens.issue(
            user_id=claimed.user_id,
            session_id=claimed.session_id,
            amr=list(claimed.amr),
            tenant_id=claimed.current_tenant_id,
        )
        pair = TokenPair(
            access_token=access,
            expires_in=lifetime,
            refresh_token=raw,
            refresh_expires_in=_seconds_until(expires_at, now),
            session_id=claimed.session_id,
        )
        grace = self.settings.refresh_reuse_grace_seconds
        values = {
            "successor_id": successor_id,
            "session_id": claimed.session_id,
            "token_hash": self.auth.token_hasher.hash(raw),
            "generation": claimed.generation + 1,
            "now": now,
            "expires_at": expires_at,
            "token_id": claimed.token_id,
            "grace_until": now + timedelta(seconds=grace) if grace else None,
            "ciphertext": self.auth.grace_box.encrypt(pair.to_bytes()) if grace else None,
            "activity_type": ActivityType.REFRESH.value,
            "user_id": claimed.user_id,
            "details": json.dumps({"generation": claimed.generation + 1}),
            **request_fields(),
        }
        return pair, values

    async def _reuse_or_replay(
        self, session: AsyncSession, claimed: ClaimedToken, now: datetime
    ) -> TokenPair:
        pair = await self._grace_pair(session, claimed, now)
        if pair is not None:
            await self.activities.record(
                session,
                ActivityType.REFRESH_REUSE_GRACE,
                user_id=claimed.user_id,
                session_id=claimed.session_id,
                details={"generation": claimed.generation},
            )
            return pair
        await self._end_compromised_family(
            session, claimed, ActivityType.REFRESH_REPLAY, SuspiciousReason.REFRESH_REPLAY, now
        )
        raise AppError(AUTH_REFRESH_REPLAYED, keep_changes=True)

    async def _end_compromised_family(
        self,
        session: AsyncSession,
        claimed: ClaimedToken,
        activity: ActivityType,
        reason: SuspiciousReason,
        now: datetime,
    ) -> None:
        """A stolen-looking refresh (replay, another device): the whole family ends, and a
        suspicious activity says which token generation gave it away."""
        await self._revoke(session, claimed.session_id, RevokeReason(reason.value), now=now)
        await self.activities.record(
            session,
            activity,
            user_id=claimed.user_id,
            session_id=claimed.session_id,
            suspicious=reason,
            details={"generation": claimed.generation},
        )

    async def _grace_pair(
        self, session: AsyncSession, claimed: ClaimedToken, now: datetime
    ) -> TokenPair | None:
        """The successor pair, if the presented token is the immediate parent of the live head
        and the window is open."""
        if claimed.grace_until is None or claimed.grace_until < now:
            return None
        if claimed.successor_ciphertext is None or claimed.successor_id is None:
            return None
        if await RefreshTokenRepository(session).used_at(claimed.successor_id) is not None:
            return None
        try:
            return TokenPair.from_bytes(self.auth.grace_box.decrypt(claimed.successor_ciphertext))
        except (InvalidToken, ValueError, KeyError):
            return None

    # --- ending sessions ------------------------------------------------------------------------

    async def _revoke(
        self,
        session: AsyncSession,
        session_id: uuid.UUID,
        reason: RevokeReason,
        *,
        now: datetime | None = None,
        by: uuid.UUID | None = None,
    ) -> None:
        """End a session (nothing when it already ended): its tokens stop rotating, the grace
        copies of its pairs go, and every process forgets it."""
        ended = await SessionRepository(session).mark_revoked(
            session_id, reason, by, now or datetime.now(UTC)
        )
        if not ended:
            return
        await RefreshTokenRepository(session).forget_successors_in(session_id)
        await self.session_changed(session, session_id)

    async def revoke(
        self,
        session: AsyncSession,
        session_id: uuid.UUID,
        reason: RevokeReason,
        *,
        by: uuid.UUID | None = None,
        owner: uuid.UUID | None = None,
    ) -> None:
        """Revoke one session (locked, so a concurrent refresh cannot outlive it). With `owner`,
        a session of another user is not found."""
        auth_session = await SessionRepository(session).locked(session_id, owner)
        if auth_session is None:
            raise AppError(RESOURCE_NOT_FOUND)
        await self._revoke(session, auth_session.id, reason, by=by)

    async def revoke_all(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        reason: RevokeReason,
        *,
        by: uuid.UUID | None = None,
        except_session: uuid.UUID | None = None,
    ) -> int:
        sessions = await SessionRepository(session).live_of_user_locked(user_id, except_session)
        for auth_session in sessions:
            await self._revoke(session, auth_session.id, reason, by=by)
        return len(sessions)

    async def logout(self, session: AsyncSession, principal: Principal) -> None:
        user_id, session_id = principal.user.id, principal.session.id
        await self.revoke(session, session_id, RevokeReason.LOGOUT, by=user_id)
        await self.activities.record(
            session, ActivityType.LOGOUT, user_id=user_id, session_id=session_id
        )

    async def logout_everywhere(self, session: AsyncSession, principal: Principal) -> int:
        user_id = principal.user.id
        count = await self.revoke_all(session, user_id, RevokeReason.LOGOUT_ALL, by=user_id)
        await self.activities.record(
            session,
            ActivityType.LOGOUT_ALL,
            user_id=user_id,
            session_id=principal.session.id,
            details={"sessions_revoked": count},
        )
        return count

    async def revoke_own(
        self, session: AsyncSession, principal: Principal, session_id: uuid.UUID
    ) -> None:
        """A user ends one of their sessions (force logout of a device). Another device's
        session needs a recent authentication; ending the current one does not."""
        if session_id != principal.session.id and not self.recently_authenticated(
            principal.session
        ):
            raise AppError(AUTH_REAUTH_REQUIRED)
        user_id = principal.user.id
        await self.revoke(
            session, session_id, RevokeReason.REVOKED_BY_USER, by=user_id, owner=user_id
        )
        await self.activities.record(
            session,
            ActivityType.SESSION_REVOKED,
            user_id=user_id,
            session_id=session_id,
            actor_id=user_id,
        )

    async def force_logout(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        by: uuid.UUID | None,
        via: str | None = None,
    ) -> int:
        """Incident playbook 1: every session of the user ends at once."""
        if await UserRepository(session).get(user_id) is None:
            raise AppError(RESOURCE_NOT_FOUND)
        count = await self.revoke_all(session, user_id, RevokeReason.ADMIN_FORCE_LOGOUT, by=by)
        await self.activities.record(
            session,
            ActivityType.ADMIN_FORCE_LOGOUT,
            user_id=user_id,
            actor_id=by,
            details={"sessions_revoked": count, **({"via": via} if via else {})},
        )
        return count

    # --- the caller behind an access token ----------------------------------------------------

    async def live(self, session_id: uuid.UUID, user_id: uuid.UUID) -> LiveSession:
        """The live session for the per-request check: from the cache when it is there (no
        database at all), else read in a short transaction of its own and cached."""
        cached = self._live.get(session_id)
        if cached is not None:
            return self._checked(cached, user_id)
        async with self.auth.central.transaction() as session:
            return await self.live_session(session, session_id, user_id)

    async def live_session(
        self, session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
    ) -> LiveSession:
        """The session behind an access token, checked on every request: from the cache, or
        one indexed join (then cached until it is revoked, changed or expires)."""

        async def load() -> LiveSession | None:
            found = await SessionRepository(session).with_user(session_id)
            if found is None or found[0].revoked_at is not None:
                return None
            return session_view(found[0]), user_view(found[1])

        live = await self._live.load(session_id, load, ttl=self._seconds_left)
        if live is None:
            raise AppError(AUTH_SESSION_REVOKED)
        return self._checked(live, user_id)

    @staticmethod
    def _seconds_left(live: LiveSession) -> float:
        return (live[0].absolute_expires_at - datetime.now(UTC)).total_seconds()

    @staticmethod
    def _checked(live: LiveSession, user_id: uuid.UUID) -> LiveSession:
        info = live[0]
        if info.user_id != user_id or info.absolute_expires_at <= datetime.now(UTC):
            raise AppError(AUTH_SESSION_REVOKED)
        return live

    async def list_for(self, session: AsyncSession, principal: Principal) -> list[SessionEntry]:
        sessions = await SessionRepository(session).live_of_user(
            principal.user.id, datetime.now(UTC)
        )
        return [
            SessionEntry(
                id=s.id,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                user_agent=s.user_agent,
                ip=s.ip,
                amr=list(s.amr),
                current=s.id == principal.session.id,
            )
            for s in sessions
        ]

    async def history_of(
        self, session: AsyncSession, user_id: uuid.UUID, since: datetime, limit: int = 200
    ) -> list[SessionRecord]:
        """The user's sessions that started or ended since `since`, newest first, revoked ones
        included (operators: `garment incident timeline --user`)."""
        rows = await SessionRepository(session).of_user_since(user_id, since, limit)
        return [
            SessionRecord(
                id=s.id,
                user_id=s.user_id,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                revoked_at=s.revoked_at,
                revoke_reason=s.revoke_reason,
                revoked_by=s.revoked_by,
                ip=s.ip,
                user_agent=s.user_agent,
                amr=list(s.amr),
                current_tenant_id=s.current_tenant_id,
            )
            for s in rows
        ]

    async def mark_authenticated(self, session: AsyncSession, session_id: uuid.UUID) -> None:
        await SessionRepository(session).set_values(session_id, authenticated_at=datetime.now(UTC))
        await self.session_changed(session, session_id)

    def recently_authenticated(self, auth_session: SessionInfo) -> bool:
        window = timedelta(minutes=self.settings.reauth_minutes)
        return auth_session.authenticated_at + window >= datetime.now(UTC)

    async def select_tenant(
        self, session: AsyncSession, session_id: uuid.UUID, tenant_id: uuid.UUID | None
    ) -> None:
        """Remember the tenant the session works in, so refresh keeps the tenant scope."""
        await SessionRepository(session).set_values(session_id, current_tenant_id=tenant_id)
        await self.session_changed(session, session_id)
