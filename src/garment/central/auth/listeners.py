"""Listeners of auth events: the mails of chapter 08 (verification, reset, notices).

Each listener creates the single-use token it mails inside its own delivery transaction, so no
raw token is ever stored, and a retried delivery simply mails a fresh link.
"""

from __future__ import annotations

from typing import Any

from garment.central.auth.accounts import RESET_PASSWORD, VERIFY_EMAIL
from garment.central.auth.events import (
    EmailVerificationRequested,
    PasswordReset,
    PasswordResetRequested,
    RegistrationAttemptedForExistingAccount,
    SuspiciousActivityDetected,
    UserRegistered,
)
from garment.central.auth.models import AuthActivity, User
from garment.platform.context import Locale
from garment.platform.events import ListenerContext, events
from garment.platform.mail.mailer import OutgoingMail

NOTIFIED_REASONS = {
    "new_device",
    "refresh_replay",
    "fingerprint_mismatch",
    "brute_force",
    "mfa_brute_force",
}
REASON_TEXT = {
    "new_device": ("masuk dari perangkat baru", "a sign-in from a new device"),
    "refresh_replay": (
        "token sesi lama dipakai ulang; sesi tersebut dihentikan",
        "an old session token was reused; that session was stopped",
    ),
    "fingerprint_mismatch": (
        "sesi dipakai dari perangkat lain; sesi tersebut dihentikan",
        "a session was used from another device; that session was stopped",
    ),
    "brute_force": (
        "banyak percobaan masuk yang gagal; akun dikunci sementara",
        "many failed sign-in attempts; the account is locked for a while",
    ),
    "mfa_brute_force": (
        "banyak kode verifikasi yang salah",
        "many wrong verification codes",
    ),
}


def _locale(user: User) -> Locale:
    return Locale.EN if user.locale == Locale.EN.value else Locale.ID


async def _send(
    context: ListenerContext, user: User, template: str, values: dict[str, Any]
) -> None:
    runtime = context.services
    await runtime.mailer.send(
        OutgoingMail(
            to=user.email,
            template=template,
            locale=_locale(user),
            context={"name": user.name, **values},
        )
    )


def _frontend(context: ListenerContext, path: str) -> str:
    base: str = context.services.settings.http.frontend_url
    return base.rstrip("/") + path


async def _mail_verification(user_id: Any, context: ListenerContext) -> None:
    user = await context.session.get(User, user_id)
    if user is None or user.email_verified_at is not None:
        return
    token = await context.services.auth.accounts.issue_one_time_token(
        context.session, user.id, VERIFY_EMAIL
    )
    await _send(
        context,
        user,
        "verify_email",
        {
            "verify_url": _frontend(context, f"/verify-email?token={token}"),
            "hours": context.services.settings.auth.email_verification_hours,
        },
    )


@events.listener(UserRegistered, name="auth.mail_verification_on_register")
async def mail_verification_on_register(event: UserRegistered, context: ListenerContext) -> None:
    await _mail_verification(event.user_id, context)


@events.listener(EmailVerificationRequested, name="auth.mail_verification_on_request")
async def mail_verification_on_request(
    event: EmailVerificationRequested, context: ListenerContext
) -> None:
    await _mail_verification(event.user_id, context)


@events.listener(RegistrationAttemptedForExistingAccount, name="auth.mail_account_exists")
async def mail_account_exists(
    event: RegistrationAttemptedForExistingAccount, context: ListenerContext
) -> None:
    user = await context.session.get(User, event.user_id)
    if user is None:
        return
    await _send(
        context,
        user,
        "account_exists",
        {
            "login_url": _frontend(context, "/login"),
            "reset_url": _frontend(context, "/forgot-password"),
        },
    )


@events.listener(PasswordResetRequested, name="auth.mail_password_reset")
async def mail_password_reset(event: PasswordResetRequested, context: ListenerContext) -> None:
    user = await context.session.get(User, event.user_id)
    if user is None:
        return
    token = await context.services.auth.accounts.issue_one_time_token(
        context.session, user.id, RESET_PASSWORD
    )
    await _send(
        context,
        user,
        "reset_password",
        {
            "reset_url": _frontend(context, f"/reset-password?token={token}"),
            "minutes": context.services.settings.auth.password_reset_minutes,
        },
    )


@events.listener(PasswordReset, name="auth.mail_password_changed")
async def mail_password_changed(event: PasswordReset, context: ListenerContext) -> None:
    user = await context.session.get(User, event.user_id)
    if user is None:
        return
    await _send(
        context,
        user,
        "password_changed",
        {
            "reset_url": _frontend(context, "/forgot-password"),
        },
    )


@events.listener(SuspiciousActivityDetected, name="auth.mail_suspicious_activity")
async def mail_suspicious_activity(
    event: SuspiciousActivityDetected, context: ListenerContext
) -> None:
    if event.user_id is None or event.reason not in NOTIFIED_REASONS:
        return
    user = await context.session.get(User, event.user_id)
    activity = await context.session.get(AuthActivity, event.activity_id)
    if user is None or activity is None:
        return
    indonesian, english = REASON_TEXT[event.reason]
    await _send(
        context,
        user,
        "suspicious_activity",
        {
            "what": indonesian if _locale(user) is Locale.ID else english,
            "when": activity.occurred_at.strftime("%Y-%m-%d %H:%M UTC"),
            "ip": activity.ip or "-",
            "user_agent": activity.user_agent or "-",
            "sessions_url": _frontend(context, "/account/sessions"),
            "reset_url": _frontend(context, "/forgot-password"),
        },
    )
