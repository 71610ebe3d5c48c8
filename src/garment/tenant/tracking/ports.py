"""What tracking needs from the rest of the system, as protocols the composition root fills in:
the tenant registry and the clusters (to find a token's tenant without a tenant header), and
the orders, production, catalogue and settings services (to compose the page). No other
context's models cross this boundary: only their public schemas."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.tenancy.service import TenantRef
from garment.platform.pagination import PageParams
from garment.tenant.orders.schemas import DeliveryOut, OrderDetail
from garment.tenant.production.schemas import JobDetail, JobOut, RoutingOut


class TenantDirectory(Protocol):
    async def tenant_ref(self, tenant_id: uuid.UUID) -> TenantRef | None:
        """The tenant registry row (cached), None for an unknown id."""
        ...


class TenantSessions(Protocol):
    def tenant_transaction(
        self, key: str, tenant_id: uuid.UUID
    ) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction on the cluster `key`, bound to the tenant by RLS."""
        ...


class OrderSource(Protocol):
    async def order_status(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> Any:
        """The order's status; 404 for an unknown (or another tenant's) order."""
        ...

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> OrderDetail: ...

    async def list_deliveries(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        order_id: uuid.UUID | None,
        page: PageParams,
    ) -> tuple[list[DeliveryOut], str | None]: ...


class ProgressSource(Protocol):
    """The production ledger as tracking reads it: the order's jobs and their counters."""

    async def list_jobs(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        order_id: uuid.UUID | None,
        status: Any,
        page: PageParams,
    ) -> tuple[list[JobOut], str | None]: ...

    async def get_job(
        self, session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID
    ) -> JobDetail: ...

    async def list_routings(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> Sequence[RoutingOut]: ...


class ProductNames(Protocol):
    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, product_id: uuid.UUID
    ) -> Any: ...


class BusinessNames(Protocol):
    async def business_name(self, session: AsyncSession, tenant_id: uuid.UUID) -> str: ...
