"""What order costing reads from the contexts that own the figures (the runtime passes their
services in; no model crosses a boundary). Each returns that context's public schemas."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class OrderReader(Protocol):
    """Orders: the order with its lines, sizes, amounts, subtotal and discount (404 for an
    unknown or another tenant's order)."""

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> Any: ...


class CatalogueReader(Protocol):
    """Products: the design (its category) and its bill of materials."""

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> Any: ...

    async def get_bom(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> Any: ...


class MaterialReader(Protocol):
    """Materials: the unit and the standard `unit_cost`."""

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, material_id: uuid.UUID
    ) -> Any: ...


class ProductionReader(Protocol):
    """Production: what the order's jobs used, and the stages a design follows."""

    async def cost_facts(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> list[Any]: ...

    async def stages_for(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> list[str]: ...


class RateReader(Protocol):
    """Borongan wages: rupiah per accepted piece of each stage for a design."""

    async def piece_rates(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        stages: list[str],
        product_id: uuid.UUID,
        category_id: uuid.UUID | None,
    ) -> dict[str, int]: ...
