"""Jobs touching tenant data name their tenant and open an RLS-bound session for it: there is
no ambient "current tenant" in a worker, so a job cannot act on another tenant's rows, or on
all of them."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text

from garment.platform.context import current_context
from garment.platform.jobs import JobContext, JobQueue, TaskRegistry, WorkerOptions
from garment.runtime import Runtime
from garment.tenant.taxonomies.models import TaxonomyTerm
from tests.auth.conftest import make_user
from tests.tenancy.conftest import create_tenant


async def term_count(runtime: Runtime, cluster: str, tenant_id: uuid.UUID) -> int:
    async with runtime.cluster_manager.tenant_transaction(cluster, tenant_id) as session:
        return int(
            (await session.execute(select(func.count()).select_from(TaxonomyTerm))).scalar_one()
        )


async def test_a_job_sees_and_changes_only_the_tenant_it_names(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a = await create_tenant(runtime, await make_user(runtime), cluster="default")
    b = await create_tenant(runtime, await make_user(runtime), cluster="default")
    seen: dict[str, Any] = {}
    registry = TaskRegistry()

    @registry.task("test.add_collection", retries=0, initial_delay=timedelta(milliseconds=10))
    async def add_collection(payload: dict[str, Any], job: JobContext) -> None:
        seen["ambient_tenant"] = current_context().tenant_id
        tenant_id = uuid.UUID(payload["tenant_id"])
        target = uuid.UUID(payload["write_as"])
        async with job.services.cluster_manager.tenant_transaction("default", tenant_id) as db:
            seen[payload["name"]] = (
                await db.execute(text("SELECT count(*) FROM taxonomy_terms"))
            ).scalar_one()
            db.add(
                TaxonomyTerm(
                    tenant_id=target,
                    type="collection",
                    code=payload["name"],
                    label_id=payload["name"],
                    label_en=payload["name"],
                )
            )

    jobs = JobQueue(
        runtime.targets.central.app_url,
        registry,
        services=runtime,
        options=WorkerOptions(dequeue_timeout=timedelta(milliseconds=100)),
    )
    await jobs.open()
    try:
        before_a, before_b = (
            await term_count(runtime, "default", a.id),
            await term_count(runtime, "default", b.id),
        )
        await jobs.enqueue(
            "test.add_collection",
            {"tenant_id": str(a.id), "write_as": str(a.id), "name": "lebaran"},
        )
        # A job bound to A that tries to write a row for B is refused by RLS and fails.
        await jobs.enqueue(
            "test.add_collection", {"tenant_id": str(a.id), "write_as": str(b.id), "name": "sneaky"}
        )
        worker = asyncio.create_task(jobs.run_worker(concurrency=2))
        try:
            for _ in range(100):
                if "lebaran" in seen and "sneaky" in seen and (await jobs.counts())["queued"] == 0:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        failed = await jobs.failed_jobs()
    finally:
        await jobs.close()

    assert seen["ambient_tenant"] is None  # nothing leaks in from a request
    assert seen["lebaran"] == before_a  # the job saw exactly A's rows, not A's and B's
    assert await term_count(runtime, "default", a.id) == before_a + 1
    assert await term_count(runtime, "default", b.id) == before_b
    assert [job["entrypoint"] for job in failed if job["entrypoint"] == "test.add_collection"] == [
        "test.add_collection"
    ]
