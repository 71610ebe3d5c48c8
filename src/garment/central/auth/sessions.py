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

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.activities import ActivityType, SuspiciousReason, record_activity
from garment.central.auth.component import AuthComponents
from garment.central.auth.models import AuthSession, KnownDevice, RefreshToken, User
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


# Built once: this runs on every authenticated request, and constructing the expression costs
# more Python time than executing its cached compiled form.
LIVE_SESSION = (
    select(AuthSession, User)
    .join(User, User.id == AuthSession.user_id)
    .where(AuthSession.id == bindparam("session_id"))
)


def fingerprint_hash(fingerprint: str | None) -> str | None:
    """Only the SHA-256 of the device fingerprint is stored."""
    if not fingerprint:
        return None
    return hashlib.sha256(fingerprint.encode()).hexdigest()


def refresh_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 bits


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


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds()))


class SessionService:
    def __init__(self, auth: AuthComponents) -> None:
        self.auth = auth
        self.settings = auth.settings.auth

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
        auth_session = AuthSession(
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
        session.add(auth_session)
        await session.flush()
        pair, _ = await self._issue_pair(session, auth_session, generation=0, now=now)
        new_device = await self._remember_device(session, user.id, device)
        await record_activity(
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
        known = (
            (
                await session.execute(
                    select(KnownDevice.fingerprint_hash).where(KnownDevice.user_id == user_id)
                )
            )
            .scalars()
            .all()
        )
        statement = insert(KnownDevice).values(user_id=user_id, fingerprint_hash=device)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[KnownDevice.user_id, KnownDevice.fingerprint_hash],
                set_={"last_seen_at": datetime.now(UTC)},
            )
        )
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
        token = RefreshToken(
            id=uuid.uuid4(),
            session_id=auth_session.id,
            token_hash=refresh_token_hash(raw),
            generation=generation,
            issued_at=now,
            expires_at=expires_at,
        )
        session.add(token)
        await session.flush()
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
        locked = (
            await session.execute(
                select(RefreshToken, AuthSession)
                .join(AuthSession, AuthSession.id == RefreshToken.session_id)
                .where(RefreshToken.token_hash == refresh_token_hash(raw_token))
                .with_for_update(of=[AuthSession, RefreshToken])
            )
        ).one_or_none()
        if locked is None:
            raise AppError(AUTH_REFRESH_INVALID)
        token, auth_session = locked
        if auth_session.revoked_at is not None:
            raise AppError(AUTH_REFRESH_INVALID)
        if self._session_expired(auth_session, now):
            await self._revoke(session, auth_session, "expired", now=now)
            raise AppError(AUTH_REFRESH_INVALID, keep_changes=True)
        if fingerprint_hash(fingerprint) != auth_session.fingerprint_hash:
            await self._revoke(session, auth_session, "fingerprint_mismatch", now=now)
            await record_activity(
                session,
                ActivityType.FINGERPRINT_MISMATCH,
                user_id=auth_session.user_id,
                session_id=auth_session.id,
                suspicious=SuspiciousReason.FINGERPRINT_MISMATCH,
                details={"generation": token.generation},
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
        # The grandparent is no longer an immediate parent: its copy of our pair goes now.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.successor_id == token.id)
            .values(successor_ciphertext=None)
        )
        auth_session.last_used_at = now
        await record_activity(
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
            await record_activity(
                session,
                ActivityType.REFRESH_REUSE_GRACE,
                user_id=auth_session.user_id,
                session_id=auth_session.id,
                details={"generation": token.generation},
            )
            return pair
        await self._revoke(session, auth_session, "refresh_replay", now=now)
        await record_activity(
            session,
            ActivityType.REFRESH_REPLAY,
            user_id=auth_session.user_id,
            session_id=auth_session.id,
            suspicious=SuspiciousReason.REFRESH_REPLAY,
            details={"generation": token.generation},
        )
        raise AppError(AUTH_REFRESH_REPLAYED, keep_changes=True)

    async def _grace_pair(
        self, session: AsyncSession, token: RefreshToken, now: datetime
    ) -> TokenPair | None:
        """The successor pair, if `token` is the immediate parent of the live head and the
        window is open."""
        if token.grace_until is None or token.grace_until < now:
            return None
        if token.successor_ciphertext is None or token.successor_id is None:
            return None
        successor_used = (
            await session.execute(
                select(RefreshToken.used_at).where(RefreshToken.id == token.successor_id)
            )
        ).scalar_one_or_none()
        if successor_used is not None:
            return None
        try:
            return TokenPair.from_bytes(self.auth.grace_box.decrypt(token.successor_ciphertext))
        except (InvalidToken, ValueError, KeyError):
            return None

    async def _revoke(
        self,
        session: AsyncSession,
        auth_session: AuthSession,
        reason: str,
        *,
        now: datetime | None = None,
        by: uuid.UUID | None = None,
    ) -> None:
        if auth_session.revoked_at is not None:
            return
        auth_session.revoked_at = now or datetime.now(UTC)
        auth_session.revoke_reason = reason
        auth_session.revoked_by = by
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id == auth_session.id)
            .values(successor_ciphertext=None)
        )
        await session.flush()

    async def revoke(
        self,
        session: AsyncSession,
        session_id: uuid.UUID,
        reason: str,
        *,
        by: uuid.UUID | None = None,
        owner: uuid.UUID | None = None,
    ) -> AuthSession:
        """Revoke one session (locked, so a concurrent refresh cannot outlive it). With `owner`,
        a session of another user is not found."""
        statement = select(AuthSession).where(AuthSession.id == session_id).with_for_update()
        if owner is not None:
            statement = statement.where(AuthSession.user_id == owner)
        auth_session = (await session.execute(statement)).scalar_one_or_none()
        if auth_session is None:
            raise AppError(RESOURCE_NOT_FOUND)
        await self._revoke(session, auth_session, reason, by=by)
        return auth_session

    async def revoke_all(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        reason: str,
        *,
        by: uuid.UUID | None = None,
        except_session: uuid.UUID | None = None,
    ) -> int:
        statement = (
            select(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .with_for_update()
        )
        if except_session is not None:
            statement = statement.where(AuthSession.id != except_session)
        sessions = (await session.execute(statement)).scalars().all()
        for auth_session in sessions:
            await self._revoke(session, auth_session, reason, by=by)
        return len(sessions)

    async def live_session(
        self, session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
    ) -> tuple[AuthSession, User]:
        """The session behind an access token, checked on every request (one indexed join)."""
        row = (await session.execute(LIVE_SESSION, {"session_id": session_id})).one_or_none()
        if row is None:
            raise AppError(AUTH_SESSION_REVOKED)
        auth_session, user = row
        if auth_session.user_id != user_id or auth_session.revoked_at is not None:
            raise AppError(AUTH_SESSION_REVOKED)
        if auth_session.absolute_expires_at <= datetime.now(UTC):
            raise AppError(AUTH_SESSION_REVOKED)
        return auth_session, user

    async def list_for_user(self, session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
        statement = (
            select(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .where(AuthSession.absolute_expires_at > datetime.now(UTC))
            .order_by(AuthSession.last_used_at.desc())
        )
        return list((await session.execute(statement)).scalars().all())

    async def mark_authenticated(self, session: AsyncSession, session_id: uuid.UUID) -> None:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id)
            .values(authenticated_at=datetime.now(UTC))
        )

    def recently_authenticated(self, auth_session: AuthSession) -> bool:
        window = timedelta(minutes=self.settings.reauth_minutes)
        return auth_session.authenticated_at + window >= datetime.now(UTC)

    async def select_tenant(
        self, session: AsyncSession, session_id: uuid.UUID, tenant_id: uuid.UUID | None
    ) -> None:
        """Remember the tenant the session works in, so refresh keeps the tenant scope."""
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id)
            .values(current_tenant_id=tenant_id)
        )
