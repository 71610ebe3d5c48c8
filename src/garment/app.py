"""`create_app()`: routers, the middleware chain and the lifespan of the HTTP process."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig

from garment import __version__
from garment.central.auth import router as auth_router
from garment.central.billing import router as billing_router
from garment.central.billing.service import PlanCatalogue
from garment.central.tenancy import router as tenancy_router
from garment.config import Settings, get_settings
from garment.platform import health, meta
from garment.platform.diagnostics import install_task_dump
from garment.platform.http.dispatch import StaticRoutes
from garment.platform.http.fastlane import FastLane, Lane
from garment.platform.http.handlers import install_exception_handlers
from garment.platform.http.middleware import REQUEST_ID_HEADER, RequestContextMiddleware
from garment.platform.http.openapi import install_openapi
from garment.platform.http.routing import Router
from garment.platform.logging import configure_logging
from garment.runtime import Runtime
from garment.tenant.audit import router as tenant_audit_router
from garment.tenant.authz import router as tenant_authz_router
from garment.tenant.context import TENANT_HEADER
from garment.tenant.costing import router as tenant_costing_router
from garment.tenant.customers import router as tenant_customers_router
from garment.tenant.invoicing import router as tenant_invoicing_router
from garment.tenant.materials import router as tenant_materials_router
from garment.tenant.members import router as tenant_members_router
from garment.tenant.orders import router as tenant_orders_router
from garment.tenant.production import router as tenant_production_router
from garment.tenant.products import router as tenant_products_router
from garment.tenant.taxonomies import router as tenant_taxonomies_router
from garment.tenant.tracking import router as tenant_tracking_router
from garment.tenant.webhooks import router as tenant_webhooks_router

API_PREFIX = "/api/v1"

DESCRIPTION = """
Garment.id platform API: central auth, billing and tenancy (Core API) and the tenant runtime
(Tenant API, `/api/v1/tenant/*`).

Every error is `application/problem+json` with a stable `code` and the `request_id` that equals the
`X-Request-ID` response header. Send `Accept-Language: en` for English messages (Indonesian is
the default). The error catalogue is at `GET /api/v1/meta/errors`.
"""


def api_routers() -> list[Router]:
    """Every router of `/api/v1` in the order a request is matched against them: the provider
    webhook ingress first (one route, which must answer fast under a burst of deliveries:
    bench/README.md), then `/auth` (token refresh is the most frequent write: every client
    refreshes every few minutes), then the Tenant API, which carries most of the traffic. Each
    router ahead of a request's own costs it a prefix test (`Router`, ADR 0023)."""
    return [
        billing_router.webhook_router,
        auth_router.router,
        tenant_authz_router.router,
        tenant_authz_router.roles_router,
        tenant_taxonomies_router.router,
        tenant_products_router.router,
        tenant_products_router.tiers_router,
        tenant_materials_router.router,
        tenant_members_router.router,
        billing_router.tenant_router,
        tenant_customers_router.router,
        tenant_costing_router.router,  # /orders/{id}/costing: before the orders router
        tenant_orders_router.router,
        tenant_orders_router.quotations_router,
        tenant_orders_router.deliveries_router,
        tenant_orders_router.settings_router,
        tenant_tracking_router.router,
        tenant_invoicing_router.router,
        tenant_production_router.router,
        tenant_production_router.makloon_router,
        tenant_production_router.wages_router,
        tenant_webhooks_router.router,
        tenant_webhooks_router.event_types_router,
        tenant_audit_router.router,
        # The customer's tracking view: public, its tenant named by the token (ADR 0018).
        tenant_tracking_router.public_router,
        billing_router.router,
        tenancy_router.router,
        auth_router.admin_router,
        tenancy_router.admin_router,
        billing_router.admin_router,
        meta.router,
    ]


NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    background: bool | None = None,
    announce: bool = False,
    listen: tuple[str, int] | None = None,
    lanes: bool = True,
) -> FastAPI:
    """The ASGI application.

    With `runtime` (tests, benchmarks) the caller owns it; otherwise the lifespan creates one from
    `settings`, starting the embedded PostgreSQL when no database is configured, and closes it
    (stopping that PostgreSQL) on shutdown. `background` runs the outbox relay and a job worker in
    this process; it defaults to `jobs.in_process_worker`. `lanes=False` leaves every request to
    FastAPI's routes: for the tests that prove each fast lane answers as its route does.
    """
    settings = settings or (runtime.settings if runtime else get_settings())
    run_background = settings.jobs.in_process_worker if background is None else background

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        if owned:
            install_task_dump()
        active = runtime or await Runtime.create(settings)
        app.state.runtime = active
        if owned and run_background:
            active.start_background(worker=True)
        if announce:
            print_welcome(active, listen or (settings.http.host, settings.http.port))
        if owned:
            freeze_startup_heap()
        try:
            yield
        finally:
            if owned:
                await active.close()

    app = FastAPI(
        title="Garment.id API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        # Our metrics are Prometheus (`/metrics`, chapter 10); FastAPI's OpenTelemetry
        # instrumentation would ask on every request whether a provider is configured.
        telemetry=NO_TELEMETRY,
    )
    if runtime is not None:
        app.state.runtime = runtime
    install_exception_handlers(app)
    # Included one level deep (not through an `/api/v1` router of routers): each level of
    # nesting costs a route-matching pass on every request.
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(tenant_tracking_router.page_router)
    app.include_router(billing_router.sandbox_router)
    app.include_router(auth_router.jwks_router)
    # Fixed-path routes skip FastAPI's route matching (ADR 0027); inside FastAPI's exception and
    # exit-stack middlewares, where its own matching runs.
    app.router.middleware_stack = StaticRoutes(app.router.middleware_stack, app.router)
    # Innermost of our middleware: its answers pass through CORS and the request context.
    if lanes:
        app.add_middleware(FastLane, lanes=fast_lanes())
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        trusted_proxies=settings.http.trusted_proxies,
        max_body_bytes=settings.http.max_body_bytes,
        self_limited_prefixes=(f"{API_PREFIX}{billing_router.WEBHOOK_PATH_PREFIX}",),
        secret_path_prefixes=tenant_tracking_router.SECRET_PATH_PREFIXES,
    )
    install_openapi(app, rules=contract_rules(settings), required_headers={TENANT_HEADER})
    return app


def fast_lanes() -> dict[tuple[str, str], Lane]:
    """The routes answered ahead of FastAPI when they can be (ADR 0026), each with its route
    (for its metrics and request log)."""
    handlers = {("GET", "/tenant/me"): tenant_authz_router.me_lane}
    lanes: dict[tuple[str, str], Lane] = {}
    for route in tenant_authz_router.router.routes:
        assert isinstance(route, APIRoute)
        for method in route.methods or ():
            handler = handlers.get((method, route.path))
            if handler is not None:
                lanes[(method, API_PREFIX + route.path)] = Lane(handler, route)
    assert len(lanes) == len(handlers), "a fast lane without its route"
    return lanes


def freeze_startup_heap() -> None:
    """Move everything alive after startup (the application, its routes and schemas, the
    models' metadata, the imported modules) out of the collector's reach. A full collection
    otherwise walks all of it and stopped the event loop for about 270 ms every few seconds
    under load, the p99 of every route; frozen, about 40 ms (bench/README.md, webhook ingest).
    Only for a server process that owns its runtime: a test process creating many apps would
    keep each one for ever."""
    gc.collect()
    gc.freeze()


def contract_rules(settings: Settings) -> dict[str, dict[str, Any]]:
    """The request constraints the schema classes leave to the composition root, read from the
    sources the services validate against (ADR 0012)."""
    return {
        "password": {
            "minLength": settings.auth.password_min_length,
            "maxLength": settings.auth.password_max_length,
        },
        "plan_code": {"enum": PlanCatalogue().codes()},
        # Custom roles exist (`/tenant/roles`): the key's pattern is the schema's; whether a
        # role of that key exists depends on the tenant, like a 404.
        "role_key": {},
    }


def print_welcome(runtime: Runtime, listen: tuple[str, int]) -> None:
    """Tell a newcomer where to go (printed once the server is ready to serve)."""
    settings = runtime.settings
    host, port = listen
    base = f"http://{host}:{port}"
    lines = [
        "",
        "Garment.id is running.",
        f"  API docs      {base}/docs",
        f"  Readiness     {base}/readyz",
        f"  Error codes   {base}{API_PREFIX}/meta/errors",
    ]
    if runtime.embedded is not None:
        lines.append(f"  Database      embedded PostgreSQL in {runtime.embedded.pgdata}")
    if settings.mail.backend.value == "file":
        lines.append(f"  Mail          files in {settings.mail_directory.resolve()}")
    lines.extend(runtime.announcements)
    lines.append("  Stop          Ctrl-C (stops the embedded PostgreSQL too)")
    print("\n".join(lines) + "\n", flush=True)


def create_app_from_env() -> FastAPI:
    """uvicorn factory entry point (`uvicorn --factory garment.app:create_app_from_env`)."""
    settings = get_settings()
    configure_logging(settings.log)
    return create_app(settings)
