"""Imports every context module that registers events, listeners, tasks or error codes, so each
process (server, worker, CLI) sees the same registries."""

from __future__ import annotations


def register_contexts() -> None:
    import garment.central.auth.errors
    import garment.central.auth.jobs
    import garment.central.auth.listeners
    import garment.central.billing.errors
    import garment.central.billing.jobs
    import garment.central.billing.listeners
    import garment.central.clusters.errors
    import garment.central.tenancy.errors
    import garment.central.tenancy.jobs
    import garment.central.tenancy.listeners
    import garment.platform.housekeeping
    import garment.tenant.conventions.errors
    import garment.tenant.conventions.jobs
    import garment.tenant.customers.events
    import garment.tenant.invoicing.errors
    import garment.tenant.invoicing.events
    import garment.tenant.invoicing.listeners
    import garment.tenant.materials.errors
    import garment.tenant.orders.errors
    import garment.tenant.orders.events
    import garment.tenant.production.errors
    import garment.tenant.production.events
    import garment.tenant.products.errors
    import garment.tenant.tracking.errors
    import garment.tenant.tracking.events
    import garment.tenant.webhooks.errors
    import garment.tenant.webhooks.jobs
    import garment.tenant.webhooks.listeners  # noqa: F401
