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
    event_name = "auth.EmailVerificationRequested"
    user_id: uuid.UUID


@events.event
class PasswordResetRequested(DomainEvent):
    event_name = "auth.PasswordResetRequested"
    user_id: uuid.UUID


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
