"""Members and invitations as the Tenant API offers them: the tenant decides which roles exist
and who may grant them; tenancy keeps the memberships and invitations (central)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.tenancy.schemas import InvitationOut
from garment.central.tenancy.service import MemberProfile, MemberRecord, TenancyService
from garment.platform.errors import CONFLICT, PERMISSION_DENIED, RESOURCE_NOT_FOUND, AppError
from garment.tenant.audit.service import AuditAction, record_change
from garment.tenant.authz.service import Actor, RoleService
from garment.tenant.members.errors import LAST_OWNER, OWNER_ROLE


class MemberService:
    def __init__(self, *, tenancy: TenancyService, roles: RoleService) -> None:
        self.tenancy = tenancy
        self.roles = roles

    async def invite(
        self,
        central: AsyncSession,
        db: AsyncSession,
        *,
        tenant_id: uuid.UUID,
        inviter_id: uuid.UUID,
        inviter_permissions: frozenset[str],
        email: str,
        role_keys: list[str],
    ) -> InvitationOut:
        """Invite someone with roles that exist here and that the inviter could hold: nobody
        grants a permission they lack."""
        keys = await self.roles.check_grantable(db, tenant_id, role_keys, inviter_permissions)
        return await self.tenancy.invite(
            central, tenant_id, email=email, role_keys=keys, invited_by=inviter_id
        )

    async def invitations(self, central: AsyncSession, tenant_id: uuid.UUID) -> list[InvitationOut]:
        return await self.tenancy.list_invitations(central, tenant_id)

    async def revoke_invitation(
        self, central: AsyncSession, tenant_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> None:
        await self.tenancy.revoke_invitation(central, tenant_id, invitation_id)

    # --- the member list, role changes, removal ---------------------------------------------

    async def list_members(
        self, central: AsyncSession, tenant_id: uuid.UUID
    ) -> list[MemberProfile]:
        return await self.tenancy.active_members(central, tenant_id)

    async def _permissions_of(
        self, db: AsyncSession, tenant_id: uuid.UUID, role_keys: tuple[str, ...] | list[str]
    ) -> frozenset[str]:
        _, permissions = await self.roles.permissions_for(db, tenant_id, role_keys)
        return permissions

    async def _target(
        self, central: AsyncSession, db: AsyncSession, actor: Actor, user_id: uuid.UUID
    ) -> MemberRecord:
        """The member to change; someone holding a permission the actor lacks is out of the
        actor's reach (nobody takes away what they could not give)."""
        record = await self.tenancy.membership(central, actor.tenant_id, user_id)
        if record is None or not record.active:
            raise AppError(RESOURCE_NOT_FOUND)
        beyond = (
            await self._permissions_of(db, actor.tenant_id, record.role_keys) - actor.permissions
        )
        if beyond:
            raise AppError(PERMISSION_DENIED, extra={"permission": sorted(beyond)[0]})
        return record

    async def _check_not_last_owner(
        self, central: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        owners = await self.tenancy.members_holding(central, tenant_id, OWNER_ROLE, lock=True)
        if owners == [user_id]:
            raise AppError(CONFLICT, extra={"reason": LAST_OWNER})

    async def change_roles(
        self,
        central: AsyncSession,
        db: AsyncSession,
        actor: Actor,
        user_id: uuid.UUID,
        role_keys: list[str],
    ) -> MemberRecord:
        """Give a member exactly these roles: only roles the actor could grant, never to someone
        beyond the actor's reach, and never demoting the last owner. Effective on the member's
        next request (the membership cache is invalidated in every process)."""
        record = await self._target(central, db, actor, user_id)
        keys = await self.roles.check_grantable(db, actor.tenant_id, role_keys, actor.permissions)
        if OWNER_ROLE in record.role_keys and OWNER_ROLE not in keys:
            await self._check_not_last_owner(central, actor.tenant_id, user_id)
        changed = await self.tenancy.set_member_roles(central, actor.tenant_id, user_id, keys)
        await record_change(
            db,
            tenant_id=actor.tenant_id,
            actor_id=actor.user_id,
            action=AuditAction.UPDATE,
            entity_type="member",
            entity_id=user_id,
            before={"roles": sorted(record.role_keys)},
            after={"roles": list(changed.role_keys)},
        )
        return changed

    async def remove(
        self, central: AsyncSession, db: AsyncSession, actor: Actor, user_id: uuid.UUID
    ) -> None:
        """End a membership (the last owner stays); the member's next request is refused."""
        record = await self._target(central, db, actor, user_id)
        if OWNER_ROLE in record.role_keys:
            await self._check_not_last_owner(central, actor.tenant_id, user_id)
        await self.tenancy.remove_member(central, actor.tenant_id, user_id)
        await record_change(
            db,
            tenant_id=actor.tenant_id,
            actor_id=actor.user_id,
            action=AuditAction.DELETE,
            entity_type="member",
            entity_id=user_id,
            before={"roles": sorted(record.role_keys)},
        )

    async def delete_role(
        self, central: AsyncSession, db: AsyncSession, actor: Actor, role_id: uuid.UUID
    ) -> None:
        """Delete a custom role unless a member holds it."""
        key = await self.roles.role_key_of(db, actor.tenant_id, role_id)
        holders = (
            len(await self.tenancy.members_holding(central, actor.tenant_id, key)) if key else 0
        )
        await self.roles.delete_role(db, actor, role_id, holders=holders)
