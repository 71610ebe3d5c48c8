"""The tenant's settings row on its cluster."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from garment.tenant.settings.repository import TenantSettingsRepository


class TenantSettingsService:
    async def ensure(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        slug: str,
        name: str,
        locale: str = "id",
    ) -> None:
        """Create the settings row of a new tenant (provisioning); re-running changes nothing."""
        await TenantSettingsRepository(session).insert_if_missing(
            tenant_id, slug=slug, name=name, locale=locale
        )
