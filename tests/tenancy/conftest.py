"""Helpers for tenancy suites: provisioned tenants, tenant tokens, tenant requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from garment.central.tenancy.models import Tenant
from garment.central.tenancy.repository import TenantRepository
from garment.central.tenancy.states import BillingInterval, TenantStatus
from garment.runtime import Runtime
from tests.auth.conftest import TestUser, bearer, login, make_user


@dataclass
class TenantSetup:
    __test__ = False

    tenant_id: uuid.UUID
    slug: str
    cluster: str
    owner: TestUser
    session: dict[str, Any]
    token: str

    def headers(self, token: str | None = None, tenant: str | None = None) -> dict[str, str]:
        return {**bearer(token or self.token), "X-Tenant-ID": tenant or str(self.tenant_id)}


async def create_tenant(
    runtime: Runtime, owner: TestUser, *, cluster: str | None = None, plan: str = "growth"
) -> Tenant:
    """A provisioned tenant, built through the service and the pipeline (no worker needed)."""
    slug = f"konveksi-{uuid.uuid4().hex[:10]}"
    async with runtime.central.transaction() as session:
        account = await runtime.auth.accounts.get(session, owner.id)
        assert account is not None
        created = await runtime.tenancy.create_tenant(
            session,
            owner=account,
            name=f"Konveksi {slug[-4:]}",
            slug=slug,
            plan_code=plan,
            billing_interval=BillingInterval.MONTHLY,
        )
        if cluster is not None:
            tenant = await TenantRepository(session).get(created.id)
            assert tenant is not None
            tenant.cluster_key = cluster
    status = await runtime.provisioning.run(created.id)
    assert status is TenantStatus.ACTIVE
    async with runtime.central.transaction() as session:
        stored = await TenantRepository(session).get(created.id)
        assert stored is not None
    return stored


async def select_tenant(client: httpx.AsyncClient, access_token: str, tenant_id: uuid.UUID) -> str:
    response = await client.post(
        "/api/v1/auth/tenant-token",
        json={"tenant_id": str(tenant_id)},
        headers=bearer(access_token),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def tenant_setup(
    runtime: Runtime,
    client: httpx.AsyncClient,
    *,
    cluster: str | None = None,
    owner: TestUser | None = None,
) -> TenantSetup:
    owner = owner or await make_user(runtime)
    tenant = await create_tenant(runtime, owner, cluster=cluster)
    session = await login(client, owner)
    token = await select_tenant(client, session["access_token"], tenant.id)
    assert tenant.cluster_key is not None
    return TenantSetup(tenant.id, tenant.slug, tenant.cluster_key, owner, session, token)
