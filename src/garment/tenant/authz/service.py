"""Tenant authorization data: seeding default roles, granting roles, effective permissions.

Every function takes an RLS-bound session (`app.tenant_id` set) and the tenant id; the id is
written explicitly and RLS checks it, so a wrong id fails instead of landing in another tenant.
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from garment.tenant.authz.models import MemberRole, Role, RolePermission
from garment.tenant.authz.permissions import DEFAULT_ROLES


async def seed_default_roles(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Insert the default roles and their permissions; re-running adds nothing."""
    created = 0
    for default in DEFAULT_ROLES:
        result = await session.execute(
            insert(Role)
            .values(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                key=default.key,
                name_id=default.name_id,
                name_en=default.name_en,
                is_system=True,
            )
            .on_conflict_do_nothing(index_elements=[Role.tenant_id, Role.key])
        )
        created += int(getattr(result, "rowcount", 0) or 0)
        role_id = (
            await session.execute(
                select(Role.id).where(Role.tenant_id == tenant_id, Role.key == default.key)
            )
        ).scalar_one()
        if default.permissions:
            await session.execute(
                insert(RolePermission)
                .values(
                    [
                        {"tenant_id": tenant_id, "role_id": role_id, "permission": permission}
                        for permission in sorted(default.permissions)
                    ]
                )
                .on_conflict_do_nothing()
            )
    return created


async def role_ids(
    session: AsyncSession, tenant_id: uuid.UUID, keys: list[str]
) -> dict[str, uuid.UUID]:
    rows = await session.execute(
        select(Role.key, Role.id).where(Role.tenant_id == tenant_id, Role.key.in_(keys))
    )
    return {row[0]: row[1] for row in rows}


async def grant_roles(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, keys: list[str]
) -> list[str]:
    """Give the member these roles (idempotent); returns the keys that exist."""
    found = await role_ids(session, tenant_id, keys)
    if found:
        await session.execute(
            insert(MemberRole)
            .values(
                [
                    {"tenant_id": tenant_id, "user_id": user_id, "role_id": role_id}
                    for role_id in found.values()
                ]
            )
            .on_conflict_do_nothing()
        )
    return sorted(found)


async def member_role_keys(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> list[str]:
    rows = await session.execute(
        select(Role.key)
        .join(
            MemberRole, (MemberRole.role_id == Role.id) & (MemberRole.tenant_id == Role.tenant_id)
        )
        .where(MemberRole.tenant_id == tenant_id, MemberRole.user_id == user_id)
        .order_by(Role.key)
    )
    return list(rows.scalars())


# Built once: part of every tenant request's authorization.
ROLES_AND_PERMISSIONS = (
    select(Role.key, RolePermission.permission)
    .join(MemberRole, (MemberRole.role_id == Role.id) & (MemberRole.tenant_id == Role.tenant_id))
    .join(
        RolePermission,
        (RolePermission.role_id == Role.id) & (RolePermission.tenant_id == Role.tenant_id),
        isouter=True,
    )
    .where(
        MemberRole.tenant_id == bindparam("tenant_id"), MemberRole.user_id == bindparam("user_id")
    )
)


async def roles_and_permissions(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[list[str], frozenset[str]]:
    """The member's role keys and the union of their permissions, in one query (the
    authorization step of every tenant request). Filtered by tenant explicitly although RLS
    already is: the application wall must hold on its own."""
    rows = await session.execute(
        ROLES_AND_PERMISSIONS, {"tenant_id": tenant_id, "user_id": user_id}
    )
    roles: set[str] = set()
    permissions: set[str] = set()
    for key, permission in rows:
        roles.add(key)
        if permission is not None:
            permissions.add(permission)
    return sorted(roles), frozenset(permissions)


async def permissions_granted_by(
    session: AsyncSession, tenant_id: uuid.UUID, keys: list[str]
) -> tuple[set[str], set[str]]:
    """(known role keys, the union of their permissions): what granting `keys` would give."""
    rows = await session.execute(
        select(Role.key, RolePermission.permission)
        .join(
            RolePermission,
            (RolePermission.role_id == Role.id) & (RolePermission.tenant_id == Role.tenant_id),
            isouter=True,
        )
        .where(Role.tenant_id == tenant_id, Role.key.in_(keys))
    )
    known: set[str] = set()
    granted: set[str] = set()
    for key, permission in rows:
        known.add(key)
        if permission:
            granted.add(permission)
    return known, granted
