"""Invitations on the Tenant API (`members.manage`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from garment.central.tenancy.schemas import InvitationList, InvitationOut, InvitationRequest
from garment.platform.errors import (
    CONFLICT,
    PLAN_LIMIT_REACHED,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
)
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import created, error_responses
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)
from garment.tenant.members.dependencies import Members

router = APIRouter(prefix="/tenant/members", tags=["tenant"])

MembersManager = Annotated[TenantMember, Depends(RequirePermission("members.manage"))]


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationOut,
    summary="Invite someone by email with roles (a mail with a single-use link follows)",
    responses={
        **created(201, "Invited.", "The invitation (DELETE it to revoke)."),
        **error_responses(*TENANT_CHAIN_ERRORS, VALIDATION_FAILED, CONFLICT, PLAN_LIMIT_REACHED),
    },
)
async def invite(
    body: InvitationRequest,
    member: MembersManager,
    members: Members,
    db: TenantSession,
    central: CentralSession,
    request: Request,
    response: Response,
) -> InvitationOut:
    invitation = await members.invite(
        central,
        db,
        tenant_id=member.tenant_id,
        inviter_id=member.user_id,
        inviter_permissions=member.permissions,
        email=str(body.email),
        role_keys=list(body.roles),
    )
    response.headers["Location"] = request.url_for(
        "revoke_invitation", invitation_id=str(invitation.id)
    ).path
    return invitation


@router.get(
    "/invitations",
    response_model=InvitationList,
    summary="Invitations of this tenant, newest first",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def list_invitations(
    member: MembersManager, members: Members, central: CentralSession
) -> InvitationList:
    return InvitationList(data=await members.invitations(central, member.tenant_id))


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a pending invitation",
    responses=error_responses(*TENANT_CHAIN_ERRORS, RESOURCE_NOT_FOUND),
)
async def revoke_invitation(
    invitation_id: uuid.UUID, member: MembersManager, members: Members, central: CentralSession
) -> Response:
    await members.revoke_invitation(central, member.tenant_id, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
