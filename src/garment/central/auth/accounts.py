"""Accounts: registration, email verification, password reset and change, login, lockout.

Nothing here lets a caller learn whether an email has an account: registering an existing
email, asking for a reset or a verification mail all answer exactly like for a new email (the
owner is mailed instead), unknown emails are checked against a decoy hash so failed logins take
the same time, and lockouts count failures per email whether or not it exists.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.activities import ActivityService
from garment.central.auth.component import AuthComponents
from garment.central.auth.errors import AUTH_LINK_INVALID, AUTH_PASSWORD_INCORRECT
from garment.central.auth.events import (
    EmailVerificationRequested,
    PasswordReset,
    PasswordResetRequested,
    RegistrationAttemptedForExistingAccount,
    UserRegistered,
)
from garment.central.auth.models import MfaChallenge, OneTimeToken, User
from garment.central.auth.passwords import password_violations
from garment.central.auth.ports import (
    ActivityType,
    AuthenticatedUser,
    Principal,
    RevokeReason,
    SuspiciousReason,
    TokenPurpose,
)
from garment.central.auth.repository import (
    LoginAccount,
    LoginCandidate,
    LoginRepository,
    LoginThrottleRepository,
    OneTimeTokenRepository,
    UserRepository,
)
from garment.central.auth.sessions import SessionService, TokenPair, fingerprint_hash, user_view
from garment.platform.context import current_context, update_context
from garment.platform.errors import (
    AUTH_ACCOUNT_LOCKED,
    AUTH_EMAIL_NOT_VERIFIED,
    AUTH_INVALID_CREDENTIALS,
    AUTH_MFA_REQUIRED,
    VALIDATION_FAILED,
    AppError,
)
from garment.platform.events import publish

VERIFY_EMAIL = TokenPurpose.VERIFY_EMAIL
RESET_PASSWORD = TokenPurpose.RESET_PASSWORD


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    """The key of an email's login throttle (so lockouts are kept for unknown emails too)."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: AuthenticatedUser
    tokens: TokenPair


