"""Tenant authorization: default roles, what a set of roles may do, and who may grant what.

Every method takes an RLS-bound session (`app.tenant_id` set) and the tenant id; the id is also
written explicitly and RLS checks it, so a wrong id fails instead of landing in another tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.clusters.service import ClusterConnectionManager
from garment.platform.cache import EVERYTHING, InvalidationBus, TtlCache
from garment.platform.errors import PERMISSION_DENIED, AppError, invalid
from garment.tenant.authz.errors import UNKNOWN_ROLES
from garment.tenant.authz.permissions import DEFAULT_ROLES
from garment.tenant.authz.repository import RoleRepository

ROLES_TOPIC = "roles"
ROLE_CACHE_SECONDS = 300.0

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
        self, invalidations: InvalidationBus, cluster_manager: ClusterConnectionManager
    ) -> None:
        self.invalidations = invalidations
        self.cluster_manager = cluster_manager
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
