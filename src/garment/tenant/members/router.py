"""Invitations on the Tenant API (`members.manage`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response, status

from garment.central.tenancy.schemas import InvitationList, InvitationOut, InvitationRequest
from garment.platform.errors import (
    CONFLICT,
    PLAN_LIMIT_REACHED,
    RESOURCE_NOT_FOUND,
    VALIDATION_FAILED,
)
from garment.platform.http.dependencies import CentralSession
from garment.platform.http.openapi import created, error_responses
from garment.platform.http.routing import Router
from garment.tenant.authz.dependencies import actor_of
from garment.tenant.context import (
    TENANT_CHAIN_ERRORS,
    RequirePermission,
    TenantMember,
    TenantSession,
)
from garment.tenant.conventions.dependencies import IDEMPOTENCY_ERRORS, ConventionRoute, Idempotent
from garment.tenant.members.dependencies import Members
from garment.tenant.members.schemas import MemberList, MemberOut, MemberRolesOut, MemberRolesUpdate

router = Router(prefix="/tenant/members", tags=["tenant"], route_class=ConventionRoute)

MembersManager = Annotated[TenantMember, Depends(RequirePermission("members.manage"))]


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationOut,
    summary="Invite someone by email with roles (a mail with a single-use link follows)",
    responses={
        **created(201, "Invited.", "The invitation (DELETE it to revoke)."),
        **error_responses(
            *TENANT_CHAIN_ERRORS,
            VALIDATION_FAILED,
            CONFLICT,
            PLAN_LIMIT_REACHED,
            *IDEMPOTENCY_ERRORS,
        ),
    },
)
async def invite(
    body: InvitationRequest,
    member: MembersManager,
    members: Members,
    db: TenantSession,
    idempotency: Idempotent,
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


MembersViewer = Annotated[TenantMember, Depends(RequirePermission("members.view"))]


@router.get(
    "",
    response_model=MemberList,
    summary="The tenant's active members with their roles, oldest first",
    responses=error_responses(*TENANT_CHAIN_ERRORS),
)
async def list_members(
    member: MembersViewer, members: Members, central: CentralSession
) -> MemberList:
    profiles = await members.list_members(central, member.tenant_id)
    return MemberList(data=[MemberOut.from_profile(profile) for profile in profiles])


@router.patch(
    "/{user_id:uuid}",
    response_model=MemberRolesOut,
    summary="Give a member exactly these roles (effective on their next request)",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT
    ),
)
async def change_member_roles(
    user_id: uuid.UUID,
    body: MemberRolesUpdate,
    member: MembersManager,
    members: Members,
    db: TenantSession,
    central: CentralSession,
) -> MemberRolesOut:
    record = await members.change_roles(central, db, actor_of(member), user_id, list(body.roles))
    return MemberRolesOut(user_id=record.user_id, roles=list(record.role_keys))


@router.delete(
    "/{user_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member (never the last owner); their next request is refused",
    responses=error_responses(
        *TENANT_CHAIN_ERRORS, VALIDATION_FAILED, RESOURCE_NOT_FOUND, CONFLICT
    ),
)
async def remove_member(
    user_id: uuid.UUID,
    member: MembersManager,
    members: Members,
    db: TenantSession,
    central: CentralSession,
) -> Response:
    await members.remove(central, db, actor_of(member), user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
