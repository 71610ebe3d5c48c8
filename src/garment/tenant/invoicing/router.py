"""Customer invoices, tax settings, the Coretax export and the receivables on the Tenant API
(`invoices.view`/`invoices.manage`, `tax.view`/`tax.manage`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response, status

from garment.platform.errors import (
    CONFLICT,
    INVALID_STATE_TRANSITION,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
)
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.platform.pagination import PageMeta
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)
from garment.tenant.conventions.dependencies import (
    IDEMPOTENCY_ERRORS,
    ConventionRoute,
    Idempotent,
    IfMatch,
    etag_response,
    set_etag,
)
from garment.tenant.conventions.errors import PLAN_FEATURE_UNAVAILABLE
from garment.tenant.invoicing.dependencies import InvoicePage, Invoices
from garment.tenant.invoicing.errors import (
    DOWN_PAYMENT_INVOICE_NOT_ISSUED,
    DOWN_PAYMENT_NOT_REQUESTED,
    FINAL_INVOICE_EXISTS,
    INVOICE_ALREADY_EXISTS,
    INVOICE_EXPORTED,
    INVOICE_HAS_PAYMENTS,
    INVOICE_NOT_EXPORTED,
    INVOICE_NOT_ISSUED,
    INVOICE_NOT_TAXABLE,
    INVOICE_PAYMENT_EXCEEDS_BALANCE,
    NSFP_ALREADY_SET,
    NSFP_TAKEN,
    ORDER_NOT_INVOICEABLE,
    ORDER_PAYMENT_ALREADY_APPLIED,
)
from garment.tenant.invoicing.schemas import (
    DAY_PATTERN,
    AgeingOut,
    CoretaxExportIn,
    InvoiceCreate,
    InvoiceDetail,
    InvoiceList,
    InvoicePaymentIn,
    InvoiceUpdate,
    NsfpImportIn,
    NsfpImportOut,
    NsfpIn,
    ReplacementIn,
    TaxSettingsIn,
    TaxSettingsOut,
    TurnoverOut,
)
from garment.tenant.invoicing.states import InvoiceKind, InvoiceStatus
from garment.tenant.orders.errors import ORDER_NOT_PAYABLE, PAYMENT_EXCEEDS_BALANCE

router = Router(prefix="/tenant", tags=["tenant"], route_class=ConventionRoute)

InvoiceViewer = Annotated[TenantMember, Depends(RequirePermission("invoices.view"))]
InvoiceManager = Annotated[TenantMember, Depends(RequirePermission("invoices.manage"))]
TaxViewer = Annotated[TenantMember, Depends(RequirePermission("tax.view"))]
TaxManager = Annotated[TenantMember, Depends(RequirePermission("tax.manage"))]

MONTH_PATTERN = r"^2[0-9]{3}-(?:0[1-9]|1[0-2])$"
XML = {"application/xml": {"schema": {"type": "string"}}}
PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
CREATE_ERRORS = (
    ORDER_NOT_INVOICEABLE,
    DOWN_PAYMENT_NOT_REQUESTED,
    INVOICE_ALREADY_EXISTS,
    FINAL_INVOICE_EXISTS,
    DOWN_PAYMENT_INVOICE_NOT_ISSUED,
)


def _attachment(filename: str, content: bytes, media_type: str) -> Response:
    return Response(
        content=content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- tax settings and reports ----------------------------------------------------------------


@router.get(
    "/tax-settings",
    response_model=TaxSettingsOut,
    summary="The tenant's tax settings: PKP, NPWP/NITKU, PPN rate and base ratio, Coretax codes",
    responses={**etag_response(200, "The settings."), **error_responses(*TENANT_CHAIN_ERRORS)},
)
async def get_tax_settings(
    member: TaxViewer, invoices: Invoices, db: TenantSession, response: Response
) -> TaxSettingsOut:
    settings = await invoices.tax_settings(db, member.tenant_id)
    set_etag(response, settings.version)
    return settings


@router.put(
    "/tax-settings",
    response_model=TaxSettingsOut,
    summary="Replace the tax settings (If-Match; `pkp` is the same flag as the sales settings')",
    responses={
        **etag_response(200, "The new settings."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, CONFLICT),
    },
)
async def put_tax_settings(
    body: TaxSettingsIn,
    member: TaxManager,
    invoices: Invoices,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> TaxSettingsOut:
    settings = await invoices.set_tax_settings(
        db, member.tenant_id, member.user_id, body, expected_version=expected
    )
    set_etag(response, settings.version)
    return settings


@router.get(
    "/tax/turnover",
    response_model=TurnoverOut,
    summary="A month's gross turnover of invoices without PPN and its 0.5% final income tax",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def turnover(
    member: TaxViewer,
    invoices: Invoices,
    db: TenantSession,
    month: Annotated[
        str, Query(pattern=MONTH_PATTERN, max_length=7, description="The month, `YYYY-MM`.")
    ],
) -> TurnoverOut:
    return await invoices.turnover(db, member.tenant_id, month)


@router.get(
    "/receivables/ageing",
    response_model=AgeingOut,
    summary="What each customer owes on a day, by days past due (0-30, 31-60, 61-90, 90+)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def receivables_ageing(
    member: InvoiceViewer,
    invoices: Invoices,
    db: TenantSession,
    as_of: Annotated[
        date | None,
        Query(
            ge=date(2000, 1, 1),
            le=date(2999, 12, 31),
            json_schema_extra={"pattern": DAY_PATTERN},
            description="Default: today.",
        ),
    ] = None,
) -> AgeingOut:
    return await invoices.ageing(db, member.tenant_id, as_of)


# --- invoices --------------------------------------------------------------------------------


@router.get(
    "/invoices",
    response_model=InvoiceList,
    summary="Customer invoices, newest first; filter by status, kind, order, customer",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_invoices(
    member: InvoiceViewer,
    invoices: Invoices,
    db: TenantSession,
    page: InvoicePage,
    status_: Annotated[
        InvoiceStatus | None, Query(alias="status", description="Only this status.")
    ] = None,
    kind: Annotated[InvoiceKind | None, Query(description="Only this kind.")] = None,
    order_id: Annotated[uuid.UUID | None, Query(description="Only this order.")] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Only this customer.")] = None,
) -> InvoiceList:
    rows, cursor = await invoices.list_invoices(
        db,
        member.tenant_id,
        status=status_,
        kind=kind,
        order_id=order_id,
        customer_id=customer_id,
        page=page,
    )
    return InvoiceList(data=rows, meta=PageMeta(next_cursor=cursor, limit=page.limit))


@router.post(
    "/invoices",
    status_code=status.HTTP_201_CREATED,
    response_model=InvoiceDetail,
    summary="A draft DP or final invoice for an order (Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created (status draft).", location="The new invoice."),
        **error_responses(
            *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, *CREATE_ERRORS, *IDEMPOTENCY_ERRORS
        ),
    },
)
async def create_invoice(
    body: InvoiceCreate,
    member: InvoiceManager,
    invoices: Invoices,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> InvoiceDetail:
    invoice = await invoices.create(db, member.tenant_id, member.user_id, body)
    response.headers["Location"] = request.url_for("get_invoice", invoice_id=str(invoice.id)).path
    set_etag(response, invoice.version)
    return invoice


@router.post(
    "/invoices/coretax-export",
    summary="The Coretax TaxInvoiceBulk XML of several invoices (checked first; plan feature "
    "`coretax_export`); they become immutable",
    response_class=Response,
    responses={
        200: {"description": "The XML file.", "content": XML},
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            PLAN_FEATURE_UNAVAILABLE,
            INVOICE_NOT_ISSUED,
            INVOICE_NOT_TAXABLE,
        ),
    },
)
async def coretax_export(
    body: CoretaxExportIn, member: TaxManager, invoices: Invoices, db: TenantSession
) -> Response:
    filename, content = await invoices.coretax_export(
        db, member.tenant_id, member.user_id, member.tenant.plan_code, body.invoice_ids, batch=True
    )
    return _attachment(filename, content, "application/xml")


@router.post(
    "/invoices/nsfp-import",
    response_model=NsfpImportOut,
    summary="Record the NSFP numbers Coretax assigned, by invoice number (rows or CSV; all or "
    "none)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, PLAN_FEATURE_UNAVAILABLE),
)
async def import_nsfp(
    body: NsfpImportIn, member: TaxManager, invoices: Invoices, db: TenantSession
) -> NsfpImportOut:
    rows = await invoices.import_nsfp(
        db, member.tenant_id, member.user_id, member.tenant.plan_code, body
    )
    return NsfpImportOut(data=rows)


@router.get(
    "/invoices/{invoice_id:uuid}",
    response_model=InvoiceDetail,
    summary="One invoice with its lines and applied payments",
    responses={
        **etag_response(200, "The invoice."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def get_invoice(
    invoice_id: uuid.UUID,
    member: InvoiceViewer,
    invoices: Invoices,
    db: TenantSession,
    response: Response,
) -> InvoiceDetail:
    invoice = await invoices.get(db, member.tenant_id, invoice_id)
    set_etag(response, invoice.version)
    return invoice


@router.patch(
    "/invoices/{invoice_id:uuid}",
    response_model=InvoiceDetail,
    summary="Change the due day or notes (If-Match; an exported invoice is 409 INVOICE_EXPORTED)",
    responses={
        **etag_response(200, "The changed invoice."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            INVOICE_EXPORTED,
            INVOICE_NOT_ISSUED,
        ),
    },
)
async def update_invoice(
    invoice_id: uuid.UUID,
    body: InvoiceUpdate,
    member: InvoiceManager,
    invoices: Invoices,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> InvoiceDetail:
    invoice = await invoices.update(
        db,
        member.tenant_id,
        member.user_id,
        invoice_id,
        body.model_dump(exclude_unset=True),
        expected_version=expected,
    )
    set_etag(response, invoice.version)
    return invoice


@router.post(
    "/invoices/{invoice_id:uuid}/issue",
    response_model=InvoiceDetail,
    summary="Issue a draft: its number INV/YYYY/NNNNNN and due day (Idempotency-Key honoured)",
    responses={
        **etag_response(200, "The issued invoice."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            INVALID_STATE_TRANSITION,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def issue_invoice(
    invoice_id: uuid.UUID,
    member: InvoiceManager,
    invoices: Invoices,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
    expected: IfMatch,
    response: Response,
) -> InvoiceDetail:
    invoice = await invoices.issue(
        db, central, member.tenant_id, member.user_id, invoice_id, expected_version=expected
    )
    set_etag(response, invoice.version)
    return invoice


@router.post(
    "/invoices/{invoice_id:uuid}/void",
    response_model=InvoiceDetail,
    summary="Void a draft or an unpaid issued invoice that was never exported",
    responses={
        **etag_response(200, "The void invoice."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            CONFLICT,
            INVALID_STATE_TRANSITION,
            INVOICE_EXPORTED,
            INVOICE_HAS_PAYMENTS,
        ),
    },
)
async def void_invoice(
    invoice_id: uuid.UUID,
    member: InvoiceManager,
    invoices: Invoices,
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> InvoiceDetail:
    invoice = await invoices.void(
        db, member.tenant_id, member.user_id, invoice_id, expected_version=expected
    )
    set_etag(response, invoice.version)
    return invoice


@router.post(
    "/invoices/{invoice_id:uuid}/replacement",
    status_code=status.HTTP_201_CREATED,
    response_model=InvoiceDetail,
    summary="Correct an issued (or exported) invoice by a replacement draft that references it "
    "(Idempotency-Key honoured)",
    responses={
        **etag_response(201, "The replacement (draft).", location="The replacement."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            INVOICE_NOT_ISSUED,
            ORDER_NOT_INVOICEABLE,
            FINAL_INVOICE_EXISTS,
            INVOICE_PAYMENT_EXCEEDS_BALANCE,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def replace_invoice(
    invoice_id: uuid.UUID,
    body: ReplacementIn,
    member: InvoiceManager,
    invoices: Invoices,
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> InvoiceDetail:
    invoice = await invoices.replace(db, member.tenant_id, member.user_id, invoice_id, body)
    response.headers["Location"] = request.url_for("get_invoice", invoice_id=str(invoice.id)).path
    set_etag(response, invoice.version)
    return invoice


@router.post(
    "/invoices/{invoice_id:uuid}/payments",
    response_model=InvoiceDetail,
    summary="Apply a payment: part of an order payment, or a new one recorded on the order "
    "(Idempotency-Key honoured)",
    responses={
        **etag_response(200, "The invoice with the payment applied."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            INVOICE_NOT_ISSUED,
            INVOICE_PAYMENT_EXCEEDS_BALANCE,
            ORDER_PAYMENT_ALREADY_APPLIED,
            ORDER_NOT_PAYABLE,
            PAYMENT_EXCEEDS_BALANCE,
            INVALID_STATE_TRANSITION,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def apply_payment(
    invoice_id: uuid.UUID,
    body: InvoicePaymentIn,
    member: InvoiceManager,
    invoices: Invoices,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
    response: Response,
) -> InvoiceDetail:
    invoice = await invoices.apply_payment(
        db, central, member.tenant_id, member.user_id, invoice_id, body
    )
    set_etag(response, invoice.version)
    return invoice


@router.get(
    "/invoices/{invoice_id:uuid}/pdf",
    summary="The printable invoice (PDF, id/en by `lang` or Accept-Language)",
    response_class=Response,
    responses={
        200: {"description": "The PDF.", "content": PDF},
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def invoice_pdf(
    invoice_id: uuid.UUID,
    member: InvoiceViewer,
    invoices: Invoices,
    db: TenantSession,
    lang: Annotated[
        Literal["id", "en"] | None,
        Query(description="The invoice's language (default: Accept-Language, else id)."),
    ] = None,
) -> Response:
    filename, content = await invoices.pdf(db, member.tenant_id, invoice_id, lang)
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get(
    "/invoices/{invoice_id:uuid}/coretax.xml",
    summary="The Coretax TaxInvoiceBulk XML of one invoice (checked first; plan feature "
    "`coretax_export`); it becomes immutable",
    response_class=Response,
    responses={
        200: {"description": "The XML file.", "content": XML},
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            PLAN_FEATURE_UNAVAILABLE,
            INVOICE_NOT_ISSUED,
            INVOICE_NOT_TAXABLE,
        ),
    },
)
async def invoice_coretax(
    invoice_id: uuid.UUID, member: TaxManager, invoices: Invoices, db: TenantSession
) -> Response:
    filename, content = await invoices.coretax_export(
        db, member.tenant_id, member.user_id, member.tenant.plan_code, [invoice_id], batch=False
    )
    return _attachment(filename, content, "application/xml")


@router.post(
    "/invoices/{invoice_id:uuid}/nsfp",
    response_model=InvoiceDetail,
    summary="Record the NSFP (17 digits) Coretax assigned to an exported invoice",
    responses={
        **etag_response(200, "The invoice with its NSFP."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            RESOURCE_NOT_FOUND,
            PLAN_FEATURE_UNAVAILABLE,
            INVOICE_NOT_EXPORTED,
            NSFP_ALREADY_SET,
            NSFP_TAKEN,
        ),
    },
)
async def set_nsfp(
    invoice_id: uuid.UUID,
    body: NsfpIn,
    member: TaxManager,
    invoices: Invoices,
    db: TenantSession,
    response: Response,
) -> InvoiceDetail:
    invoice = await invoices.set_nsfp(
        db, member.tenant_id, member.user_id, member.tenant.plan_code, invoice_id, body.nsfp
    )
    set_etag(response, invoice.version)
    return invoice
