"""Taxonomy terms on the Tenant API (categories, sizes, colours, materials, collections):
`taxonomies.view` to read, `taxonomies.manage` to write."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from garment.platform.errors import CONFLICT, RESOURCE_NOT_FOUND, VALIDATION_FAILED
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import error_responses
from garment.platform.http.routing import Router
from garment.platform.http.rows import RowsJson
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantReader,
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
from garment.tenant.taxonomies.dependencies import Taxonomies, TermPage
from garment.tenant.taxonomies.errors import TAXONOMY_CODE_TAKEN
from garment.tenant.taxonomies.schemas import (
    TermCreate,
    TermList,
    TermOut,
    TermUpdate,
)

router = Router(prefix="/tenant/taxonomies", tags=["tenant"], route_class=ConventionRoute)

# The list's rows go out by `TermList`'s schema without becoming models (rows.py).
TERM_LIST_JSON = RowsJson(TermList)
TaxonomyViewer = Annotated[TenantMember, Depends(RequirePermission("taxonomies.view"))]
TaxonomyManager = Annotated[TenantMember, Depends(RequirePermission("taxonomies.manage"))]


@router.get(
    "",
    response_model=TermList,
    summary="The tenant's taxonomy terms in picker order (type, then position)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_terms(
    member: TaxonomyViewer,
    taxonomies: Taxonomies,
    db: TenantReader,
    page: TermPage,
    type: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^[a-z][a-z0-9_-]*$",
            description="Only this type: category, size, color, material, collection, …",
        ),
    ] = None,
    parent_id: Annotated[
        uuid.UUID | None, Query(description="Only the direct children of this term.")
    ] = None,
    archived: Annotated[bool, Query(description="Include archived terms.")] = False,
) -> Response:
    terms, cursor = await taxonomies.list_terms(
        db,
        member.tenant_id,
        term_type=type,
        parent_id=parent_id,
        include_archived=archived,
        page=page,
    )
    return TERM_LIST_JSON.response(
        {"data": terms, "meta": {"next_cursor": cursor, "limit": page.limit}}
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TermOut,
    summary="Create a taxonomy term (Idempotency-Key honoured)",
    responses={
        **etag_response(201, "Created.", location="The new term."),
        **error_responses(
            *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, TAXONOMY_CODE_TAKEN, *IDEMPOTENCY_ERRORS
        ),
    },
)
async def create_term(
    body: TermCreate,
    member: TaxonomyManager,
    taxonomies: Taxonomies,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    idempotency: Idempotent,
    request: Request,
    response: Response,
) -> TermOut:
    term = await taxonomies.create(db, central, member.tenant_id, member.user_id, body.model_dump())
    response.headers["Location"] = request.url_for("get_term", term_id=str(term.id)).path
    set_etag(response, term.version)
    return TermOut.model_validate(term)


@router.get(
    "/{term_id:uuid}",
    response_model=TermOut,
    summary="One taxonomy term, archived ones too (its ETag is its version)",
    responses={
        **etag_response(200, "The term."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND),
    },
)
async def get_term(
    term_id: uuid.UUID,
    member: TaxonomyViewer,
    taxonomies: Taxonomies,
    db: TenantSession,
    response: Response,
) -> TermOut:
    term = await taxonomies.get(db, member.tenant_id, term_id)
    set_etag(response, term.version)
    return TermOut.model_validate(term)


@router.patch(
    "/{term_id:uuid}",
    response_model=TermOut,
    summary="Change a term's labels, parent, position or archived flag (If-Match: a stale "
    "version is 409 and changes nothing)",
    responses={
        **etag_response(200, "The changed term."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT),
    },
)
async def update_term(
    term_id: uuid.UUID,
    body: TermUpdate,
    member: TaxonomyManager,
    taxonomies: Taxonomies,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    expected: IfMatch,
    response: Response,
) -> TermOut:
    term = await taxonomies.update(
        db,
        central,
        member.tenant_id,
        member.user_id,
        term_id,
        body.model_dump(exclude_unset=True),
        expected_version=expected,
    )
    set_etag(response, term.version)
    return TermOut.model_validate(term)


@router.delete(
    "/{term_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Archive a term (never deleted: products keep the terms they name; PATCH "
    "`archived: false` restores it)",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT
    ),
)
async def archive_term(
    term_id: uuid.UUID,
    member: TaxonomyManager,
    taxonomies: Taxonomies,
    central: CentralSession,  # before the tenant session: the cluster commits first
    db: TenantSession,
    expected: IfMatch,
) -> Response:
    """DELETE archives instead of removing the row: product rows reference terms by key and
    must keep existing; an archived term leaves the pickers (the list without `archived=true`)
    and cannot be chosen for a product any more. Children are left as they are."""
    await taxonomies.archive(
        db, central, member.tenant_id, member.user_id, term_id, expected_version=expected
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
