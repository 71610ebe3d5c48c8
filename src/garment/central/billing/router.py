"""HTTP layer of billing: the public plan list, the provider webhook ingress, the tenant's
billing routes (reachable while suspended or waiting for the first payment) and the platform
admins' forensic view of webhook receipts."""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from garment.central.auth.dependencies import AUTHENTICATION_ERRORS, PlatformAdmin
from garment.central.billing.dependencies import (
    Billing,
    BillingWebhooks,
    SandboxSecret,
)
from garment.central.billing.errors import (
    INVOICE_NOT_PAYABLE,
    PAYMENT_PROVIDER_UNAVAILABLE,
    PLAN_UNCHANGED,
    SUBSCRIPTION_NOT_CHANGEABLE,
    WEBHOOK_PROVIDER_UNKNOWN,
)
from garment.central.billing.invoice_states import ReceiptStatus
from garment.central.billing.providers.sandbox import PAY_PATH as SANDBOX_PAY_PATH
from garment.central.billing.schemas import (
    ChangePlanRequest,
    InvoiceList,
    InvoiceOut,
    PayLinkOut,
    PlanList,
    PlanOut,
    ReceiptDetail,
    ReceiptList,
    ReceiptSummary,
    ReplayOut,
    SubscriptionOut,
    WebhookAck,
)
from garment.platform.contract import Rfc3339
from garment.platform.errors import (
    CONFLICT,
    INVALID_STATE_TRANSITION,
    PERMISSION_DENIED,
    PLAN_LIMIT_REACHED,
    REQUEST_TOO_LARGE,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
    WEBHOOK_SIGNATURE_INVALID,
    AppError,
    CommandError,
)
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.tenant.context import TENANT_CHAIN_ERRORS, RequireBillingPermission, TenantMember

router = Router(tags=["billing"])
# The provider webhook ingress alone, matched before every other router (`api_routers()`): it
# is the route that must answer fast under bursts, and matching a request against the routes
# in front of it cost more than its own statement (bench/README.md).
webhook_router = Router(tags=["billing"])
# The sandbox provider's payment page (its links point here; never in production, never in the
# API document: a development aid, like the mail files).
sandbox_router = Router(include_in_schema=False)
tenant_router = Router(prefix="/tenant/billing", tags=["tenant"])
admin_router = Router(prefix="/admin/billing", tags=["admin"])

