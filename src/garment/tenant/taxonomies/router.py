"""Taxonomy terms on the Tenant API (categories, sizes, colours, materials, collections)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from garment.platform.errors import VALIDATION_FAILED
from garment.platform.http.openapi import error_responses
from garment.platform.pagination import PageMeta
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)
from garment.tenant.taxonomies.dependencies import Taxonomies, TermPage
from garment.tenant.taxonomies.schemas import TermList, TermOut

router = APIRouter(prefix="/tenant/taxonomies", tags=["tenant"])

TaxonomyViewer = Annotated[TenantMember, Depends(RequirePermission("taxonomies.view"))]


@router.get(
    "",
    response_model=TermList,
    summary="The tenant's taxonomy terms in picker order (type, then position)",
    responses=error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED),
)
async def list_terms(
    member: TaxonomyViewer,
    taxonomies: Taxonomies,
    db: TenantSession,
    page: TermPage,
    type: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^[a-z][a-z0-9_-]*$",
            description="Only this type: category, size, color, material, collection, …",
        ),
    ] = None,
    archived: Annotated[bool, Query(description="Include archived terms.")] = False,
) -> TermList:
    terms, cursor = await taxonomies.list_terms(
        db, member.tenant_id, term_type=type, include_archived=archived, page=page
    )
    return TermList(
        data=[TermOut.model_validate(term) for term in terms],
        meta=PageMeta(next_cursor=cursor, limit=page.limit),
    )
