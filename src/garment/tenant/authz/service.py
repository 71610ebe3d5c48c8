"""Tenant authorization: default roles, what a set of roles may do, and who may grant what.

Every method takes an RLS-bound session (`app.tenant_id` set) and the tenant id; the id is also
written explicitly and RLS checks it, so a wrong id fails instead of landing in another tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.errors import PERMISSION_DENIED, AppError, invalid
from garment.tenant.authz.errors import UNKNOWN_ROLES
from garment.tenant.authz.permissions import DEFAULT_ROLES
from garment.tenant.authz.repository import RoleRepository


class RoleService:
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
        return created

    async def permissions_for(
        self, session: AsyncSession, tenant_id: uuid.UUID, role_keys: Iterable[str]
    ) -> tuple[list[str], frozenset[str]]:
        """(the role keys that exist, the union of their permissions): a member's effective
        access. Keys of roles that no longer exist grant nothing."""
        granted = await RoleRepository(session).permissions_by_role(tenant_id, role_keys)
        permissions: set[str] = set()
        for role_permissions in granted.values():
            permissions |= role_permissions
        return sorted(granted), frozenset(permissions)

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
