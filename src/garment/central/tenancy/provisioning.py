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
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select, update

from garment.central.tenancy.events import TenantProvisioned, TenantProvisioningFailed
from garment.central.tenancy.models import ProvisioningStep, Tenant
from garment.central.tenancy.service import PROVISIONING_STEPS
from garment.platform.errors import CommandError
from garment.platform.events import publish
from garment.platform.jobs import JobContext, tasks
from garment.platform.migrations import Tree, current_revision, head_revision
from garment.tenant.authz.service import grant_roles, seed_default_roles
from garment.tenant.settings.service import ensure_settings
from garment.tenant.taxonomies.service import seed_defaults

if TYPE_CHECKING:
    from garment.runtime import Runtime

logger = structlog.get_logger(__name__)

PROVISION_TASK = "tenancy.provision"
PROVISION_RETRIES = 4

Step = Callable[[uuid.UUID], Awaitable[dict[str, Any]]]


class ProvisioningError(CommandError):
    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error


class ProvisioningPipeline:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # Looked up per run, so an operator (or a test) can see and wrap each step.
        self.steps: dict[str, Step] = {
            "choose_cluster": self.choose_cluster,
            "ensure_schema": self.ensure_schema,
            "create_settings": self.create_settings,
            "seed_roles": self.seed_roles,
            "seed_taxonomies": self.seed_taxonomies,
            "grant_owner": self.grant_owner,
            "activate": self.activate,
        }

    async def run(self, tenant_id: uuid.UUID, *, final: bool = False) -> str:
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

    async def _run(self, tenant_id: uuid.UUID) -> str:
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id, with_for_update=True)
            if tenant is None:
                raise ProvisioningError("load", "tenant not found")
            if tenant.status in ("active", "suspended", "cancelled"):
                # A crash between activation and its record leaves steps `running`; an active
                # tenant has been through all of them.
                if tenant.status == "active":
                    await session.execute(
                        update(ProvisioningStep)
                        .where(
                            ProvisioningStep.tenant_id == tenant_id,
                            ProvisioningStep.status != "done",
                        )
                        .values(status="done", finished_at=datetime.now(UTC), error=None)
                    )
                return tenant.status
            tenant.status = "provisioning"
            self.runtime.tenancy.forget(tenant)
            steps = (
                await session.execute(
                    select(ProvisioningStep.step, ProvisioningStep.status).where(
                        ProvisioningStep.tenant_id == tenant_id
                    )
                )
            ).all()
            recorded: dict[str, str] = {row[0]: row[1] for row in steps}
            for position, step in enumerate(PROVISIONING_STEPS):
                if step not in recorded:  # a tenant created before a step was added
                    session.add(ProvisioningStep(tenant_id=tenant_id, step=step, position=position))
        for step in PROVISIONING_STEPS:
            if recorded.get(step) == "done":
                continue
            await self._run_step(tenant_id, step)
        return "active"

    async def _run_step(self, tenant_id: uuid.UUID, step: str) -> None:
        await self._mark(tenant_id, step, status="running", started=True)
        log = logger.bind(tenant_id=str(tenant_id), step=step)
        try:
            details = await self.steps[step](tenant_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = (
                exc.error
                if isinstance(exc, ProvisioningError)
                else "".join(traceback.format_exception_only(exc)).strip()[:2000]
            )
            await self._mark(tenant_id, step, status="failed", error=error)
            log.warning("provisioning.step_failed", error=error)
            raise ProvisioningError(step, error) from exc
        await self._mark(tenant_id, step, status="done", details=details)
        log.info("provisioning.step_done")

    async def _mark(
        self,
        tenant_id: uuid.UUID,
        step: str,
        *,
        status: str,
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
        async with self.runtime.central.transaction() as session:
            await session.execute(
                update(ProvisioningStep)
                .where(ProvisioningStep.tenant_id == tenant_id, ProvisioningStep.step == step)
                .values(**values)
            )

    async def mark_failed(self, tenant_id: uuid.UUID, step: str, error: str) -> None:
        """After the last retry: the tenant waits for `garment tenants provision --retry`."""
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id, with_for_update=True)
            if tenant is None or tenant.status != "provisioning":
                return
            tenant.status = "provisioning_failed"
            self.runtime.tenancy.forget(tenant)
            await publish(
                session, TenantProvisioningFailed(tenant_id=tenant_id, step=step, error=error[:500])
            )
        logger.error("provisioning.failed", tenant_id=str(tenant_id), step=step)

    # --- the steps -------------------------------------------------------------------------

    async def _tenant(self, tenant_id: uuid.UUID) -> Tenant:
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id)
        if tenant is None:
            raise ProvisioningError("load", "tenant not found")
        return tenant

    async def _cluster_of(self, tenant_id: uuid.UUID) -> tuple[Tenant, str]:
        tenant = await self._tenant(tenant_id)
        if tenant.cluster_key is None:
            raise ProvisioningError("choose_cluster", "no cluster chosen yet")
        return tenant, tenant.cluster_key

    async def choose_cluster(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        runtime = self.runtime
        async with runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id, with_for_update=True)
            if tenant is None:
                raise ProvisioningError("choose_cluster", "tenant not found")
            if tenant.cluster_key is None:
                configured = set(runtime.cluster_manager.configured_keys())
                key = await runtime.tenancy.choose_cluster(session, configured, tenant.region_hint)
                if key is None:
                    raise ProvisioningError("choose_cluster", "no active cluster has free capacity")
                tenant.cluster_key = key
            return {"cluster": tenant.cluster_key}

    async def ensure_schema(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        _, key = await self._cluster_of(tenant_id)
        target = self.runtime.targets.clusters.get(key)
        if target is None:
            raise ProvisioningError("ensure_schema", f"cluster {key} has no configured URL")
        head = head_revision(Tree.TENANT)
        current = await asyncio.to_thread(current_revision, Tree.TENANT, target.owner_url)
        if current != head:
            from garment.runtime import migrate_cluster

            outcome = await asyncio.to_thread(migrate_cluster, target)
            if outcome.error:
                raise ProvisioningError("ensure_schema", outcome.error)
        return {"revision": head, "migrated": current != head}

    async def create_settings(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        tenant, key = await self._cluster_of(tenant_id)
        async with self.runtime.cluster_manager.tenant_transaction(key, tenant_id) as session:
            await ensure_settings(session, tenant_id, slug=tenant.slug, name=tenant.name)
        return {}

    async def seed_roles(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        _, key = await self._cluster_of(tenant_id)
        async with self.runtime.cluster_manager.tenant_transaction(key, tenant_id) as session:
            created = await seed_default_roles(session, tenant_id)
        return {"roles_created": created}

    async def seed_taxonomies(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        _, key = await self._cluster_of(tenant_id)
        async with self.runtime.cluster_manager.tenant_transaction(key, tenant_id) as session:
            created = await seed_defaults(session, tenant_id)
        return {"terms_created": created}

    async def grant_owner(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        tenant, key = await self._cluster_of(tenant_id)
        async with self.runtime.cluster_manager.tenant_transaction(key, tenant_id) as session:
            granted = await grant_roles(session, tenant_id, tenant.owner_user_id, ["owner"])
        async with self.runtime.central.transaction() as session:
            await self.runtime.tenancy.set_member_roles(
                session, tenant_id, tenant.owner_user_id, granted
            )
        return {"roles": granted}

    async def activate(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        async with self.runtime.central.transaction() as session:
            tenant = await session.get(Tenant, tenant_id, with_for_update=True)
            if tenant is None:
                raise ProvisioningError("activate", "tenant not found")
            if tenant.status != "active":
                tenant.status, tenant.provisioned_at = "active", datetime.now(UTC)
                self.runtime.tenancy.forget(tenant)
                await publish(session, TenantProvisioned(tenant_id=tenant_id))
            # Recorded in the same transaction: whoever sees the tenant active (a client polling
            # its progress) also sees every step done.
            await session.execute(
                update(ProvisioningStep)
                .where(ProvisioningStep.tenant_id == tenant_id, ProvisioningStep.step == "activate")
                .values(status="done", finished_at=datetime.now(UTC), error=None)
            )
        return {}


@tasks.task(PROVISION_TASK, retries=PROVISION_RETRIES)
async def provision(payload: dict[str, Any], job: JobContext) -> None:
    runtime: Runtime = job.services
    tenant_id = uuid.UUID(payload["tenant_id"])
    await ProvisioningPipeline(runtime).run(tenant_id, final=job.attempt > PROVISION_RETRIES)


def provisioning_dedupe_key(tenant_id: uuid.UUID) -> str:
    return f"provision:{tenant_id}"