class AccountService:
    def __init__(
        self, auth: AuthComponents, sessions: SessionService, activities: ActivityService
    ) -> None:
        self.auth = auth
        self.settings = auth.settings.auth
        self.sessions = sessions
        self.activities = activities

    # --- lookups ---------------------------------------------------------------------------

    async def find_by_email(self, session: AsyncSession, email: str) -> AuthenticatedUser | None:
        user = await UserRepository(session).by_email(email)
        return user_view(user) if user else None

    async def get(self, session: AsyncSession, user_id: uuid.UUID) -> AuthenticatedUser | None:
        user = await UserRepository(session).get(user_id)
        return user_view(user) if user else None

    async def _user(self, session: AsyncSession, user_id: uuid.UUID) -> User:
        user = await UserRepository(session).get(user_id, for_update=True)
        if user is None:  # the caller was authenticated a moment ago
            raise AppError(AUTH_LINK_INVALID)
        return user

    def check_password_policy(self, password: str, email: str | None, field: str) -> None:
        violations = password_violations(password, email, self.settings)
        if violations:
            locale = current_context().locale
            raise AppError(
                VALIDATION_FAILED,
                errors={field: [violation.message(locale) for violation in violations]},
            )

    # --- registration and verification -------------------------------------------------------

    async def register(
        self, session: AsyncSession, *, email: str, password: str, name: str, locale: str
    ) -> None:
        """Same answer, same work, whether or not the email is taken."""
        self.check_password_policy(password, email, "body.password")
        password_hash = await self.auth.hashing.hash_off_loop(password)
        # One atomic insert: two simultaneous registrations of one email cannot both pass a
        # lookup and collide on the unique index; the loser is treated as "already registered".
        users = UserRepository(session)
        created = await users.insert_if_new(
            {
                "id": uuid.uuid4(),
                "email": email.strip(),
                "name": name.strip(),
                "locale": locale,
                "password_hash": password_hash,
                "password_changed_at": datetime.now(UTC),
            }
        )
        if created is None:
            existing = await users.by_email(email)
            if existing is not None:
                await publish(session, RegistrationAttemptedForExistingAccount(user_id=existing.id))
            return
        await self.activities.record(session, ActivityType.REGISTERED, user_id=created)
        await publish(session, UserRegistered(user_id=created))

    async def create_verified(
        self,
        session: AsyncSession,
        *,
        email: str,
        name: str,
        password: str,
        verified_at: datetime,
        platform_admin: bool = False,
    ) -> AuthenticatedUser:
        """An account that needs no verification mail (the demo admin of the embedded
        default). The password skips the policy only here: it is generated, never chosen."""
        user = await UserRepository(session).create(
            User(
                id=uuid.uuid4(),
                email=email.strip(),
                name=name,
                locale="id",
                password_hash=await self.auth.hashing.hash_off_loop(password),
                email_verified_at=verified_at,
                password_changed_at=verified_at,
                is_platform_admin=platform_admin,
            )
        )
        return user_view(user)

    async def issue_one_time_token(
        self, session: AsyncSession, user_id: uuid.UUID, purpose: TokenPurpose
    ) -> str:
        """A fresh single-use token; earlier unused ones of the same purpose stop working."""
        lifetime = (
            timedelta(hours=self.settings.email_verification_hours)
            if purpose == VERIFY_EMAIL
            else timedelta(minutes=self.settings.password_reset_minutes)
        )
        now = datetime.now(UTC)
        tokens = OneTimeTokenRepository(session)
        await tokens.retire_unused(user_id, purpose, now)
        raw = secrets.token_urlsafe(32)
        await tokens.create(
            OneTimeToken(
                user_id=user_id,
                purpose=purpose,
                token_hash=self.auth.token_hasher.hash(raw),
                expires_at=now + lifetime,
            )
        )
        return raw

    async def _consume_token(self, session: AsyncSession, raw: str, purpose: TokenPurpose) -> User:
        now = datetime.now(UTC)
        row = await OneTimeTokenRepository(session).locked(
            self.auth.token_hasher.candidates(raw), purpose
        )
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise AppError(AUTH_LINK_INVALID)
        row.used_at = now
        user = await UserRepository(session).get(row.user_id)
        if user is None:
            raise AppError(AUTH_LINK_INVALID)
        return user

    async def verify_email(self, session: AsyncSession, raw_token: str) -> User:
        user = await self._consume_token(session, raw_token, VERIFY_EMAIL)
        if user.email_verified_at is None:
            user.email_verified_at = datetime.now(UTC)
            await self.sessions.user_changed(session, user.id)
            await self.activities.record(session, ActivityType.EMAIL_VERIFIED, user_id=user.id)
        return user

    async def request_verification_mail(self, session: AsyncSession, email: str) -> None:
        """Same work for every address (no look-up here): the answer must not reveal, even by
        its timing, whether an account exists."""
        if not await self._mail_allowed(email, VERIFY_EMAIL):
            return
        await publish(session, EmailVerificationRequested(email=email))

    async def _mail_allowed(self, email: str, purpose: TokenPurpose) -> bool:
        """Per-address mail budget; over it we stay silent rather than reveal anything."""
        retry = await self.auth.limiter.hit(
            self.settings.email_rate_limit, "mail", purpose, email_hash(email)
        )
        return retry is None

    # --- passwords ---------------------------------------------------------------------------

    async def request_password_reset(self, session: AsyncSession, email: str) -> None:
        """Same work for every address (no look-up here): the answer must not reveal, even by
        its timing, whether an account exists. The listener records the activity."""
        if not await self._mail_allowed(email, RESET_PASSWORD):
            return
        context = current_context()
        await publish(
            session,
            PasswordResetRequested(
                email=email, ip=context.client_ip, user_agent=context.user_agent
            ),
        )

    async def note_password_reset_requested(
        self, session: AsyncSession, event: PasswordResetRequested
    ) -> User | None:
        """The account a forgot-password request named, with its activity recorded (from the
        listener, with the request's address and agent); None for an unknown address."""
        users = UserRepository(session)
        if event.email is not None:
            user = await users.by_email(event.email)
        else:
            user = await users.get(event.user_id) if event.user_id else None
        if user is None:
            return None
        if event.email is not None:  # older events were recorded when they were published
            update_context(client_ip=event.ip, user_agent=event.user_agent)
            await self.activities.record(
                session, ActivityType.PASSWORD_RESET_REQUESTED, user_id=user.id
            )
        return user

    async def unverified_account(
        self, session: AsyncSession, event: EmailVerificationRequested
    ) -> uuid.UUID | None:
        """The unverified account a resend request named; None otherwise."""
        users = UserRepository(session)
        if event.email is not None:
            user = await users.by_email(event.email)
        else:
            user = await users.get(event.user_id) if event.user_id else None
        if user is None or user.email_verified_at is not None:
            return None
        return user.id

    async def reset_password(self, session: AsyncSession, raw_token: str, password: str) -> User:
        user = await self._consume_token(session, raw_token, RESET_PASSWORD)
        self.check_password_policy(password, user.email, "body.password")
        await self._set_password(user, password)
        # Whoever reset the password proved control of the mailbox: the account is verified.
        user.email_verified_at = user.email_verified_at or datetime.now(UTC)
        revoked = await self.sessions.revoke_all(session, user.id, RevokeReason.PASSWORD_RESET)
        await LoginThrottleRepository(session).reset(email_hash(user.email))
        await self.activities.record(
            session,
            ActivityType.PASSWORD_RESET,
            user_id=user.id,
            details={"sessions_revoked": revoked},
        )
        await publish(session, PasswordReset(user_id=user.id))
        return user

    async def change_password(
        self,
        session: AsyncSession,
        principal: Principal,
        current_password: str,
        new_password: str,
    ) -> int:
        user = await self._user(session, principal.user.id)
        current_session_id = principal.session.id
        if not await self.auth.hashing.verify_off_loop(user.password_hash, current_password):
            raise AppError(AUTH_PASSWORD_INCORRECT)
        self.check_password_policy(new_password, user.email, "body.new_password")
        await self._set_password(user, new_password)
        revoked = await self.sessions.revoke_all(
            session, user.id, RevokeReason.PASSWORD_CHANGED, except_session=current_session_id
        )
        await self.activities.record(
            session,
            ActivityType.PASSWORD_CHANGED,
            user_id=user.id,
            session_id=current_session_id,
            details={"sessions_revoked": revoked},
        )
        return revoked

    async def _set_password(self, user: User, password: str) -> None:
        user.password_hash = await self.auth.hashing.hash_off_loop(password)
        user.password_changed_at = datetime.now(UTC)

    # --- login -----------------------------------------------------------------------------

    async def login(self, *, email: str, password: str, fingerprint: str | None) -> LoginResult:
        """Password step. Raises AUTH_MFA_REQUIRED (with a challenge id) when MFA is on.

        The account, the email's failure record and whether the device is new are read in one
        statement before the password is verified, and no pooled connection is held while
        argon2 runs (~30 ms of CPU on a worker thread, longer when logins queue for one), or a
        burst of logins would take the whole pool from every other request. A plain success
        (no failure record, a current hash, a verified email, no MFA, no device to flag) opens
        the session in one more statement; every other outcome is decided in a unit of work."""
        candidate = await self._login_candidate(email, fingerprint)
        account = candidate.account
        valid = await self.auth.hashing.verify_off_loop(
            account.password_hash if account else None, password
        )
        if valid and account is not None and self._plain_success(candidate, account):
            tokens = await self.sessions.start_signed_in(
                account.id, fingerprint=fingerprint, amr=["pwd"]
            )
            return LoginResult(user=user_view(account), tokens=tokens)
        async with self.auth.central.transaction() as session:
            return await self._login_in(session, candidate, valid, email, password, fingerprint)

    def _plain_success(self, candidate: LoginCandidate, account: LoginAccount) -> bool:
        return not (
            candidate.throttled
            or candidate.new_device
            or account.email_verified_at is None
            or account.mfa_enabled
            or self.auth.hashing.needs_rehash(account.password_hash)
        )

    async def _login_in(
        self,
        session: AsyncSession,
        candidate: LoginCandidate,
        valid: bool,
        email: str,
        password: str,
        fingerprint: str | None,
    ) -> LoginResult:
        """The rest of a checked password's login, in the order its rules apply."""
        account = candidate.account
        if not valid or account is None:
            await self._count_failure(session, email, account.id if account else None)
            raise AppError(AUTH_INVALID_CREDENTIALS, keep_changes=True)
        if candidate.throttled:  # earlier failures are forgiven by a success
            await LoginThrottleRepository(session).forget(email_hash(email))
        if self.auth.hashing.needs_rehash(account.password_hash):
            rehashed = await self.auth.hashing.hash_off_loop(password)
            await UserRepository(session).set_values(account.id, password_hash=rehashed)
        if account.email_verified_at is None:
            raise AppError(AUTH_EMAIL_NOT_VERIFIED, keep_changes=True)
        if account.mfa_enabled:
            challenge = MfaChallenge(
                user_id=account.id,
                fingerprint_hash=fingerprint_hash(fingerprint),
                expires_at=datetime.now(UTC)
                + timedelta(minutes=self.settings.mfa_challenge_minutes),
            )
            session.add(challenge)
            await session.flush()  # the id goes into the error
            raise AppError(
                AUTH_MFA_REQUIRED,
                extra={"challenge_id": str(challenge.id), "methods": ["totp", "recovery_code"]},
                keep_changes=True,
            )
        tokens = await self.sessions.start(
            session, account.id, fingerprint=fingerprint, amr=["pwd"]
        )
        return LoginResult(user=user_view(account), tokens=tokens)

    async def _login_candidate(self, email: str, fingerprint: str | None) -> LoginCandidate:
        """What the login needs before the password is checked; refuses a locked account
        before any password work."""
        candidate = await LoginRepository(self.auth.central).candidate(
            normalize_email(email), email_hash(email), fingerprint_hash(fingerprint)
        )
        self._refuse_while_locked(candidate.locked_until)
        return candidate

    async def _refuse_if_locked(self, session: AsyncSession, email: str) -> None:
        """Refuses while the email's failure record locks the account."""
        throttle = await LoginThrottleRepository(session).get(email_hash(email))
        self._refuse_while_locked(throttle.locked_until if throttle else None)

    def _refuse_while_locked(self, locked_until: datetime | None) -> None:
        now = datetime.now(UTC)
        if locked_until is not None and locked_until > now:
            raise self._locked_error(locked_until, now)

    def _locked_error(self, locked_until: datetime, now: datetime) -> AppError:
        retry_after = max(1, int((locked_until - now).total_seconds()) + 1)
        return AppError(
            AUTH_ACCOUNT_LOCKED,
            params={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
            keep_changes=True,
        )

    async def _count_failure(
        self, session: AsyncSession, email: str, user_id: uuid.UUID | None
    ) -> None:
        now = datetime.now(UTC)
        throttle = await LoginThrottleRepository(session).locked_row(email_hash(email), now)
        window = timedelta(minutes=self.settings.login_failure_window_minutes)
        if throttle.window_started_at + window < now:
            throttle.failures, throttle.window_started_at, throttle.locked_until = 0, now, None
        throttle.failures += 1
        await self.activities.record(
            session,
            ActivityType.LOGIN_FAILED,
            user_id=user_id,
            details={"failures": throttle.failures},
        )
        if throttle.failures >= self.settings.login_max_failures:
            throttle.locked_until = now + timedelta(minutes=self.settings.lockout_minutes)
            await self.activities.record(
                session,
                ActivityType.ACCOUNT_LOCKED,
                user_id=user_id,
                suspicious=SuspiciousReason.BRUTE_FORCE,
                details={"failures": throttle.failures},
            )
            await session.flush()
            raise self._locked_error(throttle.locked_until, now)
        await session.flush()

    async def reauthenticate(
        self, session: AsyncSession, principal: Principal, password: str
    ) -> None:
        """Step-up for sensitive changes: the password again, counted like a login attempt."""
        user = await self._user(session, principal.user.id)
        session_id = principal.session.id
        await self._refuse_if_locked(session, user.email)
        if not await self.auth.hashing.verify_off_loop(user.password_hash, password):
            await self._count_failure(session, user.email, user.id)
            raise AppError(AUTH_PASSWORD_INCORRECT, keep_changes=True)
        await self.sessions.mark_authenticated(session, session_id)
        await self.activities.record(
            session, ActivityType.REAUTHENTICATED, user_id=user.id, session_id=session_id
        )

    async def make_admin(self, session: AsyncSession, email: str) -> AuthenticatedUser | None:
        user = await UserRepository(session).by_email(email)
        if user is None:
            return None
        if not user.is_platform_admin:
            user.is_platform_admin = True
            await self.sessions.user_changed(session, user.id)
            await self.activities.record(session, ActivityType.ADMIN_GRANTED, user_id=user.id)
        return user_view(user)
