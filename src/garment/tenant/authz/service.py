"""Tenant authorization: default roles, what a set of roles may do, and who may grant what.

Every method takes an RLS-bound session (`app.tenant_id` set) and the tenant id; the id is also
written explicitly and RLS checks it, so a wrong id fails instead of landing in another tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.clusters.service import ClusterConnectionManager
from garment.platform.cache import EVERYTHING, InvalidationBus, TtlCache
from garment.platform.db import utcnow
from garment.platform.errors import (
    CONFLICT,
    PERMISSION_DENIED,
    RESOURCE_NOT_FOUND,
    AppError,
    invalid,
)
from garment.platform.versioning import apply_changes, check_version
from garment.tenant.audit.service import AuditAction, record_change
from garment.tenant.authz.errors import UNKNOWN_PERMISSIONS, UNKNOWN_ROLES
from garment.tenant.authz.models import Role
from garment.tenant.authz.permissions import DEFAULT_ROLE_KEYS, DEFAULT_ROLES, PERMISSION_KEYS
from garment.tenant.authz.repository import RoleAdminRepository, RoleRepository
from garment.tenant.conventions.service import Entitlements

ROLES_TOPIC = "roles"
ROLE_CACHE_SECONDS = 300.0
CUSTOM_ROLES_FEATURE = "custom_roles"

RoleTable = dict[str, frozenset[str]]  # role key -> its permissions, for one tenant
Access = tuple[list[str], frozenset[str]]  # (role keys that exist, effective permissions)


def access_from(table: RoleTable, role_keys: Iterable[str]) -> Access:
    """A member's effective access: the union of the permissions of their roles that exist
    (a key whose role was deleted grants nothing)."""
    held = sorted(key for key in set(role_keys) if key in table)
    permissions: frozenset[str] = frozenset().union(*(table[key] for key in held))
    return held, permissions


def default_access(role_keys: Iterable[str]) -> Access:
    """Access from the default roles' grants, for a tenant whose role definitions do not exist
    yet (not provisioned: it waits for its first payment)."""
    return access_from({role.key: role.permissions for role in DEFAULT_ROLES}, role_keys)


class RoleService:
    def __init__(
        self,
        invalidations: InvalidationBus,
        cluster_manager: ClusterConnectionManager,
        entitlements: Entitlements | None = None,
    ) -> None:
        self.invalidations = invalidations
        self.cluster_manager = cluster_manager
        self.entitlements = entitlements
        # Every tenant's role definitions (a handful of rows), kept until a change to them is
        # announced: permission checks then need no query at all.
        self._tables: TtlCache[uuid.UUID, RoleTable] = invalidations.cache(
            "roles", ttl_seconds=ROLE_CACHE_SECONDS
        )
        invalidations.subscribe(ROLES_TOPIC, self._forget)

    def _forget(self, key: str) -> None:
        if key == EVERYTHING:
            self._tables.clear()
        else:
            self._tables.drop(uuid.UUID(key))

    def roles_changed(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        """The tenant's role definitions changed in this (cluster) transaction: every process
        drops them once it commits."""
        self.invalidations.publish_after_commit(session, ROLES_TOPIC, str(tenant_id))

    async def seed_default_roles(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
        """Insert the default roles and their permissions; re-running adds nothing new.
        Returns how many roles were created."""
        roles = RoleRepository(session)
        created = 0
        for default in DEFAULT_ROLES:
            created += await roles.insert_if_missing(
                tenant_id, default.key, default.name_id, default.name_en, system=True
            )
            role_id = await roles.id_of(tenant_id, default.key)
            assert role_id is not None  # inserted or already there
            await roles.grant_permissions(tenant_id, role_id, default.permissions)
        self.roles_changed(session, tenant_id)
        return created

    async def access(
        self, tenant_id: uuid.UUID, cluster_key: str, role_keys: Iterable[str]
    ) -> Access:
        """The member's access for the permission check: from cached role definitions (no
        database at all), else read in a short tenant transaction of its own and cached."""
        table = self._tables.get(tenant_id)
        if table is not None:
            return access_from(table, role_keys)
        async with self.cluster_manager.tenant_transaction(cluster_key, tenant_id) as session:
            return await self.permissions_for(session, tenant_id, role_keys)

    async def permissions_for(
        self, session: AsyncSession, tenant_id: uuid.UUID, role_keys: Iterable[str]
    ) -> Access:
        """(the role keys that exist, the union of their permissions): a member's effective
        access, from the tenant's role definitions (cached until they change)."""

        async def load() -> RoleTable:
            return await RoleRepository(session).all_permissions_by_role(tenant_id)

        table = await self._tables.load(tenant_id, load)
        return access_from(table or {}, role_keys)

    async def check_grantable(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        role_keys: Iterable[str],
        granter_permissions: frozenset[str],
        *,
        field: str = "body.roles",
    ) -> list[str]:
        """The sorted keys, if they all exist and the granter holds every permission they
        carry: nobody grants a permission they lack (so only owners can make owners)."""
        keys = sorted(set(role_keys))
        granted = await RoleRepository(session).permissions_by_role(tenant_id, keys)
        unknown = [key for key in keys if key not in granted]
        if unknown:
            raise invalid(field, UNKNOWN_ROLES, roles=", ".join(unknown))
        carried = set().union(*granted.values()) if granted else set()
        missing = carried - granter_permissions
        if missing:
            raise AppError(PERMISSION_DENIED, extra={"permission": sorted(missing)[0]})
        return keys

    # --- the roles of `/tenant/roles` ---------------------------------------------------------

    async def list_roles(self, session: AsyncSession, tenant_id: uuid.UUID) -> list[RoleView]:
        roles = RoleAdminRepository(session)
        granted = await roles.permissions_of(tenant_id)
        return [view_of(role, granted.get(role.id, [])) for role in await roles.listed(tenant_id)]

    def _check_custom_roles(self, plan_code: str) -> None:
        if self.entitlements is not None:
            self.entitlements.require_feature(plan_code, CUSTOM_ROLES_FEATURE)

    async def create_role(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        key: str,
        name_id: str,
        name_en: str,
        permissions: Iterable[str],
    ) -> RoleView:
        """A custom role (plan feature `custom_roles`) with permissions the creator holds."""
        self._check_custom_roles(actor.plan_code)
        wanted = check_permissions(permissions, actor.permissions)
        roles = RoleAdminRepository(session)
        if key in DEFAULT_ROLE_KEYS or await roles.by_key(actor.tenant_id, key) is not None:
            raise AppError(CONFLICT, extra={"reason": "role_exists"})
        role = await roles.create(
            Role(
                tenant_id=actor.tenant_id,
                id=uuid.uuid4(),
                key=key,
                name_id=name_id,
                name_en=name_en,
                is_system=False,
            )
        )
        await roles.replace_permissions(actor.tenant_id, role.id, wanted)
        view = view_of(role, wanted)
        await self._audit(session, actor, AuditAction.CREATE, role.id, None, view)
        self.roles_changed(session, actor.tenant_id)
        return view

    async def _custom_role(self, session: AsyncSession, actor: Actor, role_id: uuid.UUID) -> Role:
        role = await RoleAdminRepository(session).by_id(actor.tenant_id, role_id)
        if role is None:
            raise AppError(RESOURCE_NOT_FOUND)
        if role.is_system:
            raise AppError(CONFLICT, extra={"reason": "system_role"})
        return role

    async def update_role(
        self,
        session: AsyncSession,
        actor: Actor,
        role_id: uuid.UUID,
        *,
        name_id: str | None,
        name_en: str | None,
        permissions: Iterable[str] | None,
        expected_version: int | None = None,
    ) -> RoleView:
        """Rename a custom role or replace its permissions: the editor must hold every
        permission the role has and every one it is given. Effective on each holder's next
        request. A stale `If-Match` version is 409 before anything changes."""
        self._check_custom_roles(actor.plan_code)
        role = await self._custom_role(session, actor, role_id)
        check_version(role, expected_version)
        roles = RoleAdminRepository(session)
        current = (await roles.permissions_of(actor.tenant_id)).get(role.id, [])
        before = view_of(role, current)
        check_permissions(current, actor.permissions)
        wanted = (
            current if permissions is None else check_permissions(permissions, actor.permissions)
        )
        changes: dict[str, object] = {
            "name_id": name_id or role.name_id,
            "name_en": name_en or role.name_en,
        }
        renamed = (changes["name_id"], changes["name_en"]) != (role.name_id, role.name_en)
        if renamed or wanted != sorted(current):
            # The permissions live in their own rows: touching the role row moves its version.
            changes["updated_at"] = utcnow()
        await apply_changes(session, role, expected_version, changes)
        if permissions is not None:
            await roles.replace_permissions(actor.tenant_id, role.id, wanted)
        await session.flush()
        view = view_of(role, wanted)
        await self._audit(session, actor, AuditAction.UPDATE, role.id, before, view)
        self.roles_changed(session, actor.tenant_id)
        return view

    async def delete_role(
        self, session: AsyncSession, actor: Actor, role_id: uuid.UUID, *, holders: int
    ) -> None:
        """Delete a custom role nobody holds (a held one is 409 `role_in_use`)."""
        role = await self._custom_role(session, actor, role_id)
        roles = RoleAdminRepository(session)
        current = (await roles.permissions_of(actor.tenant_id)).get(role.id, [])
        check_permissions(current, actor.permissions)
        if holders:
            raise AppError(CONFLICT, extra={"reason": "role_in_use", "holders": holders})
        before = view_of(role, current)
        await roles.delete(role)
        await session.flush()
        await self._audit(session, actor, AuditAction.DELETE, role.id, before, None)
        self.roles_changed(session, actor.tenant_id)

    async def role_key_of(
        self, session: AsyncSession, tenant_id: uuid.UUID, role_id: uuid.UUID
    ) -> str | None:
        role = await RoleAdminRepository(session).by_id(tenant_id, role_id)
        return role.key if role is not None else None

    async def _audit(
        self,
        session: AsyncSession,
        actor: Actor,
        action: str,
        role_id: uuid.UUID,
        before: RoleView | None,
        after: RoleView | None,
    ) -> None:
        await record_change(
            session,
            tenant_id=actor.tenant_id,
            actor_id=actor.user_id,
            action=action,
            entity_type="role",
            entity_id=role_id,
            before=before.audited() if before else None,
            after=after.audited() if after else None,
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who changes roles or members: plain values from the tenant context."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    plan_code: str
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class RoleView:
    id: uuid.UUID
    key: str
    name_id: str
    name_en: str
    is_system: bool
    permissions: list[str]
    version: int

    def audited(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name_id": self.name_id,
            "name_en": self.name_en,
            "permissions": self.permissions,
        }


def view_of(role: Role, permissions: Iterable[str]) -> RoleView:
    return RoleView(
        id=role.id,
        key=role.key,
        name_id=role.name_id,
        name_en=role.name_en,
        is_system=role.is_system,
        permissions=sorted(permissions),
        version=role.version,
    )


def check_permissions(permissions: Iterable[str], held: frozenset[str]) -> list[str]:
    """Sorted, known permissions the actor holds: unknown ones are a 422 on
    `body.permissions`, one the actor lacks is 403 (nobody grants what they lack)."""
    wanted = sorted(set(permissions))
    unknown = [key for key in wanted if key not in PERMISSION_KEYS]
    if unknown:
        raise invalid("body.permissions", UNKNOWN_PERMISSIONS, permissions=", ".join(unknown))
    missing = [key for key in wanted if key not in held]
    if missing:
        raise AppError(PERMISSION_DENIED, extra={"permission": missing[0]})
    return wanted
