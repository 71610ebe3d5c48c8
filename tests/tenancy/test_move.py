"""Moving a tenant between clusters (`garment tenants move`): every row and checksum arrives, the
source is emptied, the registry switches; the tenant is read-only meanwhile (writes answer
503 TENANT_MAINTENANCE, reads work); an aborted move leaves the tenant where it was with nothing on
the target. And `garment tenants export` writes every row as a JSON line."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from garment.central.clusters.states import ClusterStatus
from garment.central.tenancy.models import Tenant
from garment.central.tenancy.mover import MoveAborted, TableFingerprint, TenantMover
from garment.runtime import Runtime
from garment.tenant.authz.models import Role, RolePermission
from garment.tenant.authz.permissions import DEFAULT_ROLES
from garment.tenant.settings.models import TenantSettings
from garment.tenant.taxonomies.defaults import DEFAULT_TERMS
from garment.tenant.taxonomies.models import TaxonomyTerm
from tests.auth.conftest import unique_email
from tests.conftest import garment
from tests.tenancy.conftest import TenantSetup, tenant_setup

ME = "/api/v1/tenant/me"
INVITATIONS = "/api/v1/tenant/members/invitations"
Fingerprints = dict[str, TableFingerprint]


# --- helpers ---------------------------------------------------------------------------------


async def add_tenant_rows(runtime: Runtime, setup: TenantSetup, *, nested: bool) -> None:
    """Rows beyond provisioning, through the RLS-bound session: two more members' roles, changed
    settings and two custom terms. `nested`: the terms are a sub-category of the seeded `kaos`
    and a sub-sub-category stored before its parent (a table scan returns the child first, so
    a copy must order them: the foreign key is checked row by row); otherwise both are roots."""
    async with runtime.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
        kaos = (
            await db.execute(
                select(TaxonomyTerm.id).where(
                    TaxonomyTerm.type == "category", TaxonomyTerm.code == "kaos"
                )
            )
        ).scalar_one()
        child, parent = uuid.uuid4(), uuid.uuid4()
        for term_id, code in ((child, "kaos-anak-oblong"), (parent, "kaos-anak")):
            db.add(
                TaxonomyTerm(
                    tenant_id=setup.tenant_id,
                    id=term_id,
                    type="category",
                    code=code,
                    label_id=code.replace("-", " ").title(),
                    label_en=code,
                    sort_order=100,
                )
            )
        await db.flush()
        if nested:
            # Updates write new row versions: the parent ends up after its child in a scan.
            await db.execute(
                update(TaxonomyTerm).where(TaxonomyTerm.id == child).values(parent_id=parent)
            )
            await db.execute(
                update(TaxonomyTerm)
                .where(TaxonomyTerm.id == parent)
                .values(parent_id=kaos, label_en="Kids' T-shirt")
            )
        await db.execute(
            update(TenantSettings)
            .where(TenantSettings.tenant_id == setup.tenant_id)
            .values(timezone="Asia/Makassar")
        )
        # A custom role with two permissions: rows in both authorization tables.
        role_id = uuid.uuid4()
        db.add(
            Role(
                tenant_id=setup.tenant_id,
                id=role_id,
                key="gudang",
                name_id="Gudang",
                name_en="Warehouse",
            )
        )
        await db.flush()
        for permission in ("products.view", "orders.view"):
            db.add(
                RolePermission(tenant_id=setup.tenant_id, role_id=role_id, permission=permission)
            )


def empty(fingerprints: Fingerprints) -> bool:
    return all(fingerprint.rows == 0 for fingerprint in fingerprints.values())


async def registry_row(runtime: Runtime, tenant_id: uuid.UUID) -> Tenant:
    async with runtime.central.transaction() as session:
        tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant


async def set_read_only(runtime: Runtime, tenant_id: uuid.UUID, read_only: bool) -> None:
    async with runtime.central.transaction() as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.read_only = read_only
        await runtime.tenancy.tenant_changed(session, tenant_id)


# --- the move --------------------------------------------------------------------------------


async def move_and_verify(runtime: Runtime, client: httpx.AsyncClient, *, nested: bool) -> None:
    setup = await tenant_setup(runtime, client, cluster="default")
    await add_tenant_rows(runtime, setup, nested=nested)
    mover = runtime.mover.with_cache_wait(0)
    before = await mover.fingerprints("default", setup.tenant_id)
    assert before["taxonomy_terms"].rows == len(DEFAULT_TERMS) + 2
    assert before["roles"].rows == len(DEFAULT_ROLES) + 1
    assert before["tenant_settings"].rows == 1
    assert empty(await mover.fingerprints("secondary", setup.tenant_id))

    progress: list[str] = []
    report = await mover.move(setup.tenant_id, "secondary", progress.append)

    assert (report.tenant_id, report.source, report.target) == (
        setup.tenant_id,
        "default",
        "secondary",
    )
    assert report.tables == before
    assert report.rows == sum(fingerprint.rows for fingerprint in before.values())
    assert await mover.fingerprints("secondary", setup.tenant_id) == before
    assert empty(await mover.fingerprints("default", setup.tenant_id))
    moved = await registry_row(runtime, setup.tenant_id)
    assert (moved.cluster_key, moved.read_only, moved.status) == ("secondary", False, "active")
    assert progress[-1] == "done"
    copied = f"taxonomy_terms: {len(DEFAULT_TERMS) + 2} rows"
    assert any(message.strip() == copied for message in progress), progress

    # The API now serves the tenant from the target cluster (its roles live only there).
    me = await client.get(ME, headers=setup.headers())
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["owner"]
    invited = await client.post(
        INVITATIONS, json={"email": unique_email(), "roles": ["sales"]}, headers=setup.headers()
    )
    assert invited.status_code == 201, invited.text


async def test_a_move_keeps_every_row_and_checksum(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await move_and_verify(runtime, client, nested=False)


async def test_a_move_keeps_sub_terms_of_seeded_terms(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Regression: the copy orders self-referencing rows parents first without dropping any (a
    sub-term whose parent was placed in the same round used to be lost)."""
    await move_and_verify(runtime, client, nested=True)


