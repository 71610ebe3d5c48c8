"""Tenancy mails: invitations and "your business is ready"."""

from __future__ import annotations

from garment.central.tenancy.events import MemberInvited, TenantProvisioned
from garment.central.tenancy.repository import InvitationRepository, TenantRepository
from garment.central.tenancy.service import INVITATION_DAYS
from garment.central.tenancy.states import InvitationState
from garment.platform.context import Locale
from garment.platform.events import ListenerContext, events
from garment.platform.mail.mailer import OutgoingMail


def _frontend(context: ListenerContext, path: str) -> str:
    base: str = context.services.settings.http.frontend_url
    return base.rstrip("/") + path


def _locale(code: str | None) -> Locale:
    return Locale.EN if code == Locale.EN.value else Locale.ID


@events.listener(MemberInvited, name="tenancy.mail_invitation")
async def mail_invitation(event: MemberInvited, context: ListenerContext) -> None:
    invitation = await InvitationRepository(context.session).get(event.invitation_id)
    tenant = await TenantRepository(context.session).get(event.tenant_id)
    if invitation is None or tenant is None or invitation.status is not InvitationState.PENDING:
        return
    services = context.services
    accounts = services.auth.accounts
    inviter = (
        await accounts.get(context.session, invitation.invited_by)
        if invitation.invited_by
        else None
    )
    token = await services.tenancy.mint_invitation_token(context.session, invitation.id)
    invitee = await accounts.find_by_email(context.session, invitation.email)
    await services.mailer.send(
        OutgoingMail(
            to=invitation.email,
            template="invitation",
            locale=_locale(invitee.locale if invitee else None),
            context={
                "tenant_name": tenant.name,
                "inviter": inviter.name if inviter else "Garment.id",
                "roles": ", ".join(invitation.role_keys),
                "accept_url": _frontend(context, f"/invitations/accept?token={token}"),
                "days": INVITATION_DAYS,
            },
        )
    )


@events.listener(TenantProvisioned, name="tenancy.mail_tenant_ready")
async def mail_tenant_ready(event: TenantProvisioned, context: ListenerContext) -> None:
    tenant = await TenantRepository(context.session).get(event.tenant_id)
    if tenant is None:
        return
    owner = await context.services.auth.accounts.get(context.session, tenant.owner_user_id)
    if owner is None:
        return
    await context.services.mailer.send(
        OutgoingMail(
            to=owner.email,
            template="tenant_ready",
            locale=_locale(owner.locale),
            context={
                "name": owner.name,
                "tenant_name": tenant.name,
                "app_url": _frontend(context, f"/t/{tenant.slug}"),
            },
        )
    )
