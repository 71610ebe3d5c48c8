"""The tenant's settings row on its cluster."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from garment.tenant.settings.repository import TenantSettingsRepository


@dataclass(frozen=True, slots=True)
class SalesPolicy:
    """How sales documents are settled: the down payment (a percent of the total or a fixed
    rupiah amount) and whether the tenant is PKP (charges PPN)."""

    down_payment_kind: str = "percent"
    down_payment_value: int = 50
    pkp: bool = False

    def down_payment_for(self, total: int) -> int:
        """The down payment an order of `total` rupiah asks for (rounded down to a rupiah,
        never more than the total)."""
        if self.down_payment_kind == "fixed":
            return min(total, self.down_payment_value)
        return total * self.down_payment_value // 100


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

    async def sales_policy(self, session: AsyncSession, tenant_id: uuid.UUID) -> SalesPolicy:
        row = await TenantSettingsRepository(session).get(tenant_id)
        if row is None:
            return SalesPolicy()
        return SalesPolicy(row.down_payment_kind, row.down_payment_value, row.pkp)

    async def business_name(self, session: AsyncSession, tenant_id: uuid.UUID) -> str:
        row = await TenantSettingsRepository(session).get(tenant_id)
        return row.name if row is not None else ""

    async def set_sales_policy(
        self, session: AsyncSession, tenant_id: uuid.UUID, policy: SalesPolicy
    ) -> SalesPolicy:
        row = await TenantSettingsRepository(session).get(tenant_id, for_update=True)
        if row is not None:
            row.down_payment_kind = policy.down_payment_kind
            row.down_payment_value = policy.down_payment_value
            row.pkp = policy.pkp
            await session.flush()
        return policy
