"""Listeners of auth events: the mails of chapter 08 (verification, reset, notices).

Each listener creates the single-use token it mails inside its own delivery transaction, so no
raw token is ever stored, and a retried delivery simply mails a fresh link.
"""

from __future__ import annotations

from typing import Any

from garment.central.auth.events import (
    EmailVerificationRequested,
    PasswordReset,
    PasswordResetRequested,
    RegistrationAttemptedForExistingAccount,
    SuspiciousActivityDetected,
    UserRegistered,
)
from garment.central.auth.models import User
from garment.central.auth.ports import SuspiciousReason, TokenPurpose
from garment.central.auth.repository import ActivityRepository, UserRepository
from garment.platform.context import Locale
from garment.platform.events import ListenerContext, events
from garment.platform.i18n import Message
from garment.platform.mail.mailer import OutgoingMail

# What the suspicious-activity mail says happened, per reason that is mailed to the user.
REASON_TEXT: dict[str, Message] = {
    SuspiciousReason.NEW_DEVICE: Message(
        "masuk dari perangkat baru", "a sign-in from a new device"
    ),
    SuspiciousReason.REFRESH_REPLAY: Message(
        "token sesi lama dipakai ulang; sesi tersebut dihentikan",
        "an old session token was reused; that session was stopped",
    ),
    SuspiciousReason.FINGERPRINT_MISMATCH: Message(
        "sesi dipakai dari perangkat lain; sesi tersebut dihentikan",
        "a session was used from another device; that session was stopped",
    ),
    SuspiciousReason.BRUTE_FORCE: Message(
        "banyak percobaan masuk yang gagal; akun dikunci sementara",
        "many failed sign-in attempts; the account is locked for a while",
    ),
    SuspiciousReason.MFA_BRUTE_FORCE: Message(
        "banyak kode verifikasi yang salah", "many wrong verification codes"
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


async def _mail_user(
    context: ListenerContext, user_id: Any, template: str, values: dict[str, Any]
) -> None:
    """Mail a user who still exists (a deleted account gets nothing)."""
    user = await UserRepository(context.session).get(user_id)
    if user is not None:
        await _send(context, user, template, values)


def _frontend(context: ListenerContext, path: str) -> str:
    base: str = context.services.settings.http.frontend_url
    return base.rstrip("/") + path


async def _mail_link(
    context: ListenerContext,
    user: User,
    purpose: TokenPurpose,
    path: str,
    values: dict[str, Any],
) -> None:
    """Mail a fresh single-use link (`{path}?token=...` on the front end) for `purpose`; the
    template is named after the purpose and gets the link as `url`."""
    token = await context.services.auth.accounts.issue_one_time_token(
        context.session, user.id, purpose
    )
    link = _frontend(context, f"{path}?token={token}")
    await _send(context, user, purpose.value, {"url": link, **values})


async def _mail_verification(user_id: Any, context: ListenerContext) -> None:
    user = await UserRepository(context.session).get(user_id)
    if user is None or user.email_verified_at is not None:
        return
    hours = context.services.settings.auth.email_verification_hours
    await _mail_link(context, user, TokenPurpose.VERIFY_EMAIL, "/verify-email", {"hours": hours})


@events.listener(UserRegistered, name="auth.mail_verification_on_register")
async def mail_verification_on_register(event: UserRegistered, context: ListenerContext) -> None:
    await _mail_verification(event.user_id, context)


@events.listener(EmailVerificationRequested, name="auth.mail_verification_on_request")
async def mail_verification_on_request(
    event: EmailVerificationRequested, context: ListenerContext
) -> None:
    user_id = await context.services.auth.accounts.unverified_account(context.session, event)
    if user_id is not None:
        await _mail_verification(user_id, context)


@events.listener(RegistrationAttemptedForExistingAccount, name="auth.mail_account_exists")
async def mail_account_exists(
    event: RegistrationAttemptedForExistingAccount, context: ListenerContext
) -> None:
    await _mail_user(
        context,
        event.user_id,
        "account_exists",
        {
            "login_url": _frontend(context, "/login"),
            "reset_url": _frontend(context, "/forgot-password"),
        },
    )


@events.listener(PasswordResetRequested, name="auth.mail_password_reset")
async def mail_password_reset(event: PasswordResetRequested, context: ListenerContext) -> None:
    accounts = context.services.auth.accounts
    user = await accounts.note_password_reset_requested(context.session, event)
    if user is None:
        return
    minutes = context.services.settings.auth.password_reset_minutes
    await _mail_link(
        context, user, TokenPurpose.RESET_PASSWORD, "/reset-password", {"minutes": minutes}
    )


@events.listener(PasswordReset, name="auth.mail_password_changed")
async def mail_password_changed(event: PasswordReset, context: ListenerContext) -> None:
    await _mail_user(
        context,
        event.user_id,
        "password_changed",
        {
            "reset_url": _frontend(context, "/forgot-password"),
        },
    )


@events.listener(SuspiciousActivityDetected, name="auth.mail_suspicious_activity")
async def mail_suspicious_activity(
    event: SuspiciousActivityDetected, context: ListenerContext
) -> None:
    what = REASON_TEXT.get(event.reason)
    if event.user_id is None or what is None:
        return
    user = await UserRepository(context.session).get(event.user_id)
    activity = await ActivityRepository(context.session).get(event.activity_id)
    if user is None or activity is None:
        return
    await _send(
        context,
        user,
        "suspicious_activity",
        {
            "what": what.render(_locale(user)),
            "when": activity.occurred_at.strftime("%Y-%m-%d %H:%M UTC"),
            "ip": activity.ip or "-",
            "user_agent": activity.user_agent or "-",
            "sessions_url": _frontend(context, "/account/sessions"),
            "reset_url": _frontend(context, "/forgot-password"),
        },
    )
