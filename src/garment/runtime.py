"""The composition root: everything a process (server, worker, CLI command) holds for its life.

`Runtime.create()` resolves where the databases are (starting the embedded PostgreSQL when
nothing is configured), migrates when asked, and builds every service exactly once, each with
its collaborators passed in: no service looks another one up, and no context imports this
module. Routers reach the services through their context's `dependencies.py`, jobs through
`JobContext.services` and listeners through `ListenerContext.services` (this object).
Background loops (relay, worker) start only when the process wants them.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog

from garment.central.auth.component import AuthComponents
from garment.central.auth.service import AuthService
from garment.central.billing.providers.registry import ProviderRegistry
from garment.central.billing.service import (
    BillingReport,
    BillingService,
    BillingWebhookForensicService,
    DunningService,
    PlanCatalogue,
    Reconciler,
)
from garment.central.clusters.service import ClusterConnectionManager, ClusterService
from garment.central.clusters.states import BreakerState
from garment.central.tenancy.mover import TenantMover
from garment.central.tenancy.provisioning import ProvisioningPipeline
from garment.central.tenancy.service import MembershipDirectory, TenancyService
from garment.config import Settings
from garment.contexts import register_contexts
from garment.demo import DemoCatalogue, DemoInvoicing, DemoProduction, DemoSales, DemoSeed
from garment.models import tenant_metadata
from garment.platform import jobs as jobs_module
from garment.platform.cache import InvalidationBus
from garment.platform.db import Database, PoolOptions, create_engine, pool_stats
from garment.platform.dbsetup import (
    EMBEDDED_LAYOUT,
    Targets,
    ensure_layout,
    targets_for_layout,
    targets_from_settings,
)
from garment.platform.embedded import EmbeddedPostgres
from garment.platform.events import OutboxRelay, RelayOptions, events, outbox_backlog
from garment.platform.jobs import JobQueue, WorkerOptions
from garment.platform.mail.mailer import Mailer, create_mailer
from garment.platform.measurements import export_measurements
from garment.platform.metrics import (
    BILLING_WEBHOOK_RECEIPTS_STORED,
    CLUSTER_BREAKER_OPEN,
    DB_POOL,
    JOBS,
    OUTBOX_EVENTS,
    MetricsExporter,
)
from garment.platform.migrations import migrate_all
from garment.platform.ratelimit import RateLimiter
from garment.platform.secretbox import SecretBox, master_key
from garment.platform.supervisor import JOB_WORKER, OUTBOX_RELAY, Supervisor
from garment.platform.token_hashing import TokenHasher, derive_hash_key
from garment.tenant.audit.service import AuditService
from garment.tenant.authz.service import RoleService
from garment.tenant.conventions.service import Entitlements, IdempotencyService
from garment.tenant.costing.service import CostingService
from garment.tenant.customers.service import CustomerService
from garment.tenant.invoicing.service import InvoiceService, TaxRules
from garment.tenant.materials.service import MaterialService
from garment.tenant.members.service import MemberService
from garment.tenant.orders.service import OrderService
from garment.tenant.production.gateway import OrdersGateway
from garment.tenant.production.makloon import MakloonService
from garment.tenant.production.service import ProductionService
from garment.tenant.production.stream import StreamHub
from garment.tenant.production.wages import WageService
from garment.tenant.products.service import ProductService
from garment.tenant.settings.service import TenantSettingsService
from garment.tenant.taxonomies.service import TaxonomyService
from garment.tenant.tracking.service import TrackingLimits, TrackingService
from garment.tenant.webhooks.delivery import WebhookSender, private_targets_allowed
from garment.tenant.webhooks.service import WebhookService

logger = structlog.get_logger(__name__)


class EmbeddedNotRunning(RuntimeError):
    """An operator command found the embedded PostgreSQL stopped and did not start it."""


async def resolve_targets(
    settings: Settings, *, start_embedded: bool = True, create_layout: bool = True
) -> tuple[Targets, EmbeddedPostgres | None]:
    """Where the databases are; starts (or attaches to) the embedded server when unconfigured.
    With `start_embedded=False` a stopped embedded server stays stopped (an operator command
    must not end the outage it investigates); `create_layout=False` only computes the URLs."""
    if not settings.uses_embedded_database:
        return targets_from_settings(settings), None
    embedded = EmbeddedPostgres(settings.data_dir / "pgdata")
    if not start_embedded and not embedded.server_is_up():
        raise EmbeddedNotRunning(str(embedded.pgdata))
    superuser_url = await asyncio.to_thread(embedded.start)
    if not create_layout:
        return targets_for_layout(superuser_url, EMBEDDED_LAYOUT), embedded
    try:
        targets = await asyncio.to_thread(ensure_layout, superuser_url, EMBEDDED_LAYOUT)
    except BaseException:
        await asyncio.to_thread(embedded.stop)
        raise
    return targets, embedded


class UnsafeConfiguration(RuntimeError):
    pass


def token_hasher_for(settings: Settings, secret: str) -> TokenHasher:
    """The configured hashing keys, or one derived from the key-encryption key."""
    configured = [key.get_secret_value().encode() for key in settings.auth.token_hash_keys]
    return TokenHasher(
        configured or [derive_hash_key(secret)],
        accept_legacy=settings.auth.accept_legacy_token_hashes,
    )


class Runtime:
    def __init__(
        self, settings: Settings, targets: Targets, *, embedded: EmbeddedPostgres | None = None
    ) -> None:
        register_contexts()
        self.settings = settings
        self.targets = targets
        self.embedded = embedded
        pool = PoolOptions(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        # --- infrastructure ------------------------------------------------------------------
        self.central = Database("central", create_engine(targets.central.app_url, pool))
        self.cluster_manager = ClusterConnectionManager(targets.clusters, pool)
        # Cache invalidations reach every process (LISTEN/NOTIFY on central); this process
        # applies its own right after each commit, on central and on every cluster.
        self.invalidations = InvalidationBus(targets.central.app_url)
        self.central.after_commit_hooks.append(self.invalidations.after_commit)
        self.cluster_manager.after_commit_hooks.append(self.invalidations.after_commit)
        self.mailer: Mailer = create_mailer(settings.mail, settings.mail_directory)
        self.limiter = RateLimiter(settings.rate_limit)
        secret = master_key(settings)
        self.token_hasher = token_hasher_for(settings, secret)
        self.jobs = JobQueue(
            targets.central.app_url,
            jobs_module.tasks,
            services=self,
            options=WorkerOptions(
                heartbeat_timeout=timedelta(seconds=settings.jobs.heartbeat_timeout_seconds),
                dequeue_timeout=timedelta(seconds=settings.jobs.dequeue_timeout_seconds),
            ),
        )
        # --- services, each built once with its collaborators ---------------------------------
        self.plans = PlanCatalogue(self.central, self.invalidations)
        self.payment_providers = ProviderRegistry.from_settings(settings)
        self.cluster_registry = ClusterService(self.cluster_manager)
        self.entitlements = Entitlements(self.plans, self.invalidations)
        self.roles = RoleService(self.invalidations, self.cluster_manager, self.entitlements)
        self.tenant_settings = TenantSettingsService()
        self.taxonomies = TaxonomyService()
        self.idempotency = IdempotencyService()
        self.audit = AuditService(self.entitlements)
        self.materials = MaterialService()
        self.products = ProductService(
            entitlements=self.entitlements, taxonomies=self.taxonomies, materials=self.materials
        )
        self.customers = CustomerService()
        self.webhooks = WebhookService(
            settings.webhooks,
            box=SecretBox(secret, "webhook-secrets"),
            entitlements=self.entitlements,
            jobs=self.jobs,
            sender=WebhookSender(
                settings.webhooks, allow_private=private_targets_allowed(settings)
            ),
            allow_private=private_targets_allowed(settings),
        )
        self.tax_rules = TaxRules()
        self.orders = OrderService(
            entitlements=self.entitlements,
            products=self.products,
            customers=self.customers,
            settings=self.tenant_settings,
            tax_rules=self.tax_rules,
        )
        self.products.usage = self.orders  # a referenced design is archived, never deleted
        self.invoices = InvoiceService(
            orders=self.orders,
            customers=self.customers,
            products=self.products,
            settings=self.tenant_settings,
            entitlements=self.entitlements,
            tax_rules=self.tax_rules,
        )
        self.production_stream = StreamHub(self.invalidations)
        self.production = ProductionService(
            products=self.products,
            materials=self.materials,
            taxonomies=self.taxonomies,
            hub=self.production_stream,
            orders=OrdersGateway(self.orders),
        )
        self.makloon = MakloonService(self.production)
        self.wages = WageService(self.products)
        self.costing = CostingService(
            orders=self.orders,
            products=self.products,
            materials=self.materials,
            production=self.production,
            wages=self.wages,
        )
        directory = MembershipDirectory(self.central)
        self.auth = AuthService(
            AuthComponents.build(
                settings,
                self.central,
                self.limiter,
                master_key=secret,
                token_hasher=self.token_hasher,
                invalidations=self.invalidations,
            ),
            tenant_directory=directory,
            invalidations=self.invalidations,
        )
        self.tenancy = TenancyService(
            auth=self.auth,
            clusters=self.cluster_registry,
            plans=self.plans,
            jobs=self.jobs,
            hasher=self.token_hasher,
            directory=directory,
            invalidations=self.invalidations,
            central=self.central,
        )
        self.provisioning = ProvisioningPipeline(
            central=self.central,
            cluster_manager=self.cluster_manager,
            tenancy=self.tenancy,
            roles=self.roles,
            tenant_settings=self.tenant_settings,
            taxonomies=self.taxonomies,
            production=self.production,
        )
        self.mover = TenantMover(
            central=self.central,
            cluster_manager=self.cluster_manager,
            tenancy=self.tenancy,
            clusters=self.cluster_registry,
            tables=tenant_metadata().sorted_tables,
        )
        self.members = MemberService(tenancy=self.tenancy, roles=self.roles)
        self.tracking = TrackingService(
            hasher=self.token_hasher,
            limiter=self.limiter,
            limits=TrackingLimits(
                per_ip=settings.rate_limit.tracking_per_ip,
                per_token=settings.rate_limit.tracking_per_token,
            ),
            tenants=self.tenancy,
            clusters=self.cluster_manager,
            orders=self.orders,
            production=self.production,
            products=self.products,
            settings=self.tenant_settings,
            public_url=settings.http.public_url,
        )
        self.billing = BillingService(
            settings=settings.billing,
            plans=self.plans,
            providers=self.payment_providers,
            usage=self.tenancy,
        )
        self.billing_webhooks = BillingWebhookForensicService(
            central=self.central,
            settings=settings.billing,
            providers=self.payment_providers,
            billing=self.billing,
            jobs=self.jobs,
        )
        self.dunning = DunningService(
            central=self.central,
            settings=settings.billing,
            billing=self.billing,
            providers=self.payment_providers,
        )
        self.reconciler = Reconciler(
            central=self.central,
            billing=self.billing,
            webhooks=self.billing_webhooks,
            providers=self.payment_providers,
        )
        self.billing_report = BillingReport(central=self.central, plans=self.plans)
        # --- background delivery ------------------------------------------------------------
        self.relay = OutboxRelay(
            self.central,
            events,
            services=self,
            options=RelayOptions(
                lease_seconds=settings.jobs.outbox_lease_seconds,
                max_attempts=settings.jobs.outbox_max_attempts,
                poll_seconds=settings.jobs.outbox_poll_seconds,
            ),
        )
        self.central.after_commit_hooks.append(self.relay.after_commit)
        self.metrics = MetricsExporter()
        self.metrics.add_refresher(self._refresh_metrics)
        self.announcements: list[str] = []
        self.supervisor: Supervisor | None = None

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        migrate: bool | None = None,
        start_embedded: bool = True,
        observe: bool = False,
    ) -> Runtime:
        """`start_embedded=False`: attach to a running embedded server only. `observe`
        (`garment doctor`): change nothing at all (no server started, no roles, databases,
        migrations, signing keys, cluster registrations or demo data created)."""
        problems = settings.production_problems()
        if problems and not observe:
            raise UnsafeConfiguration("refusing to start in production: " + "; ".join(problems))
        for warning in settings.configuration_warnings():
            logger.warning("config.warning", warning=warning)
        targets, embedded = await resolve_targets(
            settings, start_embedded=start_embedded and not observe, create_layout=not observe
        )
        if observe:
            migrate = False
        try:
            if settings.should_auto_migrate if migrate is None else migrate:
                report = await asyncio.to_thread(migrate_all, targets)
                logger.info(
                    "migrate.done",
                    central=report.central.after,
                    clusters={
                        c.key: c.result.after if c.result else c.error for c in report.clusters
                    },
                )
            runtime = cls(settings, targets, embedded=embedded)
        except BaseException:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise
        if observe:
            # A pool to read the queue with (it creates nothing); an observer of an outage
            # must start even when central is the thing that is down.
            with contextlib.suppress(Exception):
                await runtime.jobs.open()
            return runtime
        try:
            await runtime.invalidations.start()
            await runtime.jobs.open()
            await runtime.plans.load()
            await runtime.auth.keys.ensure_loaded()
            if embedded is not None:
                await runtime.register_embedded_clusters()
            if settings.should_seed_demo_data:
                await runtime.seed_demo_data()
        except BaseException:
            await runtime.close()  # pools first, then the embedded server they point at
            raise
        return runtime

    def start_background(self, *, worker: bool = True, role: str = "serve") -> None:
        """The outbox relay and (optionally) a job worker, supervised: restarted with backoff
        whenever they crash (a database blip), their liveness in metrics and heartbeats."""
        supervisor = self.supervisor = Supervisor(self.central, role)
        self.relay.on_progress = lambda: supervisor.progress(OUTBOX_RELAY)
        supervisor.start(OUTBOX_RELAY, self.relay.run_forever)
        if worker:
            self.jobs.on_progress = lambda: supervisor.progress(JOB_WORKER)
            concurrency = self.settings.jobs.worker_concurrency
            supervisor.start(JOB_WORKER, lambda: self.jobs.run_worker(concurrency))

    async def close(self) -> None:
        if self.supervisor is not None:
            await self.supervisor.stop()
            self.supervisor = None
        await self.invalidations.stop()
        await self.jobs.close()
        await self.cluster_manager.close()
        await self.central.dispose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
            self.embedded = None

    async def register_embedded_clusters(self) -> None:
        """The embedded default's `default` cluster is in the registry without any command."""
        async with self.central.transaction() as session:
            await self.cluster_registry.ensure_registered(
                session, self.cluster_manager.configured_keys()
            )

    async def seed_demo_data(self) -> None:
        """The newcomer path (embedded database only): a demo admin and tenant to log in with."""
        seeded = await DemoSeed(
            settings=self.settings,
            central=self.central,
            auth=self.auth,
            tenancy=self.tenancy,
            provisioning=self.provisioning,
        ).ensure()
        await DemoCatalogue(
            tenancy=self.tenancy,
            cluster_manager=self.cluster_manager,
            taxonomies=self.taxonomies,
            products=self.products,
            materials=self.materials,
        ).ensure(seeded.tenant_id)
        order_id = await DemoSales(
            tenancy=self.tenancy,
            central=self.central,
            cluster_manager=self.cluster_manager,
            products=self.products,
            customers=self.customers,
            orders=self.orders,
        ).ensure(seeded.tenant_id)
        await DemoInvoicing(
            tenancy=self.tenancy,
            central=self.central,
            cluster_manager=self.cluster_manager,
            orders=self.orders,
            invoices=self.invoices,
        ).ensure(seeded.tenant_id, order_id)
        await DemoProduction(
            tenancy=self.tenancy,
            central=self.central,
            cluster_manager=self.cluster_manager,
            production=self.production,
        ).ensure(seeded.tenant_id, order_id)
        self.announcements.append(f"  Demo tenant   demo ({seeded.tenant_id}, {seeded.status})")
        self.announcements.append(f"  Demo admin    {seeded.email}")
        if seeded.password:
            where = self.settings.data_dir / "demo-admin-password"
            self.announcements.append(f"  Password      {seeded.password}   (also in {where})")

    async def _refresh_metrics(self) -> None:
        async with self.central.transaction() as session:
            backlog = await outbox_backlog(session)
            await export_measurements(session)
        for state, count in backlog.items():
            OUTBOX_EVENTS.labels(state).set(count)
        for status, count in (await self.jobs.counts()).items():
            JOBS.labels(status).set(count)
        for database in [self.central, *self.cluster_databases.values()]:
            for state, value in pool_stats(database.engine).items():
                DB_POOL.labels(database.name, state).set(value)
        for key in self.cluster_manager.configured_keys():
            is_open = self.cluster_manager.breaker(key).state is not BreakerState.CLOSED
            CLUSTER_BREAKER_OPEN.labels(key).set(1 if is_open else 0)
        async with self.central.transaction() as session:
            receipts = await self.billing_webhooks.counts(session)
        for (provider, status), count in receipts.items():
            BILLING_WEBHOOK_RECEIPTS_STORED.labels(provider, status).set(count)

    @property
    def cluster_databases(self) -> dict[str, Database]:
        """Every configured cluster's pool (created on first use)."""
        manager = self.cluster_manager
        return {key: manager.database(key) for key in manager.configured_keys()}
