"""`garment tenants ...` and `garment clusters ...` against the test databases (commands run in a
thread: they own their event loop and their own Runtime, like a separate process would)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from garment.central.clusters.models import Cluster
from garment.central.tenancy import mover as mover_module
from garment.central.tenancy.states import PROVISIONING_STEPS, BillingInterval
from garment.config import Settings, get_settings
from garment.platform.migrations import Tree, head_revision
from garment.runtime import Runtime
from tests.auth.conftest import make_user
from tests.conftest import garment
from tests.tenancy.conftest import TenantSetup, tenant_setup

ME = "/api/v1/tenant/me"


pytestmark = pytest.mark.usefixtures("cli_env")


async def garment_json(*args: str) -> Any:
    result = await garment(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def garment_json_failing(*args: str) -> Any:
    result = await garment(*args, "--json")
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


async def settles(
    probe: Callable[[], Awaitable[tuple[int, str | None]]], expected: tuple[int, str | None]
) -> tuple[int, str | None]:
    """What `probe` answers once this process heard of a change another process (a CLI
    command) made: invalidations reach every process within a second."""
    deadline = time.monotonic() + 1.0
    while True:
        answer = await probe()
        if answer == expected or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.02)


async def me_status(client: httpx.AsyncClient, setup: TenantSetup) -> tuple[int, str | None]:
    response = await client.get(ME, headers=setup.headers())
    code = response.json().get("code") if response.status_code != 200 else None
    return response.status_code, code


# --- tenants ---------------------------------------------------------------------------------


async def test_tenants_list_and_show(runtime: Runtime, client: httpx.AsyncClient) -> None:
    setup = await tenant_setup(runtime, client, cluster="secondary")

    listed = await garment_json("tenants", "list")
    mine = [row for row in listed if row["id"] == str(setup.tenant_id)]
    assert len(mine) == 1
    assert mine[0]["slug"] == setup.slug
    assert (mine[0]["status"], mine[0]["cluster"], mine[0]["plan"]) == (
        "active",
        "secondary",
        "growth",
    )
    assert mine[0]["read_only"] is False
    on_secondary = await garment_json("tenants", "list", "--cluster", "secondary")
    assert str(setup.tenant_id) in {row["id"] for row in on_secondary}
    assert {row["cluster"] for row in on_secondary} == {"secondary"}
    suspended = await garment_json("tenants", "list", "--status", "suspended")
    assert str(setup.tenant_id) not in {row["id"] for row in suspended}

    table = await garment("tenants", "list", "--cluster", "secondary")
    assert table.exit_code == 0
    assert "Tenants" in table.stdout and str(setup.tenant_id)[:8] in table.stdout  # truncated

    for ref in (setup.slug, str(setup.tenant_id)):
        shown = await garment_json("tenants", "show", ref)
        assert (shown["id"], shown["slug"], shown["status"]) == (
            str(setup.tenant_id),
            setup.slug,
            "active",
        )
        assert shown["members"] == 1
        assert [(s["step"], s["status"], s["attempts"]) for s in shown["provisioning"]] == [
            (step, "done", 1) for step in PROVISIONING_STEPS
        ]
    readable = await garment("tenants", "show", setup.slug)
    assert readable.exit_code == 0 and "seed_taxonomies" in readable.stdout

    missing = await garment("tenants", "show", "no-such-tenant")
    assert missing.exit_code == 1
    assert "TENANT_NOT_FOUND" in missing.output and "'no-such-tenant'" in missing.output


async def test_suspend_and_resume(runtime: Runtime, client: httpx.AsyncClient) -> None:
    setup = await tenant_setup(runtime, client)
    assert await me_status(client, setup) == (200, None)

    suspended = await garment("tenants", "suspend", setup.slug)
    assert suspended.exit_code == 0, suspended.output
    assert f"tenant {setup.slug}: suspended" in suspended.stdout
    suspended_answer = (402, "TENANT_SUSPENDED")
    assert await settles(lambda: me_status(client, setup), suspended_answer) == suspended_answer
    assert (await garment_json("tenants", "show", setup.slug))["status"] == "suspended"
    again = await garment("tenants", "suspend", setup.slug)  # idempotent
    assert again.exit_code == 0, again.output

    resumed = await garment("tenants", "resume", setup.slug)
    assert resumed.exit_code == 0, resumed.output
    assert f"tenant {setup.slug}: active" in resumed.stdout
    assert await settles(lambda: me_status(client, setup), (200, None)) == (200, None)
    assert (await garment("tenants", "resume", setup.slug)).exit_code == 0  # idempotent


async def test_suspending_a_tenant_that_is_not_active_is_refused(runtime: Runtime) -> None:
    owner = await make_user(runtime)
    async with runtime.central.transaction() as session:  # registered, still `provisioning`
        account = await runtime.auth.accounts.get(session, owner.id)
        assert account is not None
        tenant = await runtime.tenancy.create_tenant(
            session,
            owner=account,
            name="Konveksi Baru",
            slug=f"baru-{uuid.uuid4().hex[:10]}",
            plan_code="growth",
            billing_interval=BillingInterval.MONTHLY,
        )
    refused = await garment("tenants", "suspend", tenant.slug)
    assert refused.exit_code == 1
    assert "INVALID_STATE_TRANSITION" in refused.output
    assert (await garment_json("tenants", "show", tenant.slug))["status"] == "provisioning"


def words(text: str) -> str:
    """Rich wraps long lines at the console width; compare text with whitespace collapsed."""
    return " ".join(text.split())


async def test_move_through_the_cli(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI waits IN_FLIGHT_SECONDS + 1 for requests in flight elsewhere; keep that to 1 s.
    monkeypatch.setattr(mover_module, "IN_FLIGHT_SECONDS", 0.0)
    setup = await tenant_setup(runtime, client, cluster="default")
    before = await runtime.mover.fingerprints("default", setup.tenant_id)
    total = sum(fp.rows for fp in before.values())

    moved = await garment("tenants", "move", setup.slug, "--to", "secondary")
    assert moved.exit_code == 0, moved.output
    output = words(moved.stdout)
    assert f"moved tenant {setup.slug} from default to secondary: {total} rows verified" in output
    for name, fingerprint in before.items():
        assert f"{name}: {fingerprint.rows} rows" in output
    assert await runtime.mover.fingerprints("secondary", setup.tenant_id) == before
    source = await runtime.mover.fingerprints("default", setup.tenant_id)
    assert all(fp.rows == 0 for fp in source.values())
    shown = await garment_json("tenants", "show", setup.slug)
    assert (shown["cluster"], shown["read_only"]) == ("secondary", False)
    assert await settles(lambda: me_status(client, setup), (200, None)) == (200, None)

    # Refusals exit 1 and leave the tenant alone.
    nowhere = await garment("tenants", "move", setup.slug, "--to", "atlantis")
    assert nowhere.exit_code == 1
    assert "move aborted" in nowhere.output and "no configured URL" in words(nowhere.output)
    same = await garment("tenants", "move", setup.slug, "--to", "secondary")
    assert same.exit_code == 1
    assert "already lives on secondary" in words(same.output)
    shown = await garment_json("tenants", "show", setup.slug)
    assert (shown["cluster"], shown["read_only"]) == ("secondary", False)


async def test_move_json_output_is_a_json_report(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: progress lines must not precede the --json document on stdout."""
    monkeypatch.setattr(mover_module, "IN_FLIGHT_SECONDS", 0.0)
    setup = await tenant_setup(runtime, client, cluster="default")
    before = await runtime.mover.fingerprints("default", setup.tenant_id)

    report = await garment_json("tenants", "move", setup.slug, "--to", "secondary")
    assert (report["tenant_id"], report["from"], report["to"]) == (
        str(setup.tenant_id),
        "default",
        "secondary",
    )
    assert report["rows"] == sum(fp.rows for fp in before.values())
    assert report["tables"] == {
        name: {"rows": fp.rows, "checksum": fp.checksum} for name, fp in before.items()
    }


