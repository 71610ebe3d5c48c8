"""Helpers for billing suites: tenants on a paid plan (first invoice open) or a trial plan,
signed sandbox deliveries, and posting them to the ingress."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from garment.central.billing.models import Invoice, Subscription
from garment.central.billing.providers.sandbox import build_simulated_delivery, sandbox_secret
from garment.central.billing.repository import InvoiceRepository, SubscriptionRepository
from garment.central.tenancy.states import BillingInterval
from garment.runtime import Runtime
from tests.auth.conftest import TestUser, make_user

WEBHOOKS = "/api/v1/billing/webhooks"


@dataclass
class BilledTenant:
    __test__ = False

    tenant_id: uuid.UUID
    slug: str
    owner: TestUser
    plan: str


async def onboard(
    runtime: Runtime, *, plan: str = "enterprise", owner: TestUser | None = None
) -> BilledTenant:
    """A tenant created through the tenancy service, its billing onboarding delivered (the
    outbox relay drained): on a paid plan it is `pending` with its first invoice open."""
    owner = owner or await make_user(runtime)
    slug = f"tagih-{uuid.uuid4().hex[:10]}"
    async with runtime.central.transaction() as session:
        account = await runtime.auth.accounts.get(session, owner.id)
        assert account is not None
        created = await runtime.tenancy.create_tenant(
            session,
            owner=account,
            name=f"Konveksi {slug[-4:]}",
            slug=slug,
            plan_code=plan,
            billing_interval=BillingInterval.MONTHLY,
        )
    await runtime.relay.drain()
    return BilledTenant(created.id, slug, owner, plan)


async def subscription_of(runtime: Runtime, tenant_id: uuid.UUID) -> Subscription:
    async with runtime.central.transaction() as session:
        subscription = await SubscriptionRepository(session).of_tenant(tenant_id)
    assert subscription is not None
    return subscription


async def invoices_of(runtime: Runtime, tenant_id: uuid.UUID) -> list[Invoice]:
    async with runtime.central.transaction() as session:
        return await InvoiceRepository(session).of_tenant(tenant_id)


async def open_invoice(runtime: Runtime, tenant_id: uuid.UUID) -> Invoice:
    invoices = [i for i in await invoices_of(runtime, tenant_id) if i.status == "open"]
    assert len(invoices) == 1, invoices
    return invoices[0]


def sandbox_delivery(
    runtime: Runtime, invoice: Invoice, *, fail: bool = False, amount: int | None = None, **kw: Any
) -> tuple[bytes, dict[str, str]]:
    secret = sandbox_secret(runtime.settings)
    assert secret is not None
    return build_simulated_delivery(
        invoice.reference,
        invoice.total if amount is None else amount,
        fail=fail,
        secret=secret,
        **kw,
    )


async def post_webhook(
    client: httpx.AsyncClient, provider: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"{WEBHOOKS}/{provider}", content=body, headers=headers)
