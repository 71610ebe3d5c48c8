"""The invoicing service and the invoice list's page parameters for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.invoicing.service import InvoiceService


async def invoice_service(request: Request) -> InvoiceService:
    return cast(InvoiceService, app_services(request).invoices)


Invoices = Annotated[InvoiceService, Depends(invoice_service)]
InvoicePage = Annotated[PageParams, Depends(InvoiceService.invoice_keyset.params())]