BillingViewer = Annotated[TenantMember, Depends(RequireBillingPermission("billing.view"))]
BillingManager = Annotated[TenantMember, Depends(RequireBillingPermission("billing.manage"))]
ADMIN_ERRORS = (*AUTHENTICATION_ERRORS, PERMISSION_DENIED)
# The ingress reads its body itself under `billing.webhook_max_body_bytes` (recording what it
# refuses), so the application-wide body limit does not apply under this prefix.
WEBHOOK_PATH_PREFIX = "/billing/webhooks/"
WEBHOOK_BODY = {
    "requestBody": {
        "required": True,
        "description": "The provider's notification exactly as it sends it (stored byte for "
        "byte before it is verified).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.get(
    "/billing/plans",
    response_model=PlanList,
    summary="The plans with prices (integer rupiah, before PPN), trial days and entitlements",
)
async def list_plans(billing: Billing, session: CentralSession) -> PlanList:
    plans = await billing.list_plans(session)
    return PlanList(data=[PlanOut.model_validate(plan) for plan in plans])


async def read_limited(request: Request, limit: int) -> tuple[bytes, int, bool]:
    """The body, read as it streams in and no further than `limit`: (bytes kept, size, whether
    it was cut). An oversized body keeps its first `limit` bytes; its size is the declared
    Content-Length when there is one."""
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            chunks.append(chunk)
            kept = b"".join(chunks)[:limit]
            declared = request.headers.get("content-length", "")
            size = int(declared) if declared.isdigit() else received
            return kept, max(size, received), True
        chunks.append(chunk)
    return b"".join(chunks), received, False


@webhook_router.post(
    "/billing/webhooks/{provider}",
    response_model=WebhookAck,
    summary="A payment provider's notification: stored, verified, deduplicated, enqueued",
    description="Every delivery is kept as a receipt before it is verified (forged ones "
    "included). `200` acknowledges a verified (or duplicate) delivery; processing happens in "
    "a job.",
    openapi_extra=WEBHOOK_BODY,
    responses=error_responses(
        WEBHOOK_SIGNATURE_INVALID, WEBHOOK_PROVIDER_UNKNOWN, REQUEST_TOO_LARGE
    ),
)
async def receive_webhook(
    provider: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    webhooks: BillingWebhooks,
) -> WebhookAck:
    limit = webhooks.settings.webhook_max_body_bytes
    body, size, truncated = await read_limited(request, limit)
    result = await webhooks.receive(
        provider, body=body, headers=dict(request.headers), size=size, truncated=truncated
    )
    extra: dict[str, Any] = {"receipt_id": result.receipt_id}
    if result.status_code == 401:
        raise AppError(WEBHOOK_SIGNATURE_INVALID, extra={**extra, "reason": result.reason})
    if result.status_code == 404:
        raise AppError(WEBHOOK_PROVIDER_UNKNOWN, extra=extra)
    if result.status_code == 413:
        raise AppError(
            REQUEST_TOO_LARGE,
            extra={**extra, "limit_bytes": limit},
            headers={"Connection": "close"},
        )
    return WebhookAck(receipt_id=result.receipt_id, status=result.status)


# --- the tenant's billing ----------------------------------------------------------------------


@tenant_router.get(
    "/subscription",
    response_model=SubscriptionOut,
    summary="The tenant's subscription (reachable while suspended or awaiting payment)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, RESOURCE_NOT_FOUND),
)
async def get_subscription(
    member: BillingViewer, billing: Billing, session: CentralSession
) -> SubscriptionOut:
    subscription = await billing.subscription_of(session, member.tenant_id)
    return SubscriptionOut.model_validate(subscription)


@tenant_router.get(
    "/invoices",
    response_model=InvoiceList,
    summary="The tenant's invoices, newest first, with their lines and PPN",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def list_invoices(
    member: BillingViewer, billing: Billing, session: CentralSession
) -> InvoiceList:
    invoices = await billing.invoice_views(session, member.tenant_id)
    return InvoiceList(data=[InvoiceOut.model_validate(invoice) for invoice in invoices])


@tenant_router.post(
    "/invoices/{invoice_id}/pay",
    response_model=PayLinkOut,
    summary="The provider payment link of an open invoice (created once, then returned again)",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS, RESOURCE_NOT_FOUND, INVOICE_NOT_PAYABLE, PAYMENT_PROVIDER_UNAVAILABLE
    ),
)
async def pay_invoice(
    invoice_id: uuid.UUID, member: BillingManager, billing: Billing, session: CentralSession
) -> PayLinkOut:
    link = await billing.pay_link(
        session,
        member.tenant_id,
        invoice_id,
        customer_email=member.email,
        customer_name=member.name,
    )
    return PayLinkOut.model_validate(link)


@tenant_router.post(
    "/subscription/change-plan",
    response_model=SubscriptionOut,
    summary="Change plan: an upgrade applies now (prorated on the next invoice), a downgrade "
    "at period end",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS,
        RESOURCE_NOT_FOUND,
        PLAN_LIMIT_REACHED,
        PLAN_UNCHANGED,
        SUBSCRIPTION_NOT_CHANGEABLE,
        INVALID_STATE_TRANSITION,
        VALIDATION_FAILED,
    ),
)
async def change_plan(
    body: ChangePlanRequest, member: BillingManager, billing: Billing, session: CentralSession
) -> SubscriptionOut:
    subscription = await billing.change_plan(session, member.tenant_id, body.plan_code)
    return SubscriptionOut.model_validate(subscription)


@tenant_router.post(
    "/subscription/cancel",
    response_model=SubscriptionOut,
    summary="Cancel at the end of the current period",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS,
        RESOURCE_NOT_FOUND,
        SUBSCRIPTION_NOT_CHANGEABLE,
        INVALID_STATE_TRANSITION,
    ),
)
async def cancel_subscription(
    member: BillingManager, billing: Billing, session: CentralSession
) -> SubscriptionOut:
    subscription = await billing.cancel(session, member.tenant_id)
    return SubscriptionOut.model_validate(subscription)


