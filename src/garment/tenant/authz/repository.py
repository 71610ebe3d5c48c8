"""Queries over roles and their permissions (every statement also filters by tenant: the
application wall holds without RLS, RLS holds without it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import String, any_, bindparam, delete, select
from sqlalchemy.dialects.postgresql import ARRAY, insert

from garment.platform.repository import Repository, affected_rows
from garment.tenant.authz.models import Role, RolePermission

# Built once: the permission look-up runs whenever a member's access is (re)computed.
PERMISSIONS_OF_ROLES = (
    select(Role.key, RolePermission.permission)
    .join(
        RolePermission,
        (RolePermission.role_id == Role.id) & (RolePermission.tenant_id == Role.tenant_id),
        isouter=True,
    )
    .where(
        Role.tenant_id == bindparam("tenant_id"),
        Role.key == any_(bindparam("keys", type_=ARRAY(String))),
    )
)


class RoleRepository(Repository[Role]):
    model = Role

    async def insert_if_missing(
        self, tenant_id: uuid.UUID, key: str, name_id: str, name_en: str, *, system: bool
    ) -> bool:
        """Insert the role unless the tenant has one with this key; True when inserted."""
        result = await self.session.execute(
            insert(Role)
            .values(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                key=key,
                name_id=name_id,
                name_en=name_en,
                is_system=system,
            )
            .on_conflict_do_nothing(index_elements=[Role.tenant_id, Role.key])
        )
        return affected_rows(result) > 0

    async def id_of(self, tenant_id: uuid.UUID, key: str) -> uuid.UUID | None:
        statement = select(Role.id).where(Role.tenant_id == tenant_id, Role.key == key)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def grant_permissions(
        self, tenant_id: uuid.UUID, role_id: uuid.UUID, permissions: Iterable[str]
    ) -> None:
        rows = [
            {"tenant_id": tenant_id, "role_id": role_id, "permission": permission}
            for permission in sorted(permissions)
        ]
        if rows:
            await self.session.execute(insert(RolePermission).values(rows).on_conflict_do_nothing())

    async def all_permissions_by_role(self, tenant_id: uuid.UUID) -> dict[str, frozenset[str]]:
        """Every role of the tenant with its permissions."""
        rows = await self.session.execute(
            select(Role.key, RolePermission.permission)
            .join(
                RolePermission,
                (RolePermission.role_id == Role.id) & (RolePermission.tenant_id == Role.tenant_id),
                isouter=True,
            )
            .where(Role.tenant_id == tenant_id)
        )
        granted: dict[str, set[str]] = {}
        for key, permission in rows:
            permissions = granted.setdefault(key, set())
            if permission is not None:
                permissions.add(permission)
        return {key: frozenset(permissions) for key, permissions in granted.items()}

    async def permissions_by_role(
        self, tenant_id: uuid.UUID, keys: Iterable[str]
    ) -> dict[str, set[str]]:
        """For each existing role among `keys`, its permissions (an empty set for none)."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = await self.session.execute(
            PERMISSIONS_OF_ROLES, {"tenant_id": tenant_id, "keys": wanted}
        )
        granted: dict[str, set[str]] = {}
        for key, permission in rows:
            permissions = granted.setdefault(key, set())
            if permission is not None:
                permissions.add(permission)
        return granted


class RoleAdminRepository(Repository[Role]):
    """The role list and custom-role writes of `/tenant/roles`."""

    model = Role

    async def listed(self, tenant_id: uuid.UUID) -> list[Role]:
        return await self.all(
            self.select()
            .where(Role.tenant_id == tenant_id)
            .order_by(Role.is_system.desc(), Role.key)
        )

    async def by_id(self, tenant_id: uuid.UUID, role_id: uuid.UUID) -> Role | None:
        return await self.get((tenant_id, role_id), for_update=True)

    async def by_key(self, tenant_id: uuid.UUID, key: str) -> Role | None:
        return await self.one_or_none(
            self.select().where(Role.tenant_id == tenant_id, Role.key == key)
        )

    async def permissions_of(self, tenant_id: uuid.UUID) -> dict[uuid.UUID, list[str]]:
        rows = await self.session.execute(
            select(RolePermission.role_id, RolePermission.permission)
            .where(RolePermission.tenant_id == tenant_id)
            .order_by(RolePermission.permission)
        )
        granted: dict[uuid.UUID, list[str]] = {}
        for role_id, permission in rows:
            granted.setdefault(role_id, []).append(permission)
        return granted

    async def replace_permissions(
        self, tenant_id: uuid.UUID, role_id: uuid.UUID, permissions: Iterable[str]
    ) -> None:
        await self.session.execute(
            delete(RolePermission).where(
                RolePermission.tenant_id == tenant_id, RolePermission.role_id == role_id
            )
        )
        rows = [
            {"tenant_id": tenant_id, "role_id": role_id, "permission": permission}
            for permission in sorted(set(permissions))
        ]
        if rows:
            await self.session.execute(insert(RolePermission).values(rows))
