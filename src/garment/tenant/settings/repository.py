"""Queries over the tenant's settings row."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert

from garment.platform.repository import Repository
from garment.tenant.settings.models import TenantSettings


class TenantSettingsRepository(Repository[TenantSettings]):
    model = TenantSettings

    async def insert_if_missing(
        self, tenant_id: uuid.UUID, *, slug: str, name: str, locale: str
    ) -> None:
        await self.session.execute(
            insert(TenantSettings)
            .values(tenant_id=tenant_id, slug=slug, name=name, locale=locale)
            .on_conflict_do_nothing(index_elements=[TenantSettings.tenant_id])
        )
