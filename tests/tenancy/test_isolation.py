"""Tenant isolation, both walls proved separately (chapters 07 and 23).

The API wall is the tenant context chain: token scope and audience, `X-Tenant-ID`, the token's
`tid` against the header, membership and tenant status, and handlers that look rows up by
`(tenant, id)`. The RLS wall is PostgreSQL: on an RLS-bound session a query that forgets its
`WHERE tenant_id = ...` still sees only the bound tenant, an insert or update naming another
tenant fails, and a session bound to no tenant (or to '') sees nothing. Each wall is tested on
its own: the RLS tests talk to the cluster directly, without the API in front.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from garment.app import create_app
from garment.central.tenancy.models import Membership
from garment.platform.dbsetup import Targets
from garment.runtime import Runtime
from garment.tenant.taxonomies.defaults import DEFAULT_TERMS
from tests.auth.conftest import TestUser, bearer, login, make_user
from tests.conftest import make_client, settings_for
from tests.tenancy.conftest import TenantSetup, create_tenant, select_tenant, tenant_setup

ME = "/api/v1/tenant/me"
INVITATIONS = "/api/v1/tenant/members/invitations"
SEEDED_TERMS = len(DEFAULT_TERMS)

TENANT_TABLES_SQL = text(
    """
    SELECT c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     ORDER BY c.relname
    """
)
INSERT_TERM_SQL = text(
    "INSERT INTO taxonomy_terms (tenant_id, id, type, code, label_id, label_en) "
    "VALUES (:tenant_id, :id, 'custom', :code, 'Uji', 'Test')"
)


def code_of(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    code: str = body["code"]
    return code


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def is_rls_violation(error: BaseException) -> bool:
    """`new row violates row-level security policy` (SQLSTATE 42501 insufficient_privilege)."""
    return "row-level security" in str(error)


async def invite(
    client: httpx.AsyncClient, setup: TenantSetup, email: str, roles: list[str] | None = None
) -> httpx.Response:
    return await client.post(
        INVITATIONS,
        json={"email": email, "roles": roles or ["viewer"]},
        headers=setup.headers(),
    )


async def invitation_states(client: httpx.AsyncClient, setup: TenantSetup) -> dict[str, str]:
    response = await client.get(INVITATIONS, headers=setup.headers())
    assert response.status_code == 200, response.text
    return {row["id"]: row["status"] for row in response.json()["data"]}


async def tenant_tables(db: AsyncSession) -> list[str]:
    return list((await db.execute(TENANT_TABLES_SQL)).scalars().all())


async def add_member(
    runtime: Runtime, tenant_id: uuid.UUID, cluster: str, user: TestUser, roles: list[str]
) -> None:
    """An active member with `roles`, as accepting an invitation would leave it."""
    async with runtime.cluster_manager.tenant_transaction(cluster, tenant_id) as db:
        granted, _ = await runtime.roles.permissions_for(db, tenant_id, roles)
    assert granted == sorted(roles), "every role given exists on the cluster"
    async with runtime.central.transaction() as session:
        session.add(
            Membership(tenant_id=tenant_id, user_id=user.id, status="active", role_keys=granted)
        )


# --- the API wall ------------------------------------------------------------------------------


async def test_another_tenants_header_is_a_recorded_mismatch_suspicious_on_the_third(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await tenant_setup(runtime, client)
    b = await tenant_setup(runtime, client)
    # By id, by slug, by id again: the header resolves to B every time, the token names A.
    for header in (str(b.tenant_id), b.slug, str(b.tenant_id)):
        response = await client.get(ME, headers=a.headers(tenant=header))
        body = assert_problem(response, 403, "TENANT_CONTEXT_MISMATCH")
        # The answer names neither tenant (no slug -> id oracle); the activity row does.
        assert str(b.tenant_id) not in response.text
        assert "token_tenant_id" not in body and "header_tenant_id" not in body
    # The same token with its own tenant still works: the mismatch rejected the request only.
    assert (await client.get(ME, headers=a.headers())).status_code == 200

    activities = await client.get(
        "/api/v1/auth/activities",
        params={"type": "tenant_context_mismatch"},
        headers=bearer(a.session["access_token"]),
    )
    assert activities.status_code == 200, activities.text
    rows = activities.json()["data"]  # newest first
    assert len(rows) == 3
    assert [row["suspicious"] for row in rows] == [True, False, False]
    assert [row["reason"] for row in rows] == ["tenant_mismatch", None, None]
    sent = [str(b.tenant_id), b.slug, str(b.tenant_id)][::-1]  # newest first
    for row, header in zip(rows, sent, strict=True):
        # The row belongs to the token's tenant and keeps the header exactly as sent.
        assert row["type"] == "tenant_context_mismatch"
        assert row["user_id"] == str(a.owner.id)
        assert row["tenant_id"] == str(a.tenant_id)
        assert row["details"] == {"token_tenant_id": str(a.tenant_id), "header_tenant": header}
    # B's owner did nothing wrong and has no such activity.
    theirs = await client.get(
        "/api/v1/auth/activities",
        params={"type": "tenant_context_mismatch"},
        headers=bearer(b.session["access_token"]),
    )
    assert theirs.json()["data"] == []


async def test_a_member_of_both_tenants_still_needs_the_right_token(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await tenant_setup(runtime, client)
    b = await tenant_setup(runtime, client, owner=a.owner)
    assert a.owner.id == b.owner.id
    response = await client.get(INVITATIONS, headers=a.headers(tenant=str(b.tenant_id)))
    assert_problem(response, 403, "TENANT_CONTEXT_MISMATCH")
    assert (await client.get(INVITATIONS, headers=b.headers())).status_code == 200


async def test_another_tenants_row_id_is_not_found_and_left_alone(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await tenant_setup(runtime, client)
    b = await tenant_setup(runtime, client)
    created = await invite(client, b, f"penjahit-{uuid.uuid4().hex[:8]}@example.com")
    assert created.status_code == 201, created.text
    b_invitation = created.json()["id"]

    response = await client.delete(f"{INVITATIONS}/{b_invitation}", headers=a.headers())
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    # Not found looks exactly like a row that never existed: no hint that the id is taken.
    missing = await client.delete(f"{INVITATIONS}/{uuid.uuid4()}", headers=a.headers())
    assert_problem(missing, 404, "RESOURCE_NOT_FOUND")

    assert await invitation_states(client, b) == {b_invitation: "pending"}
    assert b_invitation not in await invitation_states(client, a)
    # B's owner can revoke it: the 404 above was the wall, not a broken route.
    assert (
        await client.delete(f"{INVITATIONS}/{b_invitation}", headers=b.headers())
    ).status_code == 204
    assert await invitation_states(client, b) == {b_invitation: "revoked"}


async def test_header_token_and_scope_errors(client: httpx.AsyncClient, runtime: Runtime) -> None:
    a = await tenant_setup(runtime, client)
    token_only = bearer(a.token)
    assert_problem(await client.get(ME, headers=token_only), 400, "TENANT_HEADER_MISSING")
    assert_problem(
        await client.get(ME, headers={**token_only, "X-Tenant-ID": "   "}),
        400,
        "TENANT_HEADER_MISSING",
    )
    # A header naming no tenant at all is a mismatch like any other: the header is compared
    # with the token's tenant, never looked up (see the indistinguishability test below).
    assert_problem(
        await client.get(ME, headers=a.headers(tenant=str(uuid.uuid4()))),
        403,
        "TENANT_CONTEXT_MISMATCH",
    )
    assert_problem(
        await client.get(ME, headers=a.headers(tenant="no-such-konveksi")),
        403,
        "TENANT_CONTEXT_MISMATCH",
    )
    # The token's own tenant by id or slug, in any case and with surrounding space, matches.
    for spelled in (str(a.tenant_id).upper(), f"  {a.slug.upper()} ", a.tenant_id.hex):
        response = await client.get(ME, headers=a.headers(tenant=spelled))
        assert response.status_code == 200, (spelled, response.text)
    # A central-scope token of the very same session: wrong audience for the Tenant API.
    central = a.headers(token=a.session["access_token"])
    assert_problem(await client.get(ME, headers=central), 401, "AUTH_TOKEN_INVALID")
    assert_problem(await client.get(INVITATIONS, headers=central), 401, "AUTH_TOKEN_INVALID")
    assert_problem(
        await client.get(ME, headers={"X-Tenant-ID": str(a.tenant_id)}), 401, "AUTH_TOKEN_MISSING"
    )


async def test_a_non_member_with_a_forged_header_is_blocked(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    b = await tenant_setup(runtime, client)
    outsider = await make_user(runtime)
    session = await login(client, outsider)
    denied = await client.post(
        "/api/v1/auth/tenant-token",
        json={"tenant_id": str(b.tenant_id)},
        headers=bearer(session["access_token"]),
    )
    assert_problem(denied, 403, "TENANT_ACCESS_DENIED")
    forged = {**bearer(session["access_token"]), "X-Tenant-ID": str(b.tenant_id)}
    assert_problem(await client.get(ME, headers=forged), 401, "AUTH_TOKEN_INVALID")
    assert_problem(
        await client.post(
            INVITATIONS, json={"email": "x@example.com", "roles": ["owner"]}, headers=forged
        ),
        401,
        "AUTH_TOKEN_INVALID",
    )
    # An outsider with a tenant of their own: their token names that tenant, not B.
    own = await tenant_setup(runtime, client, owner=outsider)
    assert_problem(
        await client.get(ME, headers=own.headers(tenant=str(b.tenant_id))),
        403,
        "TENANT_CONTEXT_MISMATCH",
    )
    assert await invitation_states(client, b) == {}


async def test_a_removed_member_is_denied_with_a_token_still_naming_the_tenant(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    b = await tenant_setup(runtime, client)
    member = await make_user(runtime)
    await add_member(runtime, b.tenant_id, b.cluster, member, ["viewer"])
    session = await login(client, member)
    token = await select_tenant(client, session["access_token"], b.tenant_id)
    assert (await client.get(ME, headers=b.headers(token=token))).status_code == 200
    # A viewer is a member but may not manage invitations (the permission, not the wall).
    body = assert_problem(
        await client.get(INVITATIONS, headers=b.headers(token=token)), 403, "PERMISSION_DENIED"
    )
    assert body["permission"] == "members.manage"

    async with runtime.central.transaction() as central:
        await runtime.tenancy.remove_member(central, b.tenant_id, member.id)
    assert_problem(
        await client.get(ME, headers=b.headers(token=token)), 403, "TENANT_ACCESS_DENIED"
    )


async def test_a_suspended_tenant_answers_402_until_resumed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await tenant_setup(runtime, client)
    async with runtime.central.transaction() as central:
        await runtime.tenancy.suspend(central, a.tenant_id, "test: unpaid invoice")
    assert_problem(await client.get(ME, headers=a.headers()), 402, "TENANT_SUSPENDED")
    assert_problem(
        await invite(client, a, f"baru-{uuid.uuid4().hex[:8]}@example.com"),
        402,
        "TENANT_SUSPENDED",
    )
    reselect = await client.post(
        "/api/v1/auth/tenant-token",
        json={"tenant_id": str(a.tenant_id)},
        headers=bearer(a.session["access_token"]),
    )
    assert_problem(reselect, 402, "TENANT_SUSPENDED")

    async with runtime.central.transaction() as central:
        await runtime.tenancy.resume(central, a.tenant_id)
    me = await client.get(ME, headers=a.headers())
    assert me.status_code == 200, me.text
    assert me.json()["tenant"]["status"] == "active"


# --- the RLS wall ------------------------------------------------------------------------------


@dataclass
class SameClusterPair:
    cluster: str
    a: uuid.UUID
    b: uuid.UUID


@pytest.fixture(scope="module")
async def pair(runtime: Runtime) -> SameClusterPair:
    """Two provisioned tenants on the same cluster, so only RLS separates their rows."""
    owner = await make_user(runtime)
    first = await create_tenant(runtime, owner, cluster="default")
    second = await create_tenant(runtime, owner, cluster="default")
    assert first.cluster_key == second.cluster_key == "default"
    return SameClusterPair("default", first.id, second.id)


async def test_a_query_without_where_sees_only_the_bound_tenant(
    runtime: Runtime, pair: SameClusterPair
) -> None:
    manager = runtime.cluster_manager
    for tenant in (pair.a, pair.b):
        async with manager.tenant_transaction(pair.cluster, tenant) as db:
            rows = (await db.execute(text("SELECT * FROM taxonomy_terms"))).mappings().all()
            assert len(rows) == SEEDED_TERMS
            assert {row["tenant_id"] for row in rows} == {tenant}
            for table in await tenant_tables(db):
                owners = (await db.execute(text(f"SELECT DISTINCT tenant_id FROM {table}"))).all()
                assert {row[0] for row in owners} <= {tenant}, table
            settings = (await db.execute(text("SELECT * FROM tenant_settings"))).mappings().all()
            assert [row["tenant_id"] for row in settings] == [tenant]


async def test_writes_naming_another_tenant_fail_or_touch_nothing(
    runtime: Runtime, pair: SameClusterPair
) -> None:
    manager = runtime.cluster_manager
    async with manager.tenant_transaction(pair.cluster, pair.b) as db:
        b_terms = {
            row.id: row.label_en
            for row in await db.execute(text("SELECT id, label_en FROM taxonomy_terms"))
        }
    victim = next(iter(b_terms))

    # INSERT with the other tenant's id: WITH CHECK rejects it.
    with pytest.raises(DBAPIError) as inserted:
        async with manager.tenant_transaction(pair.cluster, pair.a) as db:
            await db.execute(
                INSERT_TERM_SQL,
                {"tenant_id": pair.b, "id": uuid.uuid4(), "code": f"x-{uuid.uuid4().hex[:8]}"},
            )
    assert is_rls_violation(inserted.value), inserted.value

    # UPDATE moving an own row into the other tenant: WITH CHECK again.
    with pytest.raises(DBAPIError) as moved:
        async with manager.tenant_transaction(pair.cluster, pair.a) as db:
            await db.execute(
                text(
                    "UPDATE taxonomy_terms SET tenant_id = :other "
                    "WHERE id = (SELECT id FROM taxonomy_terms LIMIT 1)"
                ),
                {"other": pair.b},
            )
    assert is_rls_violation(moved.value), moved.value

    # UPDATE / DELETE of the other tenant's rows by primary key: invisible, so 0 rows.
    async with manager.tenant_transaction(pair.cluster, pair.a) as db:
        key = {"tenant_id": pair.b, "id": victim}
        updated = await db.execute(
            text(
                "UPDATE taxonomy_terms SET label_en = 'pwned' "
                "WHERE tenant_id = :tenant_id AND id = :id"
            ),
            key,
        )
        assert getattr(updated, "rowcount", None) == 0
        updated_all = await db.execute(
            text("UPDATE taxonomy_terms SET label_en = label_en WHERE tenant_id = :tenant_id"),
            {"tenant_id": pair.b},
        )
        assert getattr(updated_all, "rowcount", None) == 0
        deleted = await db.execute(
            text("DELETE FROM taxonomy_terms WHERE tenant_id = :tenant_id AND id = :id"), key
        )
        assert getattr(deleted, "rowcount", None) == 0
        deleted_roles = await db.execute(
            text("DELETE FROM roles WHERE tenant_id = :tenant_id"), {"tenant_id": pair.b}
        )
        assert getattr(deleted_roles, "rowcount", None) == 0

    async with manager.tenant_transaction(pair.cluster, pair.b) as db:
        after = {
            row.id: row.label_en
            for row in await db.execute(text("SELECT id, label_en FROM taxonomy_terms"))
        }
        assert after == b_terms
        roles = (await db.execute(text("SELECT count(*) FROM roles"))).scalar_one()
        assert roles > 0


async def test_no_tenant_bound_sees_nothing_and_writes_nothing(
    runtime: Runtime, pair: SameClusterPair
) -> None:
    manager = runtime.cluster_manager
    async with manager.transaction(pair.cluster) as db:
        tables = await tenant_tables(db)
        assert {
            "tenant_settings",
            "roles",
            "role_permissions",
            "taxonomy_terms",
        } <= set(tables)
        setting = (
            await db.execute(text("SELECT current_setting('app.tenant_id', true)"))
        ).scalar_one()
        assert setting in (None, "")
        for table in tables:
            count = (await db.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert count == 0, table
    with pytest.raises(DBAPIError) as inserted:
        async with manager.transaction(pair.cluster) as db:
            await db.execute(
                INSERT_TERM_SQL,
                {"tenant_id": pair.a, "id": uuid.uuid4(), "code": f"x-{uuid.uuid4().hex[:8]}"},
            )
    assert is_rls_violation(inserted.value), inserted.value


async def test_an_empty_tenant_setting_fails_closed(
    runtime: Runtime, pair: SameClusterPair
) -> None:
    async with runtime.cluster_manager.transaction(pair.cluster) as db:
        await db.execute(text("SELECT set_config('app.tenant_id', '', true)"))
        for table in await tenant_tables(db):
            count = (await db.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert count == 0, table
        deleted = await db.execute(text("DELETE FROM taxonomy_terms"))
        assert getattr(deleted, "rowcount", None) == 0
    async with runtime.cluster_manager.tenant_transaction(pair.cluster, pair.a) as db:
        count = (await db.execute(text("SELECT count(*) FROM taxonomy_terms"))).scalar_one()
        assert count == SEEDED_TERMS


# --- pooled connections ------------------------------------------------------------------------


async def test_a_reused_pooled_connection_carries_no_tenant(
    runtime: Runtime, client: httpx.AsyncClient, targets: Targets, tmp_path: Path
) -> None:
    setup = await tenant_setup(runtime, client)
    # One connection per pool: whatever runs next on the cluster runs on the request's connection.
    single = await Runtime.create(
        settings_for(targets, tmp_path, db_pool_size=1, db_max_overflow=0), migrate=False
    )
    try:
        async with make_client(create_app(runtime=single)) as http:
            me = await http.get(ME, headers=setup.headers())
            assert me.status_code == 200, me.text
        engine = single.cluster_manager.database(setup.cluster).engine
        async with single.cluster_manager.tenant_transaction(setup.cluster, setup.tenant_id) as db:
            bound_pid = (await db.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            bound = (
                await db.execute(text("SELECT current_setting('app.tenant_id', true)"))
            ).scalar_one()
            assert bound == str(setup.tenant_id)
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert pid == bound_pid  # the same physical connection, back from the pool
            setting = (
                await connection.execute(text("SELECT current_setting('app.tenant_id', true)"))
            ).scalar_one()
            assert setting in (None, "")
            terms = (
                await connection.execute(text("SELECT count(*) FROM taxonomy_terms"))
            ).scalar_one()
            assert terms == 0
    finally:
        await single.close()


# --- property: random operation sequences never cross tenants ----------------------------------


@dataclass
class TenantModel:
    """What one tenant should see: its invitations (id -> status) and its test terms."""

    setup: TenantSetup
    invitations: dict[str, str] = field(default_factory=dict)
    open_emails: dict[str, str] = field(default_factory=dict)  # email -> pending invitation id
    terms: set[uuid.UUID] = field(default_factory=set)


@dataclass
class World:
    client: httpx.AsyncClient
    runtime: Runtime
    tenants: list[TenantModel]
    tag: str


@pytest.fixture(scope="module")
async def world(runtime: Runtime, app: FastAPI) -> AsyncIterator[World]:
    """Three tenants: two on `default` (RLS is all that separates them), one on `secondary`;
    the first and the third share an owner (a member of several tenants)."""
    async with make_client(app) as http:
        t0 = await tenant_setup(runtime, http, cluster="default")
        t1 = await tenant_setup(runtime, http, cluster="default")
        t2 = await tenant_setup(runtime, http, cluster="secondary", owner=t0.owner)
        yield World(http, runtime, [TenantModel(t) for t in (t0, t1, t2)], uuid.uuid4().hex[:8])


@dataclass(frozen=True)
class Op:
    kind: str
    actor: int  # index of the tenant whose owner acts (with that tenant's token and header)
    target: int  # index of the tenant whose rows the operation names
    pick: int


OPS = st.builds(
    Op,
    kind=st.sampled_from(
        ["invite", "revoke", "list", "mismatch", "insert_term", "update_terms", "delete_term"]
    ),
    actor=st.integers(0, 2),
    target=st.integers(0, 2),
    pick=st.integers(0, 7),
)


async def apply(world: World, op: Op) -> None:
    client, manager = world.client, world.runtime.cluster_manager
    actor, target = world.tenants[op.actor], world.tenants[op.target]
    same = op.actor == op.target
    if op.kind == "invite":
        email = f"calon-{op.pick % 4}-{world.tag}@example.com"
        response = await invite(client, actor.setup, email)
        if email in actor.open_emails:
            assert_problem(response, 409, "CONFLICT")
        else:
            assert response.status_code == 201, response.text
            actor.invitations[response.json()["id"]] = "pending"
            actor.open_emails[email] = response.json()["id"]
    elif op.kind == "revoke":
        known = sorted(target.invitations)
        invitation = known[op.pick % len(known)] if known else str(uuid.uuid4())
        response = await client.delete(f"{INVITATIONS}/{invitation}", headers=actor.setup.headers())
        if same and invitation in target.invitations:
            assert response.status_code == 204, response.text
            target.invitations[invitation] = "revoked"
            actor.open_emails = {e: i for e, i in actor.open_emails.items() if i != invitation}
        else:
            assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    elif op.kind == "list":
        assert await invitation_states(client, actor.setup) == actor.invitations
    elif op.kind == "mismatch":
        headers = actor.setup.headers(tenant=str(target.setup.tenant_id))
        response = await client.get(INVITATIONS, headers=headers)
        if same:
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 403, "TENANT_CONTEXT_MISMATCH")
    elif op.kind == "insert_term":
        term = uuid.uuid4()
        values = {"tenant_id": target.setup.tenant_id, "id": term, "code": f"prop-{term.hex}"}
        cluster, tenant = actor.setup.cluster, actor.setup.tenant_id
        if same:
            async with manager.tenant_transaction(cluster, tenant) as db:
                await db.execute(INSERT_TERM_SQL, values)
            target.terms.add(term)
        else:
            # Same cluster or not, the id is not the bound tenant's: WITH CHECK rejects it.
            with pytest.raises(DBAPIError) as caught:
                async with manager.tenant_transaction(cluster, tenant) as db:
                    await db.execute(INSERT_TERM_SQL, values)
            assert is_rls_violation(caught.value), caught.value
    elif op.kind == "update_terms":
        ids = sorted(target.terms)
        async with manager.tenant_transaction(actor.setup.cluster, actor.setup.tenant_id) as db:
            result = await db.execute(
                text(
                    "UPDATE taxonomy_terms SET sort_order = sort_order + 1 "
                    "WHERE id = ANY(:ids) OR (tenant_id = :tenant_id AND code LIKE 'prop-%')"
                ),
                {"ids": ids, "tenant_id": target.setup.tenant_id},
            )
        assert getattr(result, "rowcount", None) == (len(ids) if same else 0)
    elif op.kind == "delete_term":
        ids = sorted(target.terms)
        term = ids[op.pick % len(ids)] if ids else uuid.uuid4()
        async with manager.tenant_transaction(actor.setup.cluster, actor.setup.tenant_id) as db:
            result = await db.execute(
                text("DELETE FROM taxonomy_terms WHERE tenant_id = :tenant_id AND id = :id"),
                {"tenant_id": target.setup.tenant_id, "id": term},
            )
        expected = 1 if same and term in target.terms else 0
        assert getattr(result, "rowcount", None) == expected
        if expected:
            target.terms.discard(term)
    else:  # pragma: no cover - the strategy draws only the kinds above
        raise AssertionError(op.kind)


async def check_invariant(world: World) -> None:
    """Every tenant sees exactly its own rows, through the API and through RLS."""
    for model in world.tenants:
        setup = model.setup
        assert await invitation_states(world.client, setup) == model.invitations
        async with world.runtime.cluster_manager.tenant_transaction(
            setup.cluster, setup.tenant_id
        ) as db:
            rows = (await db.execute(text("SELECT tenant_id, id, code FROM taxonomy_terms"))).all()
        assert {row.tenant_id for row in rows} == {setup.tenant_id}
        assert {row.id for row in rows if row.code.startswith("prop-")} == model.terms
        assert sum(1 for row in rows if not row.code.startswith("prop-")) == SEEDED_TERMS


@hypothesis_settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(OPS, min_size=1, max_size=8))
async def test_random_operation_sequences_never_cross_tenants(world: World, ops: list[Op]) -> None:
    # The world persists across examples (and shrinking); the model is updated with every
    # operation actually applied, so the invariant holds over the whole history.
    for op in ops:
        await apply(world, op)
        await check_invariant(world)
