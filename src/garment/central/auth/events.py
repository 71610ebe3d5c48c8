"""Domain events of central auth. Payloads carry ids, never tokens or passwords: listeners
create single-use tokens themselves, so no raw token is ever stored."""

from __future__ import annotations

import uuid

from garment.platform.events import DomainEvent, events


@events.event
class UserRegistered(DomainEvent):
    event_name = "auth.UserRegistered"
    user_id: uuid.UUID


@events.event
class RegistrationAttemptedForExistingAccount(DomainEvent):
    event_name = "auth.RegistrationAttemptedForExistingAccount"
    user_id: uuid.UUID


@events.event
class EmailVerificationRequested(DomainEvent):
    """Published for every resend request, whether the address has an unverified account or
    not, so the request does the same work either way; the listener finds the account."""

    event_name = "auth.EmailVerificationRequested"
    email: str | None = None
    user_id: uuid.UUID | None = None  # events written before 2026-12-01 name the user


@events.event
class PasswordResetRequested(DomainEvent):
    """Published for every forgot-password request, known address or not, so the answer takes
    as long either way; the listener finds the account, records the activity and mails."""

    event_name = "auth.PasswordResetRequested"
    email: str | None = None
    user_id: uuid.UUID | None = None  # events written before 2026-12-01 name the user
    ip: str | None = None
    user_agent: str | None = None


@events.event
class PasswordReset(DomainEvent):
    event_name = "auth.PasswordReset"
    user_id: uuid.UUID


@events.event
class SuspiciousActivityDetected(DomainEvent):
    event_name = "auth.SuspiciousActivityDetected"
    activity_id: int
    user_id: uuid.UUID | None
    reason: str
