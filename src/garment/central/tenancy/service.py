"""Tenants and memberships: onboarding, resolution for the tenant context, tenant tokens,
placement on clusters, lifecycle (suspend, resume) and invitations."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.tenants import TenantSummary
from garment.central.billing.catalogue import BILLING_INTERVALS, PLANS, plan_entitlements
from garment.central.clusters.service import ClusterService
from garment.central.tenancy.errors import INVITATION_EMAIL_MISMATCH, INVITATION_INVALID
from garment.central.tenancy.events import (
    MemberInvited,
    TenantCreated,
    TenantResumed,
    TenantSuspended,
)
from garment.central.tenancy.models import Invitation, Membership, ProvisioningStep, Tenant
from garment.platform.context import current_context
from garment.platform.errors import (
    CONFLICT,
    INVALID_STATE_TRANSITION,
    PLAN_LIMIT_REACHED,
    RESOURCE_NOT_FOUND,
    TENANT_ACCESS_DENIED,
    TENANT_CANCELLED,
    TENANT_NOT_FOUND,
    TENANT_PROVISIONING,
    TENANT_SUSPENDED,
    VALIDATION_FAILED,
    AppError,
)
from garment.platform.events import publish

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "www",
        "billing",
        "auth",
        "tenant",
        "tenants",
        "static",
        "docs",
        "status",
        "support",
        "garment",
        "help",
        "mail",
    }
)
PROVISIONING_STEPS = (
    "choose_cluster",
    "ensure_schema",
    "create_settings",
    "seed_roles",
    "seed_taxonomies",
    "grant_owner",
    "activate",
)
USABLE = "active"
INVITATION_DAYS = 7
RESOLVE_CACHE_SECONDS = 5.0


def _text(indonesian: str, english: str) -> str:
    from garment.platform.context import Locale

    return indonesian if current_context().locale is Locale.ID else english


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


def status_error(tenant: _HasStatus) -> AppError | None:
    """Why this tenant cannot be worked in right now, if it cannot."""
    if tenant.status in ("pending", "provisioning", "provisioning_failed"):
        return AppError(TENANT_PROVISIONING, extra={"status": tenant.status})
    if tenant.status == "suspended":
        return AppError(TENANT_SUSPENDED)
    if tenant.status == "cancelled":
        return AppError(TENANT_CANCELLED)
    return None


@dataclass(frozen=True, slots=True)
class TenantRef:
    """What the tenant context needs about a tenant, cacheable for a few seconds."""

    id: uuid.UUID
    slug: str
    name: str
    status: str
    cluster_key: str | None
    plan_code: str
    read_only: bool


def ref_of(tenant: Tenant) -> TenantRef:
    return TenantRef(
        tenant.id,
        tenant.slug,
        tenant.name,
        tenant.status,
        tenant.cluster_key,
        tenant.plan_code,
        tenant.read_only,
    )


class TenancyService:
    def __init__(self) -> None:
        self._refs: dict[str, tuple[float, TenantRef]] = {}

    # --- onboarding ------------------------------------------------------------------------

    async def create_tenant(
        self,
        session: AsyncSession,
        *,
        owner_id: uuid.UUID,
        name: str,
        slug: str,
        plan_code: str,
        billing_interval: str,
        region_hint: str | None = None,
    ) -> Tenant:
        slug = slug.strip().lower()
        problems: dict[str, list[str]] = {}
        if not SLUG.match(slug) or slug in RESERVED_SLUGS:
            problems["body.slug"] = [
                _text(
                    "Gunakan 3-63 huruf kecil, angka atau tanda hubung; "
                    "tidak boleh nama yang dicadangkan.",
                    "Use 3-63 lowercase letters, digits or hyphens; "
                    "reserved names are not allowed.",
                )
            ]
        if plan_code not in PLANS:
            problems["body.plan_code"] = [_text("Paket tidak dikenal.", "Unknown plan.")]
        if billing_interval not in BILLING_INTERVALS:
            problems["body.billing_interval"] = [
                _text("Harus monthly atau yearly.", "Must be monthly or yearly.")
            ]
        if not problems and await self._slug_taken(session, slug):
            problems["body.slug"] = [_text("Alamat ini sudah dipakai.", "This slug is taken.")]
        if problems:
            raise AppError(VALIDATION_FAILED, errors=problems)
        tenant = Tenant(
            id=uuid.uuid4(),
            slug=slug,
            name=name.strip(),
            status="provisioning",
            plan_code=plan_code,
            billing_interval=billing_interval,
            owner_user_id=owner_id,
            region_hint=region_hint,
        )
        session.add(tenant)
        await session.flush()
        session.add(
            Membership(tenant_id=tenant.id, user_id=owner_id, status="active", role_keys=["owner"])
        )
        for position, step in enumerate(PROVISIONING_STEPS):
            session.add(ProvisioningStep(tenant_id=tenant.id, step=step, position=position))
        await session.flush()
        await publish(
            session, TenantCreated(tenant_id=tenant.id, owner_user_id=owner_id, plan_code=plan_code)
        )
        return tenant

    async def _slug_taken(self, session: AsyncSession, slug: str) -> bool:
        found = await session.execute(select(Tenant.id).where(Tenant.slug == slug))
        return found.first() is not None

    # --- lookups ---------------------------------------------------------------------------

    async def get(self, session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
        return await session.get(Tenant, tenant_id)

    async def find(self, session: AsyncSession, id_or_slug: str) -> Tenant | None:
        try:
            tenant_id = uuid.UUID(id_or_slug)
        except ValueError:
            statement = select(Tenant).where(Tenant.slug == id_or_slug.strip().lower())
            return (await session.execute(statement)).scalar_one_or_none()
        return await session.get(Tenant, tenant_id)

    async def resolve(self, session: AsyncSession, id_or_slug: str) -> TenantRef:
        """The tenant named by an X-Tenant-ID header (uuid or slug), cached a few seconds so
        the hot path does not read the registry on every request; status changes in this
        process invalidate at once."""
        cached = self._refs.get(id_or_slug)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        tenant = await self.find(session, id_or_slug)
        if tenant is None:
            raise AppError(TENANT_NOT_FOUND)
        ref = ref_of(tenant)
        expires = time.monotonic() + RESOLVE_CACHE_SECONDS
        self._refs[id_or_slug] = (expires, ref)
        if len(self._refs) > 10_000:
            self._refs.clear()
        return ref

    def forget(self, tenant: Tenant) -> None:
        for key in (str(tenant.id), tenant.slug):
            self._refs.pop(key, None)

    async def membership(
        self, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
    ) -> Membership | None:
        return await session.get(Membership, (tenant_id, user_id))

    async def tenants_of(self, session: AsyncSession, user_id: uuid.UUID) -> list[TenantSummary]:
        """Implements auth's TenantDirectory: the user's active memberships."""
        rows = await session.execute(
            select(Tenant, Membership)
            .join(Membership, Membership.tenant_id == Tenant.id)
            .where(Membership.user_id == user_id, Membership.status == "active")
            .order_by(Tenant.name)
        )
        return [
            TenantSummary(
                id=tenant.id,
                slug=tenant.slug,
                name=tenant.name,
                status=tenant.status,
                roles=list(membership.role_keys),
                usable=tenant.status == USABLE,
                plan_code=tenant.plan_code,
            )
            for tenant, membership in rows
        ]

    async def require_usable_member(
        self, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
    ) -> Tenant:
        """For tenant-token issuance: an active member of a usable tenant."""
        tenant = await session.get(Tenant, tenant_id)
        membership = await self.membership(session, tenant_id, user_id)
        if tenant is None or membership is None or membership.status != "active":
            raise AppError(TENANT_ACCESS_DENIED)
        error = status_error(tenant)
        if error is not None:
            raise error
        return tenant

    async def set_member_roles(
        self, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, keys: list[str]
    ) -> None:
        """Mirror of the member's role keys (the tenant runtime owns the roles themselves)."""
        await session.execute(
            update(Membership)
            .where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
            .values(role_keys=sorted(keys), updated_at=datetime.now(UTC))
        )

    async def count_members(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
        statement = (
            select(func.count())
            .select_from(Membership)
            .where(Membership.tenant_id == tenant_id, Membership.status == "active")
        )
        return int((await session.execute(statement)).scalar_one())

    # --- placement -------------------------------------------------------------------------

    async def tenant_counts(self, session: AsyncSession) -> dict[str, int]:
        rows = await session.execute(
            select(Tenant.cluster_key, func.count())
            .where(Tenant.cluster_key.is_not(None), Tenant.status != "cancelled")
            .group_by(Tenant.cluster_key)
        )
        return {key: int(count) for key, count in rows if key is not None}

    async def choose_cluster(
        self, session: AsyncSession, configured: set[str], region_hint: str | None
    ) -> str | None:
        """The active, configured cluster with the most free capacity (region hint first)."""
        counts = await self.tenant_counts(session)
        clusters = await ClusterService().placeable(session, configured)
        candidates = [
            (cluster, cluster.capacity - counts.get(cluster.key, 0))
            for cluster in clusters
            if cluster.capacity - counts.get(cluster.key, 0) > 0
        ]
        if not candidates:
            return None
        candidates.sort(
            key=lambda item: (
                0 if region_hint and item[0].region == region_hint else 1,
                -item[1],
                item[0].key,
            )
        )
        return candidates[0][0].key

    # --- lifecycle -------------------------------------------------------------------------

    async def suspend(self, session: AsyncSession, tenant_id: uuid.UUID, reason: str) -> Tenant:
        tenant = await self._locked(session, tenant_id)
        if tenant.status == "suspended":
            return tenant
        if tenant.status != "active":
            raise AppError(
                INVALID_STATE_TRANSITION, params={"current": tenant.status, "target": "suspended"}
            )
        tenant.status, tenant.suspended_at = "suspended", datetime.now(UTC)
        self.forget(tenant)
        await publish(session, TenantSuspended(tenant_id=tenant.id, reason=reason))
        return tenant

    async def resume(self, session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
        tenant = await self._locked(session, tenant_id)
        if tenant.status == "active":
            return tenant
        if tenant.status != "suspended":
            raise AppError(
                INVALID_STATE_TRANSITION, params={"current": tenant.status, "target": "active"}
            )
        tenant.status, tenant.suspended_at = "active", None
        self.forget(tenant)
        await publish(session, TenantResumed(tenant_id=tenant.id))
        return tenant

    async def _locked(self, session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
        tenant = await session.get(Tenant, tenant_id, with_for_update=True)
        if tenant is None:
            raise AppError(TENANT_NOT_FOUND)
        return tenant

    # --- invitations -----------------------------------------------------------------------

    async def invite(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        email: str,
        role_keys: list[str],
        invited_by: uuid.UUID,
        existing_user_id: uuid.UUID | None = None,
    ) -> Invitation:
        """A single-use invitation valid 7 days. The mail listener mints the token it sends
        (only its hash is stored), like every other mailed token."""
        if existing_user_id is not None:
            membership = await self.membership(session, tenant_id, existing_user_id)
            if membership is not None and membership.status == "active":
                raise AppError(CONFLICT, extra={"reason": "already_member"})
        await self._check_member_limit(session, tenant_id)
        open_invitation = await session.execute(
            select(Invitation.id).where(
                Invitation.tenant_id == tenant_id,
                func.lower(Invitation.email) == email.strip().lower(),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > datetime.now(UTC),
            )
        )
        if open_invitation.first() is not None:
            raise AppError(CONFLICT)
        invitation = Invitation(
            tenant_id=tenant_id,
            email=email.strip(),
            role_keys=sorted(set(role_keys)),
            token_hash=token_hash(secrets.token_urlsafe(32)),  # replaced when the mail is sent
            invited_by=invited_by,
            expires_at=datetime.now(UTC) + timedelta(days=INVITATION_DAYS),
        )
        session.add(invitation)
        await session.flush()
        await publish(session, MemberInvited(invitation_id=invitation.id, tenant_id=tenant_id))
        return invitation

    async def _check_member_limit(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        """Members plus pending invitations may not exceed the plan's `max_members`."""
        tenant = await session.get(Tenant, tenant_id)
        if tenant is None:
            raise AppError(TENANT_NOT_FOUND)
        maximum = plan_entitlements(tenant.plan_code)["limits"].get("max_members")
        if maximum is None:
            return
        pending = (
            await session.execute(
                select(func.count())
                .select_from(Invitation)
                .where(
                    Invitation.tenant_id == tenant_id,
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                    Invitation.expires_at > datetime.now(UTC),
                )
            )
        ).scalar_one()
        usage = await self.count_members(session, tenant_id) + int(pending)
        if usage >= maximum:
            details = {"limit": "max_members", "usage": usage, "maximum": maximum}
            raise AppError(PLAN_LIMIT_REACHED, params=details, extra=details)

    async def mint_invitation_token(self, session: AsyncSession, invitation_id: uuid.UUID) -> str:
        """A fresh token for the invitation mail; an earlier mail's link stops working."""
        raw = secrets.token_urlsafe(32)
        await session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id)
            .values(token_hash=token_hash(raw))
        )
        return raw

    async def list_invitations(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> list[Invitation]:
        statement = (
            select(Invitation)
            .where(Invitation.tenant_id == tenant_id)
            .order_by(Invitation.created_at.desc())
            .limit(200)
        )
        return list((await session.execute(statement)).scalars().all())

    async def revoke_invitation(
        self, session: AsyncSession, tenant_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> None:
        invitation = await session.get(Invitation, invitation_id)
        # Another tenant's invitation is "not found", never "forbidden".
        if invitation is None or invitation.tenant_id != tenant_id:
            raise AppError(RESOURCE_NOT_FOUND)
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = datetime.now(UTC)

    async def accept_invitation(
        self, session: AsyncSession, raw_token: str, user_id: uuid.UUID, user_email: str
    ) -> tuple[Invitation, Tenant]:
        invitation = (
            await session.execute(
                select(Invitation)
                .where(Invitation.token_hash == token_hash(raw_token))
                .with_for_update()
            )
        ).scalar_one_or_none()
        now = datetime.now(UTC)
        if (
            invitation is None
            or invitation.accepted_at is not None
            or invitation.revoked_at is not None
            or invitation.expires_at <= now
        ):
            raise AppError(INVITATION_INVALID)
        if invitation.email.lower() != user_email.lower():
            raise AppError(INVITATION_EMAIL_MISMATCH)
        tenant = await session.get(Tenant, invitation.tenant_id)
        if tenant is None or tenant.status == "cancelled":
            raise AppError(INVITATION_INVALID)
        invitation.accepted_at, invitation.accepted_by = now, user_id
        membership = await self.membership(session, tenant.id, user_id)
        if membership is None:
            session.add(
                Membership(
                    tenant_id=tenant.id,
                    user_id=user_id,
                    status="active",
                    role_keys=list(invitation.role_keys),
                )
            )
        else:
            membership.status = "active"
            membership.role_keys = sorted(set(membership.role_keys) | set(invitation.role_keys))
        await session.flush()
        return invitation, tenant

    # --- steps (for CLI and status endpoints) ---------------------------------------------

    async def provisioning_steps(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> list[ProvisioningStep]:
        statement = (
            select(ProvisioningStep)
            .where(ProvisioningStep.tenant_id == tenant_id)
            .order_by(ProvisioningStep.position)
        )
        return list((await session.execute(statement)).scalars().all())

    async def list_tenants(
        self,
        session: AsyncSession,
        *,
        status: str | None = None,
        cluster: str | None = None,
        limit: int = 500,
    ) -> list[Tenant]:
        statement = select(Tenant).order_by(Tenant.created_at.desc()).limit(limit)
        if status:
            statement = statement.where(Tenant.status == status)
        if cluster:
            statement = statement.where(Tenant.cluster_key == cluster)
        return list((await session.execute(statement)).scalars().all())


def describe_tenant(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": str(tenant.id),
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "cluster": tenant.cluster_key,
        "plan": tenant.plan_code,
        "read_only": tenant.read_only,
        "created_at": tenant.created_at.isoformat() if tenant.created_at else None,
    }
