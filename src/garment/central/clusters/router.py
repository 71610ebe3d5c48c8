"""Platform-admin view of clusters and tenants (`/api/v1/admin/*`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from garment.central.auth.dependencies import AUTHENTICATION_ERRORS, PlatformAdmin
from garment.central.clusters.probe import probe_cluster
from garment.central.clusters.service import ClusterService
from garment.central.tenancy.service import describe_tenant
from garment.platform.errors import PERMISSION_DENIED
from garment.platform.http.dependencies import CentralSession, RuntimeDep
from garment.platform.http.openapi import error_responses

router = APIRouter(prefix="/admin", tags=["admin"])


class ClusterOut(BaseModel):
    key: str
    status: str
    capacity: int
    region: str | None
    configured: bool
    tenants: int
    breaker: str


class ClusterList(BaseModel):
    data: list[ClusterOut]


class AdminTenantList(BaseModel):
    data: list[dict[str, Any]]


@router.get(
    "/clusters",
    response_model=ClusterList,
    summary="Cluster registry joined with configuration (platform admins)",
    responses=error_responses(*AUTHENTICATION_ERRORS, PERMISSION_DENIED),
)
async def list_clusters(
    admin: PlatformAdmin, runtime: RuntimeDep, session: CentralSession
) -> ClusterList:
    manager = runtime.cluster_manager
    counts = await runtime.tenancy.tenant_counts(session)
    rows = await ClusterService().rows(session, set(manager.configured_keys()))
    return ClusterList(
        data=[
            ClusterOut(
                key=row.key,
                status=row.status,
                capacity=row.capacity,
                region=row.region,
                configured=row.configured,
                tenants=counts.get(row.key, 0),
                breaker=manager.breaker(row.key).state,
            )
            for row in rows
        ]
    )


@router.get(
    "/clusters/{key}/probe",
    summary="Probe one cluster: reachability, migrations, RLS and role safety",
    responses=error_responses(*AUTHENTICATION_ERRORS, PERMISSION_DENIED),
)
async def probe(
    key: str, admin: PlatformAdmin, runtime: RuntimeDep, session: CentralSession
) -> dict[str, Any]:
    counts = await runtime.tenancy.tenant_counts(session)
    result = await probe_cluster(runtime.cluster_manager, key, counts.get(key, 0))
    return result.as_dict()


@router.get(
    "/tenants",
    response_model=AdminTenantList,
    summary="Tenants across the platform (platform admins)",
    responses=error_responses(*AUTHENTICATION_ERRORS, PERMISSION_DENIED),
)
async def list_tenants(
    admin: PlatformAdmin,
    runtime: RuntimeDep,
    session: CentralSession,
    status: Annotated[str | None, Query(max_length=32)] = None,
    cluster: Annotated[str | None, Query(max_length=63)] = None,
) -> AdminTenantList:
    tenants = await runtime.tenancy.list_tenants(session, status=status, cluster=cluster)
    return AdminTenantList(data=[describe_tenant(tenant) for tenant in tenants])
