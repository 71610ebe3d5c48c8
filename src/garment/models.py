"""Imports every context's models so each metadata is complete (for Alembic and checks)."""

from __future__ import annotations

from sqlalchemy import MetaData

from garment.platform.db import CentralBase, TenantBase


def central_metadata() -> MetaData:
    import garment.central.auth.models
    import garment.central.billing.models
    import garment.central.clusters.models
    import garment.central.tenancy.models
    import garment.platform.events
    import garment.platform.supervisor  # noqa: F401  (process heartbeats)

    return CentralBase.metadata


def tenant_metadata() -> MetaData:
    import garment.tenant.audit.models
    import garment.tenant.authz.models
    import garment.tenant.conventions.models
    import garment.tenant.customers.models
    import garment.tenant.invoicing.models
    import garment.tenant.materials.models
    import garment.tenant.orders.models
    import garment.tenant.production.models
    import garment.tenant.products.models
    import garment.tenant.settings.models
    import garment.tenant.taxonomies.models
    import garment.tenant.tracking.models
    import garment.tenant.webhooks.models  # noqa: F401

    return TenantBase.metadata
