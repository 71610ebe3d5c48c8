"""The tenant's settings row on its cluster."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.tenant.settings.models import TenantSettings


async def ensure_settings(
    session: AsyncSession, tenant_id: uuid.UUID, *, slug: str, name: str, locale: str = "id"
) -> None:
    await session.execute(
        insert(TenantSettings)
        .values(tenant_id=tenant_id, slug=slug, name=name, locale=locale)
        .on_conflict_do_nothing(index_elements=[TenantSettings.tenant_id])
    )
