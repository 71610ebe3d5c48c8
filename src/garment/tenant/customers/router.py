"""Customers on the Tenant API (`customers.view`, `customers.manage`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from garment.platform.errors import CONFLICT, RESOURCE_NOT_FOUND, VALIDATION_FAILED
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
from garment.tenant.customers.dependencies import CustomerPage, Customers
from garment.tenant.customers.schemas import (
    CustomerCreate,
    CustomerList,
    CustomerOut,
    CustomerUpdate,
)
from garment.tenant.customers.states import CustomerSort, CustomerType

router = Router(prefix="/tenant/customers", tags=["tenant"], route_class=ConventionRoute)

CustomerViewer = Annotated[TenantMember, Depends(RequirePermission("customers.view"))]
CustomerManager = Annotated[TenantMember, Depends(RequirePermission("customers.manage"))]


@router.get(
    "",
    response_model=CustomerList,
    summary="Customers, by name or newest first; search by name, filter by type",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_customers(
    member: CustomerViewer,
    customers: Customers,
    db: TenantSession,
    page: CustomerPage,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Part of the name.")
    ] = None,
    type: Annotated[CustomerType | None, Query(description="Only this customer type.")] = None,
    archived: Annotated[bool, Query(description="Include archived customers.")] = False,
    sort: Annotated[CustomerSort, Query(description="`name` (A-Z) or `-created_at`.")] = (
        CustomerSort.NAME
    ),
) -> CustomerList:
    rows, cursor = await customers.list_customers(
        db,
        member.tenant_id,
        sort=sort,
        search=q,
        customer_type=type,
        include_archived=archived,
        page=page,
    )
    return CustomerList(
        data=[CustomerOut.model_validate(row) for row in rows],
        meta=PageMeta(next_cursor=cursor, limit=page.limit),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CustomerOut,
    summary="Create a customer (Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created.", location="The new customer."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, *IDEMPOTENCY_ERRORS),
    },
)
async def create_customer(
    body: CustomerCreate,
    member: CustomerManager,
    customers: Customers,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> CustomerOut:
    customer = await customers.create(
        db, central, member.tenant_id, member.user_id, body.model_dump()
    )
    response.headers["Location"] = request.url_for(
        "get_customer", customer_id=str(customer.id)
    ).path
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)


@router.get(
    "/{customer_id}",
    response_model=CustomerOut,
    summary="One customer (its ETag is its version)",
    responses={
        **etag_response(200, "The customer."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def get_customer(
    customer_id: uuid.UUID,
    member: CustomerViewer,
    customers: Customers,
    db: TenantSession,
    response: Response,
) -> CustomerOut:
    customer = await customers.get(db, member.tenant_id, customer_id)
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)


@router.patch(
    "/{customer_id}",
    response_model=CustomerOut,
    summary="Change a customer (If-Match: a stale version is 409 and changes nothing)",
    responses={
        **etag_response(200, "The changed customer."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT),
    },
)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerUpdate,
    member: CustomerManager,
    customers: Customers,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> CustomerOut:
    customer = await customers.update(
        db,
        central,
        member.tenant_id,
        member.user_id,
        customer_id,
        body.model_dump(exclude_unset=True),
        expected_version=expected,
    )
    set_etag(response, customer.version)
    return CustomerOut.model_validate(customer)


@router.delete(
    "/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Archive a customer (PATCH `archived: false` restores it)",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT
    ),
)
async def archive_customer(
    customer_id: uuid.UUID,
    member: CustomerManager,
    customers: Customers,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    expected: IfMatch,
) -> Response:
    await customers.archive(
        db, central, member.tenant_id, member.user_id, customer_id, expected_version=expected
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
