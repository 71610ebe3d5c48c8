"""Tenancy's listeners: mails (invitations, "your business is ready") and the tenant following
its billing subscription (billing's events; billing never writes the tenants table)."""

from __future__ import annotations

from garment.central.billing.events import (
    PlanChanged,
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionSuspended,
)
from garment.central.tenancy.events import MemberInvited, TenantProvisioned
from garment.central.tenancy.repository import InvitationRepository, TenantRepository
from garment.central.tenancy.service import INVITATION_DAYS
from garment.central.tenancy.states import InvitationState, SuspensionSource, TenantStatus
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


# --- the tenant follows its subscription -------------------------------------------------------


@events.listener(SubscriptionActivated, name="tenancy.follow_subscription_activated")
async def follow_subscription_activated(
    event: SubscriptionActivated, context: ListenerContext
) -> None:
    """The first payment of a paid plan starts provisioning; a payment while suspended
    resumes the tenant if billing suspended it, never an operator's suspension (abuse)."""
    tenancy = context.services.tenancy
    tenant = await TenantRepository(context.session).get(event.tenant_id)
    if tenant is None:
        return
    if event.first:
        await tenancy.start_provisioning(context.session, event.tenant_id)
    elif tenant.status == TenantStatus.SUSPENDED:
        await tenancy.resume(context.session, event.tenant_id, only_source=SuspensionSource.BILLING)


@events.listener(SubscriptionSuspended, name="tenancy.follow_subscription_suspended")
async def follow_subscription_suspended(
    event: SubscriptionSuspended, context: ListenerContext
) -> None:
    tenant = await TenantRepository(context.session).get(event.tenant_id)
    if tenant is not None and tenant.status == TenantStatus.ACTIVE:
        await context.services.tenancy.suspend(
            context.session,
            event.tenant_id,
            "billing: invoice unpaid",
            source=SuspensionSource.BILLING,
        )


@events.listener(SubscriptionCancelled, name="tenancy.follow_subscription_cancelled")
async def follow_subscription_cancelled(
    event: SubscriptionCancelled, context: ListenerContext
) -> None:
    """The subscription ended (cancelled at period end, or by dunning after the suspension):
    the tenant is closed, whatever it was."""
    tenant = await TenantRepository(context.session).get(event.tenant_id)
    if tenant is not None and tenant.status != TenantStatus.CANCELLED:
        await context.services.tenancy.close(
            context.session, event.tenant_id, f"billing: {event.reason}"
        )


@events.listener(PlanChanged, name="tenancy.follow_plan_changed")
async def follow_plan_changed(event: PlanChanged, context: ListenerContext) -> None:
    if await TenantRepository(context.session).get(event.tenant_id) is None:
        return
    await context.services.tenancy.set_plan(
        context.session, event.tenant_id, event.plan_code, event.billing_interval
    )