# --- clusters --------------------------------------------------------------------------------


async def test_clusters_list(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await tenant_setup(runtime, client, cluster="default")
    await tenant_setup(runtime, client, cluster="secondary")
    async with runtime.central.transaction() as session:
        counts = await runtime.tenancy.tenant_counts(session)

    rows = {row["key"]: row for row in await garment_json("clusters", "list")}
    head = head_revision(Tree.TENANT)
    for key in ("default", "secondary"):
        row = rows[key]
        assert row["status"] == "active"
        assert row["configured"] is True
        assert row["tenants"] == counts[key] >= 1
        assert row["capacity"] > 0
        assert row["revision"] == row["head"] == head
    table = await garment("clusters", "list")
    assert table.exit_code == 0
    assert "default" in table.stdout and "secondary" in table.stdout


def configure_only(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, keys: set[str]) -> None:
    """Pretend the configuration has URLs for exactly `keys` (placement reads the config)."""
    default = runtime.cluster_manager.targets["default"]
    monkeypatch.setattr(runtime.cluster_manager, "targets", dict.fromkeys(keys, default))


async def test_register_then_drain_takes_a_cluster_out_of_placement(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"jkt-{uuid.uuid4().hex[:6]}"
    region = f"region-{key}"
    registered = await garment("clusters", "register", key, "--capacity", "5", "--region", region)
    assert registered.exit_code == 0, registered.output
    assert f"registered {key} (capacity 5)" in registered.stdout
    assert "no URL" in registered.output  # not in GARMENT_CLUSTERS: a warning, not an error
    duplicate = await garment("clusters", "register", key, "--capacity", "9")
    assert duplicate.exit_code == 1

    rows = {row["key"]: row for row in await garment_json("clusters", "list")}
    assert rows[key]["status"] == "active"
    assert (rows[key]["capacity"], rows[key]["region"], rows[key]["tenants"]) == (5, region, 0)
    assert rows[key]["configured"] is False

    # Placement only considers configured clusters; pretend this one is, and ask for its region.
    configured = {"default", "secondary", key}

    async def choose(keys: set[str]) -> str | None:
        configure_only(runtime, monkeypatch, keys)
        try:
            async with runtime.central.transaction() as session:
                return await runtime.tenancy.choose_cluster(session, region)
        finally:
            monkeypatch.undo()

    assert await choose(configured) == key

    drained = await garment("clusters", "drain", key)
    assert drained.exit_code == 0, drained.output
    assert f"{key} is draining" in drained.stdout
    async with runtime.central.transaction() as session:
        cluster = await session.get(Cluster, key)
        assert cluster is not None
        assert cluster.status == "draining" and cluster.drained_at is not None
    assert await choose(configured) in {"default", "secondary"}
    assert await choose({key}) is None
    rows = {row["key"]: row for row in await garment_json("clusters", "list")}
    assert rows[key]["status"] == "draining"

    unknown = await garment("clusters", "drain", f"nope-{key}")
    assert unknown.exit_code == 1

    # `clusters update --status active` puts it back into placement; disabled takes it out.
    reactivated = await garment("clusters", "update", key, "--status", "active")
    assert reactivated.exit_code == 0, reactivated.output
    assert await choose(configured) == key
    disabled = await garment("clusters", "update", key, "--status", "disabled")
    assert disabled.exit_code == 0, disabled.output
    assert await choose({key}) is None


async def test_clusters_migrate_all_is_idempotent() -> None:
    head = head_revision(Tree.TENANT)
    for _ in range(2):
        rows = await garment_json("clusters", "migrate", "--all")
        assert {row["cluster"]: (row["before"], row["after"], row["error"]) for row in rows} == {
            "default": (head, head, None),
            "secondary": (head, head, None),
        }
    one = await garment("clusters", "migrate", "secondary")
    assert one.exit_code == 0, one.output
    assert "up to date" in one.stdout
    nothing = await garment("clusters", "migrate")
    assert nothing.exit_code == 2
    unconfigured = await garment_json_failing("clusters", "migrate", "atlantis")
    assert unconfigured == [
        {"cluster": "atlantis", "before": None, "after": None, "error": "no configured URL"}
    ]


BROKEN_CLUSTER = "postgresql://nobody:secret@127.0.0.1:1/nothing"  # nothing listens on port 1


def configure_broken_cluster(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third configured cluster whose server is not there."""
    monkeypatch.setenv(
        "GARMENT_CLUSTERS", json.dumps({**settings.clusters, "broken": BROKEN_CLUSTER})
    )
    get_settings.cache_clear()


async def test_one_failing_cluster_does_not_stop_the_others_migrating(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_broken_cluster(settings, monkeypatch)
    head = head_revision(Tree.TENANT)
    rows = {
        row["cluster"]: row for row in await garment_json_failing("clusters", "migrate", "--all")
    }
    assert set(rows) == {"broken", "default", "secondary"}
    for key in ("default", "secondary"):
        assert (rows[key]["before"], rows[key]["after"], rows[key]["error"]) == (head, head, None)
    assert rows["broken"]["after"] is None and rows["broken"]["error"]


async def test_clusters_migrate_json_output_survives_a_logged_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_broken_cluster(settings, monkeypatch)
    monkeypatch.setenv("GARMENT_LOG__LEVEL", "WARNING")
    get_settings.cache_clear()
    result = await garment("clusters", "migrate", "--all", "--json")
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)
    assert {row["cluster"] for row in rows} == {"broken", "default", "secondary"}
