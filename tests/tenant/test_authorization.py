"""Authorization: the permission catalogue and default roles, custom roles gated by the plan,
the member list, role changes and removal with the last-owner and no-escalation rules, and
changes effective on the next request; `max_members` at the boundary."""

from __future__ import annotations

import uuid

import httpx

from garment.central.tenancy.models import Membership
from garment.runtime import Runtime
from garment.tenant.authz.permissions import DEFAULT_ROLES, PERMISSION_KEYS
from tests.auth.conftest import login, make_user
from tests.tenancy.conftest import TenantSetup, create_tenant, select_tenant, tenant_setup
from tests.tenant.conftest import Caller, field_errors, member_with_roles, owner_of, problem

ROLES = "/api/v1/tenant/roles"
MEMBERS = "/api/v1/tenant/members"
CUSTOMERS = "/api/v1/tenant/customers"
INVITATIONS = "/api/v1/tenant/members/invitations"
SPEC_RESOURCES = (
    "members", "roles", "taxonomies", "products", "materials", "customers", "quotations",
    "orders", "production", "makloon", "wages", "deliveries", "invoices", "tax", "webhooks",
    "billing", "audit", "settings",
)  # fmt: skip


async def test_the_catalogue_and_default_roles_are_served_and_seeded(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    served = await client.get("/api/v1/tenant/permissions", headers=owner.headers())
    keys = {p["key"] for p in served.json()["data"]}
    assert keys == PERMISSION_KEYS
    assert {key.split(".")[0] for key in keys} >= set(SPEC_RESOURCES)
    assert {"orders.approve", "production.record", "billing.view", "billing.manage"} <= keys

    roles = await client.get(ROLES, headers=owner.headers())
    assert roles.status_code == 200, roles.text
    by_key = {role["key"]: role for role in roles.json()["data"]}
    assert (
        set(by_key)
        == {r.key for r in DEFAULT_ROLES}
        == {"owner", "admin", "sales", "production", "operator", "finance", "viewer"}
    )
    assert set(by_key["owner"]["permissions"]) == PERMISSION_KEYS
    assert "billing.manage" not in by_key["admin"]["permissions"]
    assert by_key["operator"]["permissions"] == ["production.record"]
    assert all(key.endswith(".view") for key in by_key["viewer"]["permissions"])
    assert all(role["is_system"] for role in by_key.values())

    operator = await member_with_roles(runtime, client, setup, ["operator"])
    problem(await client.get(ROLES, headers=operator.headers()), 403, "PERMISSION_DENIED")


async def test_custom_roles_need_the_plan_feature(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner_user = await make_user(runtime)
    tenant = await create_tenant(runtime, owner_user, plan="starter")
    signed_in = await login(client, owner_user)
    token = await select_tenant(client, signed_in["access_token"], tenant.id)
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-ID": str(tenant.id)}
    refused = await client.post(
        ROLES,
        json={"key": "qc", "name_id": "QC", "name_en": "QC", "permissions": ["orders.view"]},
        headers=headers,
    )
    body = problem(refused, 402, "PLAN_FEATURE_UNAVAILABLE")
    assert body["feature"] == "custom_roles"


async def test_custom_role_crud_rules_and_next_request_effect(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)  # growth: custom roles
    owner = owner_of(setup)
    admin = await member_with_roles(runtime, client, setup, ["admin"])
    created = await client.post(
        ROLES,
        json={
            "key": "qc-lead",
            "name_id": "Kepala QC",
            "name_en": "QC lead",
            "permissions": ["customers.view"],
        },
        headers=admin.headers(),
    )
    assert created.status_code == 201, created.text
    role = created.json()
    assert role["permissions"] == ["customers.view"] and role["is_system"] is False

    # Validation names the field; unknown permission; duplicate key; escalation.
    invalid = await client.post(
        ROLES,
        json={"key": "X", "name_id": "", "name_en": "a", "permissions": ["nope"]},
        headers=admin.headers(),
    )
    assert {"body.key", "body.name_id", "body.permissions.0"} <= set(field_errors(invalid))
    again = await client.post(
        ROLES,
        json={"key": "qc-lead", "name_id": "a", "name_en": "a", "permissions": []},
        headers=admin.headers(),
    )
    problem(again, 409, "CONFLICT")
    escalate = await client.post(
        ROLES,
        json={"key": "payer", "name_id": "a", "name_en": "a", "permissions": ["billing.manage"]},
        headers=admin.headers(),
    )
    assert problem(escalate, 403, "PERMISSION_DENIED")["permission"] == "billing.manage"

    # A member with the custom role: its change shows on their next request.
    qc = await member_with_roles(runtime, client, setup, ["qc-lead"])
    assert (await client.get(CUSTOMERS, headers=qc.headers())).status_code == 200
    problem(
        await client.post(CUSTOMERS, json={"name": "A"}, headers=qc.headers()),
        403,
        "PERMISSION_DENIED",
    )
    changed = await client.patch(
        f"{ROLES}/{role['id']}",
        json={"permissions": ["customers.view", "customers.manage"]},
        headers=owner.headers(),
    )
    assert changed.status_code == 200, changed.text
    assert (
        await client.post(CUSTOMERS, json={"name": "A"}, headers=qc.headers())
    ).status_code == 201

    # Default roles are fixed; another tenant's role is not found.
    system_id = next(
        r["id"]
        for r in (await client.get(ROLES, headers=owner.headers())).json()["data"]
        if r["key"] == "sales"
    )
    fixed = await client.patch(
        f"{ROLES}/{system_id}", json={"name_en": "X"}, headers=owner.headers()
    )
    assert problem(fixed, 409, "CONFLICT")["reason"] == "system_role"
    other = await tenant_setup(runtime, client, cluster=setup.cluster)
    problem(
        await client.patch(
            f"{ROLES}/{role['id']}", json={"name_en": "X"}, headers=owner_of(other).headers()
        ),
        404,
        "RESOURCE_NOT_FOUND",
    )
    problem(
        await client.delete(f"{ROLES}/{role['id']}", headers=owner_of(other).headers()),
        404,
        "RESOURCE_NOT_FOUND",
    )
    sales = await member_with_roles(runtime, client, setup, ["sales"])
    problem(
        await client.delete(f"{ROLES}/{role['id']}", headers=sales.headers()),
        403,
        "PERMISSION_DENIED",
    )

    # A held role cannot be deleted; once nobody holds it, it can.
    held = await client.delete(f"{ROLES}/{role['id']}", headers=owner.headers())
    assert problem(held, 409, "CONFLICT")["reason"] == "role_in_use"
    moved = await client.patch(
        f"{MEMBERS}/{qc.user.id}", json={"roles": ["viewer"]}, headers=owner.headers()
    )
    assert moved.status_code == 200, moved.text
    assert (
        await client.delete(f"{ROLES}/{role['id']}", headers=owner.headers())
    ).status_code == 204
    assert role["id"] not in {
        r["id"] for r in (await client.get(ROLES, headers=owner.headers())).json()["data"]
    }


async def test_members_list_role_changes_and_removal(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)
    owner = owner_of(setup)
    admin = await member_with_roles(runtime, client, setup, ["admin"])
    sales = await member_with_roles(runtime, client, setup, ["sales"])

    listed = await client.get(MEMBERS, headers=sales.headers())
    problem(listed, 403, "PERMISSION_DENIED")  # sales lacks members.view
    listed = await client.get(MEMBERS, headers=admin.headers())
    assert listed.status_code == 200, listed.text
    rows = {row["user_id"]: row for row in listed.json()["data"]}
    assert rows[str(setup.owner.id)]["roles"] == ["owner"]
    assert rows[str(sales.user.id)]["roles"] == ["sales"]
    assert rows[str(admin.user.id)]["email"] == admin.user.email

    # The admin makes the sales member a viewer: effective on the next request.
    assert (await client.get(CUSTOMERS, headers=sales.headers())).status_code == 200
    changed = await client.patch(
        f"{MEMBERS}/{sales.user.id}", json={"roles": ["production"]}, headers=admin.headers()
    )
    assert changed.status_code == 200 and changed.json()["roles"] == ["production"]
    problem(await client.get(CUSTOMERS, headers=sales.headers()), 403, "PERMISSION_DENIED")

    # No escalation: an admin grants no owner role and cannot touch an owner.
    grant = await client.patch(
        f"{MEMBERS}/{sales.user.id}", json={"roles": ["owner"]}, headers=admin.headers()
    )
    problem(grant, 403, "PERMISSION_DENIED")
    demote = await client.patch(
        f"{MEMBERS}/{setup.owner.id}", json={"roles": ["viewer"]}, headers=admin.headers()
    )
    problem(demote, 403, "PERMISSION_DENIED")
    problem(
        await client.delete(f"{MEMBERS}/{setup.owner.id}", headers=admin.headers()),
        403,
        "PERMISSION_DENIED",
    )
    unknown = await client.patch(
        f"{MEMBERS}/{sales.user.id}", json={"roles": ["ghost"]}, headers=owner.headers()
    )
    assert "body.roles" in field_errors(unknown)
    assert "body.roles" in field_errors(
        await client.patch(
            f"{MEMBERS}/{sales.user.id}", json={"roles": []}, headers=owner.headers()
        )
    )

    # The last owner can be neither demoted nor removed; with a second owner, one can go.
    last = await client.patch(
        f"{MEMBERS}/{setup.owner.id}", json={"roles": ["admin"]}, headers=owner.headers()
    )
    assert problem(last, 409, "CONFLICT")["reason"] == "last_owner"
    gone = await client.delete(f"{MEMBERS}/{setup.owner.id}", headers=owner.headers())
    assert problem(gone, 409, "CONFLICT")["reason"] == "last_owner"
    promoted = await client.patch(
        f"{MEMBERS}/{admin.user.id}", json={"roles": ["owner"]}, headers=owner.headers()
    )
    assert promoted.status_code == 200
    stepped_down = await client.patch(
        f"{MEMBERS}/{setup.owner.id}", json={"roles": ["admin"]}, headers=owner.headers()
    )
    assert stepped_down.status_code == 200, stepped_down.text

    # Removal: the member's next request is refused; another tenant's member is not found.
    removed = await client.delete(f"{MEMBERS}/{sales.user.id}", headers=admin.headers())
    assert removed.status_code == 204, removed.text
    problem(
        await client.get("/api/v1/tenant/me", headers=sales.headers()), 403, "TENANT_ACCESS_DENIED"
    )
    other = await tenant_setup(runtime, client, cluster=setup.cluster)
    problem(
        await client.delete(f"{MEMBERS}/{other.owner.id}", headers=admin.headers()),
        404,
        "RESOURCE_NOT_FOUND",
    )
    problem(
        await client.patch(
            f"{MEMBERS}/{other.owner.id}", json={"roles": ["viewer"]}, headers=admin.headers()
        ),
        404,
        "RESOURCE_NOT_FOUND",
    )
    audit = await client.get(
        "/api/v1/tenant/audit-logs", params={"entity_type": "member"}, headers=admin.headers()
    )
    assert {row["action"] for row in audit.json()["data"]} == {"update", "delete"}


async def add_members(runtime: Runtime, setup: TenantSetup, count: int) -> None:
    for _ in range(count):
        user = await make_user(runtime)
        async with runtime.central.transaction() as session:
            session.add(
                Membership(
                    tenant_id=setup.tenant_id,
                    user_id=user.id,
                    status="active",
                    role_keys=["viewer"],
                )
            )
            await runtime.tenancy.member_changed(session, setup.tenant_id, user.id)


async def test_max_members_at_the_boundary(client: httpx.AsyncClient, runtime: Runtime) -> None:
    """starter: max_members 3, counting members and open invitations."""
    owner_user = await make_user(runtime)
    tenant = await create_tenant(runtime, owner_user, plan="starter")
    signed_in = await login(client, owner_user)
    token = await select_tenant(client, signed_in["access_token"], tenant.id)
    assert tenant.cluster_key is not None
    setup = TenantSetup(tenant.id, tenant.slug, tenant.cluster_key, owner_user, signed_in, token)
    owner = Caller(setup, owner_user, token)

    async def invite() -> httpx.Response:
        return await client.post(
            INVITATIONS,
            json={"email": f"staf-{uuid.uuid4().hex[:8]}@konveksi.id", "roles": ["viewer"]},
            headers=owner.headers(),
        )

    await add_members(runtime, setup, 1)  # usage 2 = limit - 1: one more fits
    assert (await invite()).status_code == 201
    at_limit = await invite()  # usage 3 = limit
    body = problem(at_limit, 402, "PLAN_LIMIT_REACHED")
    assert (body["limit"], body["usage"], body["maximum"]) == ("max_members", 3, 3)
    await add_members(runtime, setup, 1)  # usage 4 = limit + 1 (e.g. after a downgrade)
    beyond = problem(await invite(), 402, "PLAN_LIMIT_REACHED")
    assert beyond["usage"] == 4


async def test_role_updates_take_if_match_and_a_stale_version_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    setup = await tenant_setup(runtime, client)  # growth: custom roles
    other = await tenant_setup(runtime, client, cluster="secondary")
    owner = owner_of(setup)
    created = await client.post(
        ROLES,
        json={"key": "gudang", "name_id": "Gudang", "name_en": "Store", "permissions": []},
        headers=owner.headers(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.headers["ETag"] == '"1"'
    url = f"{ROLES}/{created.json()['id']}"
    renamed = await client.patch(
        url, json={"name_en": "Warehouse"}, headers=owner.headers(**{"If-Match": '"1"'})
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["version"] == 2 and renamed.headers["ETag"] == '"2"'
    # a permission change alone moves the version too (the permissions are other rows)
    granted = await client.patch(
        url, json={"permissions": ["materials.view"]}, headers=owner.headers(**{"If-Match": '"2"'})
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["version"] == 3
    # the same body again changes nothing and keeps the version
    same = await client.patch(
        url, json={"permissions": ["materials.view"]}, headers=owner.headers()
    )
    assert same.json()["version"] == 3
    for stale in ('"2"', '"1"', '"nonsense"'):
        problem(
            await client.patch(
                url,
                json={"name_en": "Overwritten", "permissions": ["customers.view"]},
                headers=owner.headers(**{"If-Match": stale}),
            ),
            409,
            "CONFLICT",
        )
    listed = {r["id"]: r for r in (await client.get(ROLES, headers=owner.headers())).json()["data"]}
    kept = listed[created.json()["id"]]
    assert (kept["name_en"], kept["permissions"], kept["version"]) == (
        "Warehouse",
        ["materials.view"],
        3,
    )
    problem(
        await client.patch(
            url, json={"name_en": "X"}, headers=owner_of(other).headers(**{"If-Match": '"3"'})
        ),
        404,
        "RESOURCE_NOT_FOUND",
    )
