"""Tenancy mails: invitations and "your business is ready"."""

from __future__ import annotations

from garment.central.tenancy.events import MemberInvited, TenantProvisioned
from garment.central.tenancy.models import Invitation, Tenant
from garment.platform.context import Locale
from garment.platform.events import ListenerContext, events
from garment.platform.mail.mailer import OutgoingMail


def _frontend(context: ListenerContext, path: str) -> str:
    base: str = context.services.settings.http.frontend_url
    return base.rstrip("/") + path


@events.listener(MemberInvited, name="tenancy.mail_invitation")
async def mail_invitation(event: MemberInvited, context: ListenerContext) -> None:
    invitation = await context.session.get(Invitation, event.invitation_id)
    tenant = await context.session.get(Tenant, event.tenant_id)
    if invitation is None or tenant is None or invitation.accepted_at or invitation.revoked_at:
        return
    accounts = context.services.auth.accounts
    inviter = (
        await accounts.get(context.session, invitation.invited_by)
        if invitation.invited_by
        else None
    )
    token = await context.services.tenancy.mint_invitation_token(context.session, invitation.id)
    invitee = await context.services.auth.accounts.find_by_email(context.session, invitation.email)
    locale = Locale.EN if invitee is not None and invitee.locale == "en" else Locale.ID
    await context.services.mailer.send(
        OutgoingMail(
            to=invitation.email,
            template="invitation",
            locale=locale,
            context={
                "tenant_name": tenant.name,
                "inviter": inviter.name if inviter else "Garment.id",
                "roles": ", ".join(invitation.role_keys),
                "accept_url": _frontend(context, f"/invitations/accept?token={token}"),
                "days": 7,
            },
        )
    )


@events.listener(TenantProvisioned, name="tenancy.mail_tenant_ready")
async def mail_tenant_ready(event: TenantProvisioned, context: ListenerContext) -> None:
    tenant = await context.session.get(Tenant, event.tenant_id)
    if tenant is None:
        return
    owner = await context.services.auth.accounts.get(context.session, tenant.owner_user_id)
    if owner is None:
        return
    await context.services.mailer.send(
        OutgoingMail(
            to=owner.email,
            template="tenant_ready",
            locale=Locale.EN if owner.locale == "en" else Locale.ID,
            context={
                "name": owner.name,
                "tenant_name": tenant.name,
                "app_url": _frontend(context, f"/t/{tenant.slug}"),
            },
        )
    )
