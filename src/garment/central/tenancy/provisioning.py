"""The provisioning pipeline (chapter 20): idempotent steps, each recorded in `provisioning_runs`.

The tenant row exists first (status `provisioning`) and every step can be re-run: a crash at any
point leaves a tenant the pipeline finishes, never a half-made one it refuses to touch. Steps that
are `done` are skipped, so a retry resumes at the step that failed. Provisioning inserts rows (with
ON CONFLICT DO NOTHING); it never runs DDL per tenant — the schema is per cluster.
"""

from __future__ import annotations

import asyncio
import traceback
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from garment.central.clusters.service import ClusterConnectionManager
from garment.central.tenancy.events import TenantProvisioned, TenantProvisioningFailed
from garment.central.tenancy.models import ProvisioningStep, Tenant
from garment.central.tenancy.repository import (
    MembershipRepository,
    ProvisioningStepRepository,
    TenantRepository,
)
from garment.central.tenancy.service import OWNER_ROLE, TenancyService
from garment.central.tenancy.states import (
    PROVISIONING_STEPS,
    ProvisioningStepName,
    StepStatus,
    TenantStatus,
)
from garment.platform.db import Database
from garment.platform.errors import CommandError
from garment.platform.events import publish
from garment.platform.migrations import Tree, current_revision, head_revision, migrate_cluster
from garment.tenant.authz.service import RoleService
from garment.tenant.production.service import ProductionService
from garment.tenant.settings.service import TenantSettingsService
from garment.tenant.taxonomies.service import TaxonomyService

logger = structlog.get_logger(__name__)

Step = Callable[[uuid.UUID], Awaitable[dict[str, Any]]]
SETTLED = frozenset({TenantStatus.ACTIVE, TenantStatus.SUSPENDED, TenantStatus.CANCELLED})


class ProvisioningError(CommandError):
    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error


