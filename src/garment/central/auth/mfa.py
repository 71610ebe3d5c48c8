"""Optional TOTP two-step verification with ten single-use recovery codes.

The TOTP seed is stored encrypted; each accepted code's time step is remembered so a code works
once. Recovery codes are stored as hashes. A login with MFA enabled stops at a short-lived
challenge that `POST /auth/mfa/verify` completes; five wrong codes burn the challenge.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.activities import ActivityService
from garment.central.auth.component import AuthComponents
from garment.central.auth.errors import AUTH_MFA_CHALLENGE_EXPIRED, AUTH_MFA_INVALID
from garment.central.auth.models import MfaTotp, RecoveryCode, User
from garment.central.auth.ports import (
    ActivityType,
    AuthenticatedUser,
    SuspiciousReason,
)
from garment.central.auth.repository import ActivityRepository, MfaRepository, UserRepository
from garment.central.auth.sessions import SessionService, TokenPair, fingerprint_hash, user_view
from garment.platform.errors import AUTH_ACCOUNT_LOCKED, CONFLICT, AppError

ISSUER = "Garment.id"
RECOVERY_CODES = 10
MAX_CHALLENGE_ATTEMPTS = 5
STEP_SECONDS = 30


def normalized_code(code: str) -> str:
    """Recovery codes are compared without their dash, case or surrounding space."""
    return code.replace("-", "").strip().lower()


def new_recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits each; ten of them, single use
    return f"{raw[:5]}-{raw[5:]}"


@dataclass(frozen=True, slots=True)
class Enrollment:
    secret: str
    otpauth_uri: str


class MfaService:
    def __init__(
        self, auth: AuthComponents, sessions: SessionService, activities: ActivityService
    ) -> None:
        self.auth = auth
        self.sessions = sessions
        self.activities = activities

    async def _user(self, session: AsyncSession, caller: AuthenticatedUser) -> User:
        user = await UserRepository(session).get(caller.id, for_update=True)
        if user is None:
            raise AppError(CONFLICT)
        return user

    async def enroll(self, session: AsyncSession, caller: AuthenticatedUser) -> Enrollment:
        user = await self._user(session, caller)
        if user.mfa_enabled:
            raise AppError(CONFLICT)
        secret = pyotp.random_base32()
        mfa = MfaRepository(session)
        await mfa.remove_totp(user.id)
        await mfa.create(
            MfaTotp(user_id=user.id, secret_ciphertext=self.auth.mfa_box.encrypt(secret.encode()))
        )
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
        return Enrollment(secret=secret, otpauth_uri=uri)

    async def confirm(
        self, session: AsyncSession, caller: AuthenticatedUser, code: str
    ) -> list[str]:
        user = await self._user(session, caller)
        totp = await MfaRepository(session).get(user.id, for_update=True)
        if totp is None or totp.confirmed_at is not None:
            raise AppError(CONFLICT)
        if not self._accept_totp(totp, code):
            raise AppError(AUTH_MFA_INVALID)
        totp.confirmed_at = datetime.now(UTC)
        user.mfa_enabled = True
        await self.sessions.user_changed(session, user.id)
        codes = await self._replace_recovery_codes(session, user.id)
        await self.activities.record(session, ActivityType.MFA_ENROLLED, user_id=user.id)
        return codes

    async def disable(self, session: AsyncSession, caller: AuthenticatedUser, code: str) -> None:
        user = await self._user(session, caller)
        if not user.mfa_enabled:
            raise AppError(CONFLICT)
        if not await self._accept_any(session, user.id, code):
            raise AppError(AUTH_MFA_INVALID)
        mfa = MfaRepository(session)
        await mfa.remove_totp(user.id)
        await mfa.remove_recovery_codes(user.id)
        user.mfa_enabled = False
        await self.sessions.user_changed(session, user.id)
        await self.activities.record(session, ActivityType.MFA_DISABLED, user_id=user.id)

    async def regenerate_recovery_codes(
        self, session: AsyncSession, caller: AuthenticatedUser
    ) -> list[str]:
        user = await self._user(session, caller)
        if not user.mfa_enabled:
            raise AppError(CONFLICT)
        codes = await self._replace_recovery_codes(session, user.id)
        await self.activities.record(
            session, ActivityType.MFA_RECOVERY_CODES_REGENERATED, user_id=user.id
        )
        return codes

    async def verify_challenge(
        self, challenge_id: uuid.UUID, code: str, fingerprint: str | None
    ) -> tuple[AuthenticatedUser, TokenPair]:
        """The second step of a login, in a transaction of its own that has committed (and
        given its connection back) before the response reads the tenant picker: a request
        never holds one pooled connection while it waits for another."""
        async with self.auth.central.transaction() as session:
            return await self._verify_challenge(session, challenge_id, code, fingerprint)

    async def _verify_challenge(
        self, session: AsyncSession, challenge_id: uuid.UUID, code: str, fingerprint: str | None
    ) -> tuple[AuthenticatedUser, TokenPair]:
        challenge = await MfaRepository(session).challenge(challenge_id)
        now = datetime.now(UTC)
        if (
            challenge is None
            or challenge.consumed_at is not None
            or challenge.expires_at <= now
            or challenge.fingerprint_hash != fingerprint_hash(fingerprint)
        ):
            raise AppError(AUTH_MFA_CHALLENGE_EXPIRED)
        # Locked: guesses for one account are counted one at a time, over all its challenges.
        user = await UserRepository(session).get(challenge.user_id, for_update=True)
        if user is None:
            raise AppError(AUTH_MFA_CHALLENGE_EXPIRED)
        await self._refuse_when_guessed_too_often(session, user.id, now)
        method = await self._accept_code(session, user.id, code)
        if method is None:
            challenge.attempts += 1
            exhausted = challenge.attempts >= MAX_CHALLENGE_ATTEMPTS
            if exhausted:
                challenge.consumed_at = now
            await self.activities.record(
                session,
                ActivityType.MFA_CHALLENGE_FAILED,
                user_id=user.id,
                suspicious=SuspiciousReason.MFA_BRUTE_FORCE if exhausted else None,
                details={"attempts": challenge.attempts},
            )
            raise AppError(AUTH_MFA_INVALID, keep_changes=True)
        challenge.consumed_at = now
        tokens = await self.sessions.start(
            session, user.id, fingerprint=fingerprint, amr=["pwd", method]
        )
        return user_view(user), tokens

    async def _refuse_when_guessed_too_often(
        self, session: AsyncSession, user_id: uuid.UUID, now: datetime
    ) -> None:
        """A password holder can open challenge after challenge; the account, not the
        challenge, bounds the guesses (even a right code waits until the window has room)."""
        settings = self.auth.settings.auth
        window = timedelta(minutes=settings.login_failure_window_minutes)
        activities = ActivityRepository(session)
        recent = await activities.newest(
            activities.filtered(
                user_id=user_id,
                since=now - window,
                reason=None,
                request_id=None,
                type=ActivityType.MFA_CHALLENGE_FAILED,
                suspicious_only=False,
            ),
            settings.mfa_max_failures,
        )
        if len(recent) < settings.mfa_max_failures:
            return
        oldest = recent[-1].occurred_at
        retry_after = max(1, int((oldest + window - now).total_seconds()) + 1)
        raise AppError(
            AUTH_ACCOUNT_LOCKED,
            params={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )

    async def _accept_code(
        self, session: AsyncSession, user_id: uuid.UUID, code: str
    ) -> str | None:
        """`otp` for a fresh TOTP code, `rc` for an unused recovery code, else None."""
        mfa = MfaRepository(session)
        totp = await mfa.get(user_id, for_update=True)
        if totp is not None and totp.confirmed_at is not None and self._accept_totp(totp, code):
            return "otp"
        recovery = await mfa.unused_recovery_code(
            user_id, self.auth.token_hasher.candidates(normalized_code(code))
        )
        if recovery is not None:
            recovery.used_at = datetime.now(UTC)
            await self.activities.record(
                session, ActivityType.MFA_RECOVERY_CODE_USED, user_id=user_id
            )
            return "rc"
        return None

    async def _accept_any(self, session: AsyncSession, user_id: uuid.UUID, code: str) -> bool:
        return await self._accept_code(session, user_id, code) is not None

    def _accept_totp(self, totp: MfaTotp, code: str) -> bool:
        code = code.strip().replace(" ", "")
        if not code.isdigit() or len(code) != 6:
            return False
        secret = self.auth.mfa_box.decrypt(totp.secret_ciphertext).decode()
        generator = pyotp.TOTP(secret)
        current_step = int(time.time()) // STEP_SECONDS
        for step in (current_step - 1, current_step, current_step + 1):
            if totp.last_used_step is not None and step <= totp.last_used_step:
                continue
            if secrets.compare_digest(generator.at(step * STEP_SECONDS), code):
                totp.last_used_step = step
                return True
        return False

    async def _replace_recovery_codes(self, session: AsyncSession, user_id: uuid.UUID) -> list[str]:
        await MfaRepository(session).remove_recovery_codes(user_id)
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        hasher = self.auth.token_hasher
        for code in codes:
            session.add(RecoveryCode(user_id=user_id, code_hash=hasher.hash(normalized_code(code))))
        await session.flush()
        return codes
