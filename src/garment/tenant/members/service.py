"""Members and invitations as the Tenant API offers them: the tenant decides which roles exist
and who may grant them; tenancy keeps the memberships and invitations (central)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.tenancy.schemas import InvitationOut
from garment.central.tenancy.service import TenancyService
from garment.tenant.authz.service import RoleService


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
