"""Billing's listeners: onboarding when a tenant is created, and billing's mails. The tenant
follows its subscription through tenancy's listeners on billing's events
(`central/tenancy/listeners.py`): billing never writes tenancy's tables."""

from __future__ import annotations

import uuid
from typing import Any

from garment.central.billing.events import (
    InvoiceIssued,
    InvoiceReminderDue,
    PaymentFailed,
    SubscriptionActivated,
    SubscriptionSuspended,
)
from garment.central.billing.repository import InvoiceRepository, SubscriptionRepository
from garment.central.tenancy.events import TenantCreated
from garment.platform.context import Locale
from garment.platform.events import ListenerContext, events
from garment.platform.mail.mailer import OutgoingMail


@events.listener(TenantCreated, name="billing.onboard_tenant")
async def onboard_tenant(event: TenantCreated, context: ListenerContext) -> None:
    await context.services.billing.onboard(
        context.session,
        tenant_id=event.tenant_id,
        owner_user_id=event.owner_user_id,
        plan_code=event.plan_code,
        interval=event.billing_interval,
    )


# --- mails ------------------------------------------------------------------------------------


def _rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


async def _invoice_context(context: ListenerContext, invoice_id: uuid.UUID) -> dict[str, Any]:
    invoice = await InvoiceRepository(context.session).get(invoice_id)
    if invoice is None:
        return {}
    return {
        "number": invoice.number,
        "total": _rupiah(invoice.total),
        "due_at": f"{invoice.due_at:%Y-%m-%d}" if invoice.due_at else "",
        "status": invoice.status,
    }


async def _mail_owner(
    context: ListenerContext, tenant_id: uuid.UUID, template: str, values: dict[str, Any]
) -> None:
    services = context.services
    subscription = await SubscriptionRepository(context.session).of_tenant(tenant_id)
    tenant = await services.tenancy.tenant(context.session, tenant_id)
    owner_id = subscription.owner_user_id if subscription else None
    if tenant is None or owner_id is None:
        return
    owner = await services.auth.accounts.get(context.session, owner_id)
    if owner is None:
        return
    base: str = services.settings.http.frontend_url
    await services.mailer.send(
        OutgoingMail(
            to=owner.email,
            template=template,
            locale=Locale.EN if owner.locale == Locale.EN.value else Locale.ID,
            context={
                "name": owner.name,
                "tenant_name": tenant.name,
                "billing_url": base.rstrip("/") + f"/t/{tenant.slug}/billing",
                **values,
            },
        )
    )


@events.listener(InvoiceIssued, name="billing.mail_invoice_issued")
async def mail_invoice_issued(event: InvoiceIssued, context: ListenerContext) -> None:
    values = await _invoice_context(context, event.invoice_id)
    if values:
        await _mail_owner(context, event.tenant_id, "billing_invoice_issued", values)


@events.listener(InvoiceReminderDue, name="billing.mail_reminder")
async def mail_reminder(event: InvoiceReminderDue, context: ListenerContext) -> None:
    values = await _invoice_context(context, event.invoice_id)
    if values and values["status"] == "open":
        values["days"] = event.days_overdue
        await _mail_owner(context, event.tenant_id, "billing_reminder", values)


@events.listener(PaymentFailed, name="billing.mail_payment_failed")
async def mail_payment_failed(event: PaymentFailed, context: ListenerContext) -> None:
    values = await _invoice_context(context, event.invoice_id)
    if values and values["status"] == "open":
        await _mail_owner(context, event.tenant_id, "billing_payment_failed", values)


@events.listener(SubscriptionSuspended, name="billing.mail_suspended")
async def mail_suspended(event: SubscriptionSuspended, context: ListenerContext) -> None:
    invoice = await InvoiceRepository(context.session).get(event.invoice_id)
    await _mail_owner(
        context, event.tenant_id, "billing_suspended", {"number": invoice.number if invoice else ""}
    )


@events.listener(SubscriptionActivated, name="billing.mail_resumed")
async def mail_resumed(event: SubscriptionActivated, context: ListenerContext) -> None:
    if event.resumed:
        await _mail_owner(context, event.tenant_id, "billing_resumed", {})