# --- platform admins: the forensic record ------------------------------------------------------


@admin_router.get(
    "/webhooks",
    response_model=ReceiptList,
    summary="Webhook receipts, newest first (platform admins)",
    responses=error_responses(*ADMIN_ERRORS, VALIDATION_FAILED),
)
async def list_receipts(
    admin: PlatformAdmin,
    webhooks: BillingWebhooks,
    session: CentralSession,
    provider: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[ReceiptStatus | None, Query()] = None,
    since: Annotated[
        Rfc3339 | None, Query(description="Only receipts received at or after this RFC 3339 time.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ReceiptList:
    records = await webhooks.list(
        session, provider=provider, status=status, since=since, limit=limit
    )
    return ReceiptList(data=[ReceiptSummary.model_validate(r.summary()) for r in records])


@admin_router.get(
    "/webhooks/{receipt_id}",
    response_model=ReceiptDetail,
    summary="One webhook receipt: the full forensic record, body pretty-printed",
    responses=error_responses(*ADMIN_ERRORS, RESOURCE_NOT_FOUND),
)
async def show_receipt(
    receipt_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    admin: PlatformAdmin,
    webhooks: BillingWebhooks,
    session: CentralSession,
) -> ReceiptDetail:
    record = await webhooks.show(session, receipt_id)
    if record is None:
        raise AppError(RESOURCE_NOT_FOUND)
    return ReceiptDetail.model_validate(record.detail())


@admin_router.post(
    "/webhooks/{receipt_id}/replay",
    response_model=ReplayOut,
    summary="Run processing of a stored, verified receipt again (idempotent)",
    responses=error_responses(*ADMIN_ERRORS, RESOURCE_NOT_FOUND, CONFLICT),
)
async def replay_receipt(
    receipt_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    admin: PlatformAdmin,
    webhooks: BillingWebhooks,
) -> ReplayOut:
    try:
        status = await webhooks.replay(receipt_id)
    except CommandError as error:
        missing = str(error).startswith("no webhook receipt")
        raise AppError(
            RESOURCE_NOT_FOUND if missing else CONFLICT, extra={"reason": str(error)}
        ) from error
    return ReplayOut(receipt_id=receipt_id, status=status)


# --- the sandbox's payment page ------------------------------------------------------------------


def _page(title: str, text: str, form: str = "") -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1><p>{escape(text)}</p>{form}</body></html>"
    )


@sandbox_router.get(SANDBOX_PAY_PATH + "/{reference}")
async def sandbox_pay_page(
    reference: str, billing: Billing, session: CentralSession, secret: SandboxSecret
) -> HTMLResponse:
    invoice = await billing.invoice_of(session, reference) if secret else None
    if invoice is None:
        raise AppError(RESOURCE_NOT_FOUND)
    action = escape(f"{SANDBOX_PAY_PATH}/{quote(reference, safe='')}")
    form = (
        f"<form method='post' action='{action}'>"
        "<button name='result' value='paid'>Pay / Bayar</button> "
        "<button name='result' value='failed'>Fail / Gagalkan</button></form>"
    )
    return _page(
        f"Sandbox: {invoice.number}",
        f"Total Rp {invoice.total:,} ({invoice.status}). No money moves: the button sends a "
        "signed sandbox webhook to this server, as `garment billing simulate-payment` does.",
        form if invoice.status == "open" else "",
    )


@sandbox_router.post(SANDBOX_PAY_PATH + "/{reference}")
async def sandbox_pay(
    reference: str, request: Request, webhooks: BillingWebhooks, secret: SandboxSecret
) -> HTMLResponse:
    if not secret:
        raise AppError(RESOURCE_NOT_FOUND)
    form = (await request.body()).decode("utf-8", errors="replace")
    result, invoice = await webhooks.simulate_sandbox_payment(
        reference, fail="result=failed" in form, secret=secret
    )
    if result is None:
        raise AppError(RESOURCE_NOT_FOUND)
    return _page(
        f"Sandbox: {invoice.number}",
        f"Webhook receipt {result.receipt_id}: {result.status}. Processing runs in the job "
        "worker; the invoice is paid within seconds.",
    )
