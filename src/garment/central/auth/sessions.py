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

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.activities import ActivityService
from garment.central.auth.component import AuthComponents
from garment.central.auth.errors import AUTH_REAUTH_REQUIRED
from garment.central.auth.models import AuthSession, RefreshToken, User
from garment.central.auth.ports import (
    ActivityType,
    AuthenticatedUser,
    Principal,
    RevokeReason,
    SessionInfo,
    SuspiciousReason,
)
from garment.central.auth.repository import (
    DeviceRepository,
    RefreshTokenRepository,
    SessionRepository,
    UserRepository,
)
from garment.platform.context import current_context
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


def user_view(user: User) -> AuthenticatedUser:
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


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds()))


class SessionService:
    def __init__(self, auth: AuthComponents, activities: ActivityService) -> None:
        self.auth = auth
        self.settings = auth.settings.auth
        self.activities = activities

    # --- starting and rotating ----------------------------------------------------------------

    async def start(
        self,
        session: AsyncSession,
        user: User,
        *,
        fingerprint: str | None,
        amr: list[str],
    ) -> TokenPair:
        """Open a session after a successful login (password, and MFA when enabled)."""
        now = datetime.now(UTC)
        context = current_context()
        device = fingerprint_hash(fingerprint)
        auth_session = await SessionRepository(session).create(
            AuthSession(
                id=uuid.uuid4(),
                user_id=user.id,
                fingerprint_hash=device,
                user_agent=context.user_agent,
                ip=context.client_ip,
                amr=amr,
                created_at=now,
                last_used_at=now,
                authenticated_at=now,
                absolute_expires_at=now + timedelta(days=self.settings.session_absolute_days),
            )
        )
        pair, _ = await self._issue_pair(session, auth_session, generation=0, now=now)
        new_device = await self._remember_device(session, user.id, device)
        await self.activities.record(
            session,
            ActivityType.LOGIN_SUCCEEDED,
            user_id=user.id,
            session_id=auth_session.id,
            suspicious=SuspiciousReason.NEW_DEVICE if new_device else None,
            details={"amr": amr},
        )
        return pair

    async def _remember_device(
        self, session: AsyncSession, user_id: uuid.UUID, device: str | None
    ) -> bool:
        """True when this user has logged in before, but never from this device."""
        if device is None:
            return False
        devices = DeviceRepository(session)
        known = await devices.known_fingerprints(user_id)
        await devices.remember(user_id, device)
        return bool(known) and device not in known

    async def _issue_pair(
        self,
        session: AsyncSession,
        auth_session: AuthSession,
        *,
        generation: int,
        now: datetime,
    ) -> tuple[TokenPair, uuid.UUID]:
        raw = new_refresh_token()
        expires_at = min(
            now + timedelta(days=self.settings.refresh_token_days),
            auth_session.absolute_expires_at,
        )
        token = await RefreshTokenRepository(session).create(
            RefreshToken(
                id=uuid.uuid4(),
                session_id=auth_session.id,
                token_hash=self.auth.token_hasher.hash(raw),
                generation=generation,
                issued_at=now,
                expires_at=expires_at,
            )
        )
        access, lifetime = await self.auth.tokens.issue(
            user_id=auth_session.user_id,
            session_id=auth_session.id,
            amr=list(auth_session.amr),
            tenant_id=auth_session.current_tenant_id,
        )
        pair = TokenPair(
            access_token=access,
            expires_in=lifetime,
            refresh_token=raw,
            refresh_expires_in=_seconds_until(expires_at, now),
            session_id=auth_session.id,
        )
        return pair, token.id

    async def refresh(
        self, session: AsyncSession, raw_token: str, fingerprint: str | None
    ) -> TokenPair:
        now = datetime.now(UTC)
        claimed = await RefreshTokenRepository(session).claim(
            self.auth.token_hasher.candidates(raw_token)
        )
        if claimed is None:
            raise AppError(AUTH_REFRESH_INVALID)
        token, auth_session = claimed
        if auth_session.revoked_at is not None:
            raise AppError(AUTH_REFRESH_INVALID)
        if self._session_expired(auth_session, now):
            await self._revoke(session, auth_session, RevokeReason.EXPIRED, now=now)
            raise AppError(AUTH_REFRESH_INVALID, keep_changes=True)
        if fingerprint_hash(fingerprint) != auth_session.fingerprint_hash:
            await self._end_compromised_family(
                session,
                auth_session,
                token,
                ActivityType.FINGERPRINT_MISMATCH,
                SuspiciousReason.FINGERPRINT_MISMATCH,
                now,
            )
            raise AppError(AUTH_FINGERPRINT_MISMATCH, keep_changes=True)
        if token.used_at is not None:
            return await self._reuse_or_replay(session, token, auth_session, now)
        if token.expires_at <= now:
            raise AppError(AUTH_REFRESH_INVALID)
        return await self._rotate(session, token, auth_session, now)

    def _session_expired(self, auth_session: AuthSession, now: datetime) -> bool:
        idle_limit = auth_session.last_used_at + timedelta(days=self.settings.session_idle_days)
        return auth_session.absolute_expires_at <= now or idle_limit <= now

    async def _rotate(
        self, session: AsyncSession, token: RefreshToken, auth_session: AuthSession, now: datetime
    ) -> TokenPair:
        pair, successor_id = await self._issue_pair(
            session, auth_session, generation=token.generation + 1, now=now
        )
        grace = self.settings.refresh_reuse_grace_seconds
        token.used_at = now
        token.successor_id = successor_id
        token.grace_until = now + timedelta(seconds=grace) if grace else None
        token.successor_ciphertext = self.auth.grace_box.encrypt(pair.to_bytes()) if grace else None
        await RefreshTokenRepository(session).forget_successor_of(token.id)
        auth_session.last_used_at = now
        await self.activities.record(
            session,
            ActivityType.REFRESH,
            user_id=auth_session.user_id,
            session_id=auth_session.id,
            details={"generation": token.generation + 1},
        )
        return pair

    async def _reuse_or_replay(
        self, session: AsyncSession, token: RefreshToken, auth_session: AuthSession, now: datetime
    ) -> TokenPair:
        pair = await self._grace_pair(session, token, now)
        if pair is not None:
            await self.activities.record(
                session,
                ActivityType.REFRESH_REUSE_GRACE,
                user_id=auth_session.user_id,
                session_id=auth_session.id,
                details={"generation": token.generation},
            )
            return pair
        await self._end_compromised_family(
            session,
            auth_session,
            token,
            ActivityType.REFRESH_REPLAY,
            SuspiciousReason.REFRESH_REPLAY,
            now,
        )
        raise AppError(AUTH_REFRESH_REPLAYED, keep_changes=True)

    async def _end_compromised_family(
        self,
        session: AsyncSession,
        auth_session: AuthSession,
        token: RefreshToken,
        activity: ActivityType,
        reason: SuspiciousReason,
        now: datetime,
    ) -> None:
        """A stolen-looking refresh (replay, another device): the whole family ends, and a
        suspicious activity says which token generation gave it away."""
        await self._revoke(session, auth_session, RevokeReason(reason.value), now=now)
        await self.activities.record(
            session,
            activity,
            user_id=auth_session.user_id,
            session_id=auth_session.id,
            suspicious=reason,
            details={"generation": token.generation},
        )

    async def _grace_pair(
        self, session: AsyncSession, token: RefreshToken, now: datetime
    ) -> TokenPair | None:
        """The successor pair, if `token` is the immediate parent of the live head and the
        window is open."""
        if token.grace_until is None or token.grace_until < now:
            return None
        if token.successor_ciphertext is None or token.successor_id is None:
            return None
        if await RefreshTokenRepository(session).used_at(token.successor_id) is not None:
            return None
        try:
            return TokenPair.from_bytes(self.auth.grace_box.decrypt(token.successor_ciphertext))
        except (InvalidToken, ValueError, KeyError):
            return None

    # --- ending sessions ------------------------------------------------------------------------

    async def _revoke(
        self,
        session: AsyncSession,
        auth_session: AuthSession,
        reason: RevokeReason,
        *,
        now: datetime | None = None,
        by: uuid.UUID | None = None,
    ) -> None:
        if auth_session.revoked_at is not None:
            return
        auth_session.revoked_at = now or datetime.now(UTC)
        auth_session.revoke_reason = reason
        auth_session.revoked_by = by
        await RefreshTokenRepository(session).forget_successors_in(auth_session.id)
        await session.flush()

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
        await self._revoke(session, auth_session, reason, by=by)

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
            await self._revoke(session, auth_session, reason, by=by)
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

    async def live_session(
        self, session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
    ) -> tuple[SessionInfo, AuthenticatedUser]:
        """The session behind an access token, checked on every request (one indexed join)."""
        found = await SessionRepository(session).with_user(session_id)
        if found is None:
            raise AppError(AUTH_SESSION_REVOKED)
        auth_session, user = found
        if auth_session.user_id != user_id or auth_session.revoked_at is not None:
            raise AppError(AUTH_SESSION_REVOKED)
        if auth_session.absolute_expires_at <= datetime.now(UTC):
            raise AppError(AUTH_SESSION_REVOKED)
        return session_view(auth_session), user_view(user)

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

    async def mark_authenticated(self, session: AsyncSession, session_id: uuid.UUID) -> None:
        await SessionRepository(session).set_values(session_id, authenticated_at=datetime.now(UTC))

    def recently_authenticated(self, auth_session: SessionInfo) -> bool:
        window = timedelta(minutes=self.settings.reauth_minutes)
        return auth_session.authenticated_at + window >= datetime.now(UTC)

    async def select_tenant(
        self, session: AsyncSession, session_id: uuid.UUID, tenant_id: uuid.UUID | None
    ) -> None:
        """Remember the tenant the session works in, so refresh keeps the tenant scope."""
        await SessionRepository(session).set_values(session_id, current_tenant_id=tenant_id)
