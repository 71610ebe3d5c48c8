"""Invitations on the Tenant API (`members.manage`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from garment.central.tenancy.schemas import (
    InvitationList,
    InvitationOut,
    InvitationRequest,
    invitation_out,
)
from garment.platform.context import Locale, current_context
from garment.platform.errors import (
    CONFLICT,
    PERMISSION_DENIED,
    PLAN_LIMIT_REACHED,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
    AppError,
)
from garment.platform.http.dependencies import CentralSession, RuntimeDep
from garment.platform.http.openapi import error_responses
from garment.tenant.authz.service import permissions_granted_by
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)

router = APIRouter(prefix="/tenant/members", tags=["tenant"])

MembersManager = Annotated[TenantMember, Depends(RequirePermission("members.manage"))]


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationOut,
    summary="Invite someone by email with roles (a mail with a single-use link follows)",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, CONFLICT, PLAN_LIMIT_REACHED
    ),
)
async def invite(
    body: InvitationRequest,
    member: MembersManager,
    db: TenantSession,
    central: CentralSession,
    runtime: RuntimeDep,
) -> InvitationOut:
    keys = sorted(set(body.roles))
    known, granted = await permissions_granted_by(db, member.tenant.id, keys)
    unknown = [key for key in keys if key not in known]
    if unknown:
        message = (
            "Peran tidak dikenal: " if current_context().locale is Locale.ID else "Unknown roles: "
        ) + ", ".join(unknown)
        raise AppError(VALIDATION_FAILED, errors={"body.roles": [message]})
    # Nobody grants a permission they lack (so only owners can make owners).
    missing = granted - member.permissions
    if missing:
        raise AppError(PERMISSION_DENIED, extra={"permission": sorted(missing)[0]})
    invitee = await runtime.auth.accounts.find_by_email(central, str(body.email))
    invitation = await runtime.tenancy.invite(
        central,
        member.tenant.id,
        email=str(body.email),
        role_keys=keys,
        invited_by=member.user.id,
        existing_user_id=invitee.id if invitee else None,
    )
    return invitation_out(invitation)


@router.get(
    "/invitations",
    response_model=InvitationList,
    summary="Invitations of this tenant, newest first",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def list_invitations(
    member: MembersManager, central: CentralSession, runtime: RuntimeDep
) -> InvitationList:
    invitations = await runtime.tenancy.list_invitations(central, member.tenant.id)
    return InvitationList(data=[invitation_out(invitation) for invitation in invitations])


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a pending invitation",
    responses=error_responses(*TENANT_CHAIN_ERRORS, RESOURCE_NOT_FOUND),
)
async def revoke_invitation(
    invitation_id: uuid.UUID,
    member: MembersManager,
    central: CentralSession,
    runtime: RuntimeDep,
) -> Response:
    await runtime.tenancy.revoke_invitation(central, member.tenant.id, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