async def test_a_read_only_tenant_refuses_writes_but_serves_reads(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    setup = await tenant_setup(runtime, client)
    await set_read_only(runtime, setup.tenant_id, True)
    try:
        refused = await client.post(
            INVITATIONS,
            json={"email": unique_email(), "roles": ["viewer"]},
            headers=setup.headers(),
        )
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "TENANT_MAINTENANCE"
        assert int(refused.headers["Retry-After"]) > 0
        assert (await client.get(ME, headers=setup.headers())).status_code == 200
        listed = await client.get(INVITATIONS, headers=setup.headers())
        assert listed.status_code == 200
        assert listed.json()["data"] == []  # the refused write left nothing behind
    finally:
        await set_read_only(runtime, setup.tenant_id, False)
    accepted = await client.post(
        INVITATIONS, json={"email": unique_email(), "roles": ["viewer"]}, headers=setup.headers()
    )
    assert accepted.status_code == 201, accepted.text


# --- aborted moves ---------------------------------------------------------------------------


async def assert_left_in_place(
    runtime: Runtime, setup: TenantSetup, mover: TenantMover, before: Fingerprints
) -> None:
    stayed = await registry_row(runtime, setup.tenant_id)
    assert (stayed.cluster_key, stayed.read_only) == ("default", False)
    assert await mover.fingerprints("default", setup.tenant_id) == before
    assert empty(await mover.fingerprints("secondary", setup.tenant_id))


async def test_an_aborted_move_leaves_the_tenant_on_its_source(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = await tenant_setup(runtime, client, cluster="default")
    await add_tenant_rows(runtime, setup, nested=False)
    mover = runtime.mover.with_cache_wait(0)
    before = await mover.fingerprints("default", setup.tenant_id)

    # A target without a configured URL: refused before anything is touched.
    with pytest.raises(MoveAborted, match="no configured URL"):
        await mover.move(setup.tenant_id, "atlantis")
    await assert_left_in_place(runtime, setup, mover, before)

    # A target that takes no tenants (draining) is refused too.
    async with runtime.central.transaction() as session:
        await runtime.cluster_registry.drain(session, "secondary")
    try:
        with pytest.raises(MoveAborted, match="secondary is draining, not active"):
            await mover.move(setup.tenant_id, "secondary")
    finally:
        async with runtime.central.transaction() as session:
            await runtime.cluster_registry.update(session, "secondary", status=ClusterStatus.ACTIVE)
    await assert_left_in_place(runtime, setup, mover, before)

    # The tenant's own cluster is no target.
    with pytest.raises(MoveAborted, match="already lives on default"):
        await mover.move(setup.tenant_id, "default")
    await assert_left_in_place(runtime, setup, mover, before)

    # A tenant already read-only (another move running) is not moved twice.
    await set_read_only(runtime, setup.tenant_id, True)
    with pytest.raises(MoveAborted, match="read-only"):
        await mover.move(setup.tenant_id, "secondary")
    await set_read_only(runtime, setup.tenant_id, False)
    await assert_left_in_place(runtime, setup, mover, before)

    # A failure after the rows were committed on the target: the copy is removed.
    real_copy = TenantMover._copy
    copied: list[Fingerprints] = []

    async def copy_then_fail(
        self: TenantMover, source: str, target: str, tenant_id: uuid.UUID, say: object
    ) -> None:
        await real_copy(self, source, target, tenant_id, lambda _: None)
        copied.append(await self.fingerprints(target, tenant_id))
        raise RuntimeError("connection to the target lost after the copy")

    monkeypatch.setattr(TenantMover, "_copy", copy_then_fail)
    with pytest.raises(RuntimeError, match="connection to the target lost"):
        await mover.move(setup.tenant_id, "secondary")
    assert copied == [before]  # the copy had really landed
    await assert_left_in_place(runtime, setup, mover, before)

    # A copy that differs from the source (a row changed in flight): checksums catch it.
    async def copy_and_corrupt(
        self: TenantMover, source: str, target: str, tenant_id: uuid.UUID, say: object
    ) -> None:
        await real_copy(self, source, target, tenant_id, lambda _: None)
        async with self.manager.tenant_transaction(target, tenant_id) as db:
            await db.execute(
                update(TaxonomyTerm).where(TaxonomyTerm.code == "kaos").values(label_en="Tee")
            )

    monkeypatch.setattr(TenantMover, "_copy", copy_and_corrupt)
    with pytest.raises(MoveAborted, match="copy differs from source in: taxonomy_terms"):
        await mover.move(setup.tenant_id, "secondary")
    await assert_left_in_place(runtime, setup, mover, before)

    # Still movable afterwards, and still usable throughout.
    monkeypatch.setattr(TenantMover, "_copy", real_copy)
    assert (await client.get(ME, headers=setup.headers())).status_code == 200
    report = await mover.move(setup.tenant_id, "secondary")
    assert report.tables == before
    assert (await registry_row(runtime, setup.tenant_id)).cluster_key == "secondary"


# --- export ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("cli_env")
async def test_export_writes_every_row_as_a_json_line(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    setup = await tenant_setup(runtime, client)
    await add_tenant_rows(runtime, setup, nested=True)
    fingerprints = await runtime.mover.fingerprints(setup.cluster, setup.tenant_id)

    result = await garment("tenants", "export", setup.slug)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    per_table = Counter(record["table"] for record in records)
    assert per_table == {name: fp.rows for name, fp in fingerprints.items() if fp.rows}
    assert {record["row"]["tenant_id"] for record in records} == {str(setup.tenant_id)}
    terms = {r["row"]["code"]: r["row"] for r in records if r["table"] == "taxonomy_terms"}
    assert terms["kaos-anak-oblong"]["parent_id"] == terms["kaos-anak"]["id"]
    assert terms["kaos-anak"]["parent_id"] == terms["kaos"]["id"]
    settings_rows = [r["row"] for r in records if r["table"] == "tenant_settings"]
    assert [row["timezone"] for row in settings_rows] == ["Asia/Makassar"]

    target = tmp_path / "export.jsonl"
    to_file = await garment("tenants", "export", str(setup.tenant_id), "--output", str(target))
    assert to_file.exit_code == 0, to_file.output
    assert f"wrote {len(records)} rows" in to_file.stdout
    assert target.read_text(encoding="utf-8").splitlines() == result.stdout.splitlines()

    missing = await garment("tenants", "export", "no-such-tenant")
    assert missing.exit_code == 1


@pytest.mark.usefixtures("cli_env")
async def test_unlock_lifts_read_only_left_by_a_killed_move(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    setup = await tenant_setup(runtime, client, cluster="default")
    await set_read_only(runtime, setup.tenant_id, True)  # as a move killed mid-way leaves it
    result = await garment("tenants", "unlock", setup.slug)
    assert result.exit_code == 0, result.output
    async with runtime.central.transaction() as session:
        tenant = await session.get(Tenant, setup.tenant_id)
        assert tenant is not None
        assert not tenant.read_only
        assert tenant.cluster_key == "default"


async def test_a_write_reaching_the_source_after_verification_is_kept_not_deleted(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = await tenant_setup(runtime, client, cluster="default")
    original_switch = TenantMover._switch

    async def switch_after_a_late_write(
        self: TenantMover, tenant_id: uuid.UUID, source: str, target: str
    ) -> None:
        # A request that passed the tenant chain before the read-only flag, committing late.
        async with runtime.cluster_manager.tenant_transaction(source, tenant_id) as session:
            session.add(
                TaxonomyTerm(
                    tenant_id=tenant_id,
                    type="collection",
                    code="late",
                    label_id="Telat",
                    label_en="Late",
                )
            )
        await original_switch(self, tenant_id, source, target)

    monkeypatch.setattr(TenantMover, "_switch", switch_after_a_late_write)
    with pytest.raises(MoveAborted, match="source changed after verification"):
        await runtime.mover.with_cache_wait(0).move(setup.tenant_id, "secondary")
    async with runtime.central.transaction() as session:
        tenant = await session.get(Tenant, setup.tenant_id)
        assert tenant is not None
        assert tenant.cluster_key == "secondary"  # verified copy, already switched
        assert not tenant.read_only
    async with runtime.cluster_manager.tenant_transaction("default", setup.tenant_id) as session:
        late = await session.execute(select(TaxonomyTerm).where(TaxonomyTerm.code == "late"))
        assert late.scalar_one_or_none() is not None  # the late write survives on the source
