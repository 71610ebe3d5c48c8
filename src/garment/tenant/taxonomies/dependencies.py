"""The taxonomy service for routers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from garment.platform.http.dependencies import app_services
from garment.platform.pagination import PageParams
from garment.tenant.taxonomies.service import TaxonomyService


async def taxonomy_service(request: Request) -> TaxonomyService:
    return cast(TaxonomyService, app_services(request).taxonomies)


Taxonomies = Annotated[TaxonomyService, Depends(taxonomy_service)]
# `limit` and `cursor` of the term list; the cursor's schema is the list's exact format.
TermPage = Annotated[PageParams, Depends(TaxonomyService.keyset.params())]