class ProvisioningPipeline:
    def __init__(
        self,
        *,
        central: Database,
        cluster_manager: ClusterConnectionManager,
        tenancy: TenancyService,
        roles: RoleService,
        tenant_settings: TenantSettingsService,
        taxonomies: TaxonomyService,
        production: ProductionService,
    ) -> None:
        self.central = central
        self.cluster_manager = cluster_manager
        self.tenancy = tenancy
        self.roles = roles
        self.tenant_settings = tenant_settings
        self.taxonomies = taxonomies
        self.production = production

    def step(self, name: str) -> Step:
        """The method that performs a step; looked up on every run (each step is a method of
        the same name), so an operator or a test can wrap a step on the class."""
        function: Step = getattr(self, ProvisioningStepName(name).value)
        return function

    async def run(self, tenant_id: uuid.UUID, *, final: bool = False) -> TenantStatus:
        """Run every step that is not done yet; returns the tenant's final status. With
        `final` (the last retry, or an operator's --retry) a failure leaves the tenant
        `provisioning_failed` instead of `provisioning`, so it never hangs in between."""
        try:
            return await self._run(tenant_id)
        except ProvisioningError as error:
            if final:
                await self.mark_failed(tenant_id, error.step, error.error)
            raise
        except Exception as error:
            if final:
                await self.mark_failed(tenant_id, "pipeline", f"{type(error).__name__}: {error}")
            raise ProvisioningError("pipeline", f"{type(error).__name__}: {error}") from error

    async def _run(self, tenant_id: uuid.UUID) -> TenantStatus:
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id, for_update=True)
            if tenant is None:
                raise ProvisioningError("load", "tenant not found")
            status = TenantStatus(tenant.status)
            if status in SETTLED:
                # A crash between activation and its record leaves steps `running`; an active
                # tenant has been through all of them.
                if status is TenantStatus.ACTIVE:
                    await ProvisioningStepRepository(session).finish_unfinished(tenant_id)
                return status
            tenant.status = TenantStatus.PROVISIONING
            await self.tenancy.tenant_changed(session, tenant.id)
            steps = ProvisioningStepRepository(session)
            recorded = await steps.statuses(tenant_id)
            for position, step in enumerate(PROVISIONING_STEPS):
                if step not in recorded:  # a tenant created before a step was added
                    steps.add(ProvisioningStep(tenant_id=tenant_id, step=step, position=position))
        for step in PROVISIONING_STEPS:
            if recorded.get(step) is StepStatus.DONE:
                continue
            await self._run_step(tenant_id, step)
        return TenantStatus.ACTIVE

    async def _run_step(self, tenant_id: uuid.UUID, step: str) -> None:
        await self._mark(tenant_id, step, status=StepStatus.RUNNING, started=True)
        log = logger.bind(tenant_id=str(tenant_id), step=step)
        try:
            details = await self.step(step)(tenant_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = (
                exc.error
                if isinstance(exc, ProvisioningError)
                else "".join(traceback.format_exception_only(exc)).strip()[:2000]
            )
            await self._mark(tenant_id, step, status=StepStatus.FAILED, error=error)
            log.warning("provisioning.step_failed", error=error)
            raise ProvisioningError(step, error) from exc
        await self._mark(tenant_id, step, status=StepStatus.DONE, details=details)
        log.info("provisioning.step_done")

    async def _mark(
        self,
        tenant_id: uuid.UUID,
        step: str,
        *,
        status: StepStatus,
        started: bool = False,
        error: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        now = datetime.now(UTC)
        values: dict[str, Any] = {"status": status, "error": error}
        if started:
            values.update(started_at=now, finished_at=None, attempts=ProvisioningStep.attempts + 1)
        else:
            values["finished_at"] = now
        if details is not None:
            values["details"] = details
        async with self.central.transaction() as session:
            await ProvisioningStepRepository(session).record(tenant_id, step, values)

    async def mark_failed(self, tenant_id: uuid.UUID, step: str, error: str) -> None:
        """After the last retry: the tenant waits for `garment tenants provision --retry`."""
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id, for_update=True)
            if tenant is None or tenant.status != TenantStatus.PROVISIONING:
                return
            tenant.status = TenantStatus.PROVISIONING_FAILED
            await self.tenancy.tenant_changed(session, tenant.id)
            await publish(
                session, TenantProvisioningFailed(tenant_id=tenant_id, step=step, error=error[:500])
            )
        logger.error("provisioning.failed", tenant_id=str(tenant_id), step=step)

    # --- the steps -------------------------------------------------------------------------

    async def _placed(self, tenant_id: uuid.UUID) -> tuple[Tenant, str]:
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id)
        if tenant is None:
            raise ProvisioningError("load", "tenant not found")
        if tenant.cluster_key is None:
            raise ProvisioningError(ProvisioningStepName.CHOOSE_CLUSTER, "no cluster chosen yet")
        return tenant, tenant.cluster_key

    async def choose_cluster(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id, for_update=True)
            if tenant is None:
                raise ProvisioningError(ProvisioningStepName.CHOOSE_CLUSTER, "tenant not found")
            if tenant.cluster_key is None:
                key = await self.tenancy.choose_cluster(session, tenant.region_hint)
                if key is None:
                    raise ProvisioningError(
                        ProvisioningStepName.CHOOSE_CLUSTER, "no active cluster has free capacity"
                    )
                tenant.cluster_key = key
            return {"cluster": tenant.cluster_key}

    async def ensure_schema(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        _, key = await self._placed(tenant_id)
        target = self.cluster_manager.targets.get(key)
        if target is None:
            raise ProvisioningError(
                ProvisioningStepName.ENSURE_SCHEMA, f"cluster {key} has no configured URL"
            )
        head = head_revision(Tree.TENANT)
        current = await asyncio.to_thread(current_revision, Tree.TENANT, target.owner_url)
        if current != head:
            outcome = await asyncio.to_thread(migrate_cluster, target)
            if outcome.error:
                raise ProvisioningError(ProvisioningStepName.ENSURE_SCHEMA, outcome.error)
        return {"revision": head, "migrated": current != head}

    async def create_settings(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        tenant, key = await self._placed(tenant_id)
        async with self.cluster_manager.tenant_transaction(key, tenant_id) as session:
            await self.tenant_settings.ensure(
                session, tenant_id, slug=tenant.slug, name=tenant.name
            )
        return {}

    async def seed_roles(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        _, key = await self._placed(tenant_id)
        async with self.cluster_manager.tenant_transaction(key, tenant_id) as session:
            created = await self.roles.seed_default_roles(session, tenant_id)
        return {"roles_created": created}

    async def seed_taxonomies(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        _, key = await self._placed(tenant_id)
        async with self.cluster_manager.tenant_transaction(key, tenant_id) as session:
            created = await self.taxonomies.seed_defaults(session, tenant_id)
        return {"terms_created": created}

    async def seed_routing(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        """The default production routing (potong, jahit, finishing, qc, packing)."""
        _, key = await self._placed(tenant_id)
        async with self.cluster_manager.tenant_transaction(key, tenant_id) as session:
            created = await self.production.seed_defaults(session, tenant_id)
        return {"routings_created": created}

    async def grant_owner(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        """The owner's membership holds the `owner` role (it is created with it; this step
        restores it for a tenant whose membership lost it before provisioning finished)."""
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id)
            if tenant is None:
                raise ProvisioningError(ProvisioningStepName.GRANT_OWNER, "tenant not found")
            membership = await MembershipRepository(session).of(
                tenant_id, tenant.owner_user_id, for_update=True
            )
            if membership is None:
                raise ProvisioningError(ProvisioningStepName.GRANT_OWNER, "owner is not a member")
            if OWNER_ROLE not in membership.role_keys:
                membership.role_keys = sorted({*membership.role_keys, OWNER_ROLE})
                await self.tenancy.member_changed(session, tenant_id, tenant.owner_user_id)
            return {"roles": sorted(membership.role_keys)}

    async def activate(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        async with self.central.transaction() as session:
            tenant = await TenantRepository(session).get(tenant_id, for_update=True)
            if tenant is None:
                raise ProvisioningError(ProvisioningStepName.ACTIVATE, "tenant not found")
            if tenant.status != TenantStatus.ACTIVE:
                tenant.status, tenant.provisioned_at = TenantStatus.ACTIVE, datetime.now(UTC)
                await self.tenancy.tenant_changed(session, tenant.id)
                await publish(session, TenantProvisioned(tenant_id=tenant_id))
            # Recorded in the same transaction: whoever sees the tenant active (a client polling
            # its progress) also sees every step done.
            await ProvisioningStepRepository(session).finish_unfinished(
                tenant_id, step=ProvisioningStepName.ACTIVATE
            )
        return {}
