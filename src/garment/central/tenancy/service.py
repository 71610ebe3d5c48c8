"""Tenants and memberships: onboarding, tenant selection, the tenant context's look-ups,
placement on clusters, lifecycle (suspend, resume) and invitations.

Other contexts get plain values from here (`TenantRef`, `MemberRecord`, `TenantSummary`) or the
HTTP schemas of this context, never the ORM rows.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.auth.ports import (
    ActivityType,
    AuthenticatedUser,
    Principal,
    TenantSummary,
    TokenScope,
)
from garment.central.auth.service import AuthService
from garment.central.billing.service import PlanCatalogue
from garment.central.clusters.service import ClusterRow, ClusterService, ProbeResult
from garment.central.tenancy.errors import (
    INVITATION_EMAIL_MISMATCH,
    INVITATION_INVALID,
    PLAN_UNKNOWN,
    SLUG_INVALID,
    SLUG_TAKEN,
    TENANT_SLUG_TAKEN,
)
from garment.central.tenancy.events import (
    MemberInvited,
    TenantCancelled,
    TenantCreated,
    TenantResumed,
    TenantSuspended,
)
from garment.central.tenancy.jobs import PROVISION_TASK, provisioning_dedupe_key
from garment.central.tenancy.models import Invitation, Membership, ProvisioningStep, Tenant
from garment.central.tenancy.repository import (
    InvitationRepository,
    MembershipRepository,
    ProvisioningStepRepository,
    TenantRepository,
    member_tenants,
)
from garment.central.tenancy.schemas import (
    RESERVED_SLUGS,
    SLUG_PATTERN,
    InvitationOut,
    ProvisioningStepOut,
    TenantDetail,
)
from garment.central.tenancy.states import (
    BILLING_REACHABLE,
    NOT_PROVISIONED,
    PROVISIONING_STEPS,
    BillingInterval,
    InvitationState,
    MembershipStatus,
    StepStatus,
    SuspensionSource,
    TenantStatus,
    can_transition,
)
from garment.platform.cache import InvalidationBus, TtlCache
from garment.platform.db import Database
from garment.platform.errors import (
    AUTH_EMAIL_NOT_VERIFIED,
    CONFLICT,
    INVALID_STATE_TRANSITION,
    PLAN_LIMIT_REACHED,
    RESOURCE_NOT_FOUND,
    TENANT_ACCESS_DENIED,
    TENANT_CANCELLED,
    TENANT_NOT_FOUND,
    TENANT_PROVISIONING,
    TENANT_SUSPENDED,
    AppError,
    FieldErrors,
)
from garment.platform.events import DomainEvent, publish
from garment.platform.jobs import JobQueue
from garment.platform.token_hashing import TokenHasher

SLUG = re.compile(SLUG_PATTERN)
INVITATION_DAYS = 7
OWNER_ROLE = "owner"
TENANT_TOPIC = "tenant"
MEMBER_TOPIC = "member"
CACHE_SECONDS = 300.0

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TenantRef:
    """What the tenant context needs about a tenant, cacheable for a few seconds."""

    id: uuid.UUID
    slug: str
    name: str
    status: TenantStatus
    cluster_key: str | None
    plan_code: str
    read_only: bool
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A membership as the tenant context sees it."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    status: MembershipStatus
    role_keys: tuple[str, ...]

    @property
    def active(self) -> bool:
        return self.status is MembershipStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class MemberProfile:
    """An active member as the tenant's member list shows it."""

    user_id: uuid.UUID
    email: str
    name: str
    role_keys: tuple[str, ...]
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One provisioning step as operators see it."""

    step: str
    status: StepStatus
    attempts: int
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class TenantLifecycle:
    """When a tenant reached each stage, as recorded on its row (operators' timelines; there
    is no status history table, so `updated_at` is the last change of any kind)."""

    id: uuid.UUID
    slug: str
    status: TenantStatus
    cluster_key: str | None
    owner_user_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    provisioned_at: datetime | None
    suspended_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class MembershipHistory:
    """A membership in any status with its timestamps (operators' timelines)."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    status: MembershipStatus
    role_keys: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class InvitationHistory:
    """An invitation with what became of it (operators' timelines)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role_keys: tuple[str, ...]
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    accepted_by: uuid.UUID | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class TenantToken:
    access_token: str
    expires_in: int
    scope: TokenScope
    tenant: TenantSummary | None


@dataclass(frozen=True, slots=True)
class ClusterOverview:
    """A cluster registry row with its tenant count and breaker state (platform admins)."""

    key: str
    status: str
    capacity: int
    region: str | None
    configured: bool
    tenants: int
    breaker: str


def status_error(status: TenantStatus) -> AppError | None:
    """Why a tenant with this status cannot be worked in right now, if it cannot."""
    if status in NOT_PROVISIONED:
        return AppError(TENANT_PROVISIONING, extra={"tenant_status": status.value})
    if status is TenantStatus.SUSPENDED:
        return AppError(TENANT_SUSPENDED)
    if status is TenantStatus.CANCELLED:
        return AppError(TENANT_CANCELLED)
    return None


def ref_of(tenant: Tenant) -> TenantRef:
    return TenantRef(
        tenant.id,
        tenant.slug,
        tenant.name,
        TenantStatus(tenant.status),
        tenant.cluster_key,
        tenant.plan_code,
        tenant.read_only,
        tenant.created_at,
    )


def summary_of(tenant: Tenant, roles: list[str] | tuple[str, ...]) -> TenantSummary:
    return tenant_summary(
        tenant.id, tenant.slug, tenant.name, tenant.status, tenant.plan_code, roles
    )


def tenant_summary(
    tenant_id: uuid.UUID,
    slug: str,
    name: str,
    status: str,
    plan_code: str,
    roles: list[str] | tuple[str, ...],
) -> TenantSummary:
    """A tenant as one of its members sees it, from an ORM row (`summary_of`) or a driver
    record (`MembershipDirectory.tenants_of`)."""
    return TenantSummary(
        id=tenant_id,
        slug=slug,
        name=name,
        status=status,
        roles=sorted(roles),
        usable=status == TenantStatus.ACTIVE,
        plan_code=plan_code,
    )


def record_of(membership: Membership) -> MemberRecord:
    return MemberRecord(
        membership.tenant_id,
        membership.user_id,
        MembershipStatus(membership.status),
        tuple(sorted(membership.role_keys)),
    )


def describe_tenant(tenant: TenantRef | Tenant) -> dict[str, Any]:
    """A tenant as operator commands and the admin API print it."""
    created = tenant.created_at
    return {
        "id": str(tenant.id),
        "slug": tenant.slug,
        "name": tenant.name,
        "status": str(tenant.status),
        "cluster": tenant.cluster_key,
        "plan": tenant.plan_code,
        "read_only": tenant.read_only,
        "created_at": created.isoformat() if created else None,
    }


class MembershipDirectory:
    """Implements auth's `TenantDirectory` port: the tenants a user belongs to, for the login
    response and `/auth/tenants`. Built before `AuthService`, which it does not need."""

    def __init__(self, central: Database) -> None:
        self.central = central

    async def tenants_of(self, user_id: uuid.UUID) -> list[TenantSummary]:
        """The user's active memberships, read alone (one round trip, no unit of work)."""
        return [
            tenant_summary(
                row["id"],
                row["slug"],
                row["name"],
                row["status"],
                row["plan_code"],
                row["role_keys"],
            )
            for row in await member_tenants(self.central, user_id)
        ]


class TenancyService:
    def __init__(
        self,
        *,
        auth: AuthService,
        clusters: ClusterService,
        plans: PlanCatalogue,
        jobs: JobQueue,
        hasher: TokenHasher,
        directory: MembershipDirectory,
        invalidations: InvalidationBus,
        central: Database,
    ) -> None:
        self.central = central
        self.auth = auth
        self.clusters = clusters
        self.plans = plans
        self.jobs = jobs
        self.hasher = hasher
        self.directory = directory
        self.invalidations = invalidations
        # What the tenant context reads on every request, kept until a change invalidates it
        # in every process (tenant rows by id; memberships and member counts per tenant).
        self._tenants: TtlCache[uuid.UUID, TenantRef] = invalidations.cache(
            "tenants", ttl_seconds=CACHE_SECONDS
        )
        self._members: TtlCache[tuple[uuid.UUID, uuid.UUID], MemberRecord] = invalidations.cache(
            "members", ttl_seconds=CACHE_SECONDS
        )
        self._member_counts: TtlCache[uuid.UUID, int] = invalidations.cache(
            "member_counts", ttl_seconds=CACHE_SECONDS
        )
        invalidations.subscribe(TENANT_TOPIC, lambda key: self._tenants.drop(uuid.UUID(key)))
        invalidations.subscribe(MEMBER_TOPIC, self._forget_member)

    def _forget_member(self, key: str) -> None:
        tenant, _, user = key.partition(":")
        tenant_id = uuid.UUID(tenant)
        self._members.drop((tenant_id, uuid.UUID(user)))
        self._member_counts.drop(tenant_id)

    async def tenant_changed(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        """The tenant row changed (status, cluster, read-only, plan): every process drops it
        when this transaction commits."""
        await self.invalidations.publish_in(session, TENANT_TOPIC, str(tenant_id))

    async def member_changed(
        self, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        """A membership changed (status or roles): every process drops it at commit."""
        await self.invalidations.publish_in(session, MEMBER_TOPIC, f"{tenant_id}:{user_id}")

    # --- onboarding ------------------------------------------------------------------------

    async def create_tenant(
        self,
        session: AsyncSession,
        *,
        owner: AuthenticatedUser,
        name: str,
        slug: str,
        plan_code: str,
        billing_interval: BillingInterval,
        region_hint: str | None = None,
    ) -> TenantSummary:
        """Register the tenant, make the creator its owner and, on a trial plan, enqueue
        provisioning in the same transaction (status `provisioning`): the job exists exactly
        when the tenant does. On a paid plan without a trial the tenant waits (`pending`)
        until billing reports its first invoice paid (`start_provisioning`)."""
        if not owner.email_verified:
            raise AppError(AUTH_EMAIL_NOT_VERIFIED)
        slug = slug.strip().lower()
        self._check_new_tenant(slug, plan_code)
        # Counted per user: one account must not fill a cluster with tenants.
        await self.auth.components.limiter.enforce(
            self.auth.components.settings.rate_limit.tenant_creation, "tenant-create", str(owner.id)
        )
        at_once = self.plans.provisions_at_once(plan_code)
        tenant = await TenantRepository(session).claim(
            {
                "id": uuid.uuid4(),
                "slug": slug,
                "name": name.strip(),
                "status": TenantStatus.PROVISIONING if at_once else TenantStatus.PENDING,
                "plan_code": plan_code,
                "billing_interval": billing_interval,
                "owner_user_id": owner.id,
                "region_hint": region_hint,
            }
        )
        if tenant is None:
            # Well formed, but another tenant has it: a conflict with what exists, not bad input.
            taken = FieldErrors()
            taken.add("body.slug", SLUG_TAKEN)
            raise AppError(TENANT_SLUG_TAKEN, errors=taken.errors)
        MembershipRepository(session).add(
            Membership(
                tenant_id=tenant.id,
                user_id=owner.id,
                status=MembershipStatus.ACTIVE,
                role_keys=[OWNER_ROLE],
            )
        )
        steps = ProvisioningStepRepository(session)
        for position, step in enumerate(PROVISIONING_STEPS):
            steps.add(ProvisioningStep(tenant_id=tenant.id, step=step, position=position))
        await session.flush()
        await publish(
            session,
            TenantCreated(
                tenant_id=tenant.id,
                owner_user_id=owner.id,
                plan_code=plan_code,
                billing_interval=billing_interval,
                provisioning=at_once,
            ),
        )
        if at_once:
            await self._enqueue_provisioning(session, tenant.id)
        return summary_of(tenant, [OWNER_ROLE])

    async def _enqueue_provisioning(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        await self.jobs.enqueue_in(
            session,
            PROVISION_TASK,
            {"tenant_id": str(tenant_id)},
            dedupe_key=provisioning_dedupe_key(tenant_id),
        )

    async def start_provisioning(self, session: AsyncSession, tenant_id: uuid.UUID) -> TenantRef:
        """A tenant waiting for its first payment (`pending`) starts provisioning: billing
        calls this when the first invoice is paid. Any other status changes nothing."""
        tenant = await TenantRepository(session).get(tenant_id, for_update=True)
        if tenant is None:
            raise AppError(TENANT_NOT_FOUND)
        if tenant.status == TenantStatus.PENDING:
            tenant.status = TenantStatus.PROVISIONING
            await self.tenant_changed(session, tenant.id)
            await self._enqueue_provisioning(session, tenant.id)
        return ref_of(tenant)

    async def set_plan(
        self, session: AsyncSession, tenant_id: uuid.UUID, plan_code: str, interval: str
    ) -> TenantRef:
        """The tenant's plan (its entitlements) as billing decided it."""
        tenant = await TenantRepository(session).get(tenant_id, for_update=True)
        if tenant is None:
            raise AppError(TENANT_NOT_FOUND)
        if tenant.plan_code != plan_code or tenant.billing_interval != interval:
            tenant.plan_code = plan_code
            tenant.billing_interval = BillingInterval(interval)
            await self.tenant_changed(session, tenant.id)
        return ref_of(tenant)

    def _check_new_tenant(self, slug: str, plan_code: str) -> None:
        problems = FieldErrors()
        if not SLUG.match(slug) or slug in RESERVED_SLUGS:
            problems.add("body.slug", SLUG_INVALID)
        if not self.plans.exists(plan_code):
            problems.add("body.plan_code", PLAN_UNKNOWN)
        problems.raise_if_any()

    # --- what members see ------------------------------------------------------------------

    async def tenants_of(self, user_id: uuid.UUID) -> list[TenantSummary]:
        return await self.directory.tenants_of(user_id)

    async def detail_for_member(
        self, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
    ) -> TenantDetail:
        """A tenant the caller is an active member of, with its provisioning progress;
        anyone else's tenant is "not found"."""
        tenant = await TenantRepository(session).get(tenant_id)
        membership = await MembershipRepository(session).of(tenant_id, user_id)
        if tenant is None or membership is None or membership.status != MembershipStatus.ACTIVE:
            raise AppError(RESOURCE_NOT_FOUND)
        steps = await ProvisioningStepRepository(session).of_tenant(tenant_id)
        return TenantDetail.model_validate(
            {
                **asdict(summary_of(tenant, membership.role_keys)),
                "created_at": tenant.created_at,
                "provisioned_at": tenant.provisioned_at,
                "provisioning": [ProvisioningStepOut.model_validate(step) for step in steps],
            }
        )

    async def issue_tenant_token(
        self,
        session: AsyncSession,
        principal: Principal,
        tenant_id: uuid.UUID | None,
        *,
        for_billing: bool = False,
    ) -> TenantToken:
        """Select a tenant for the session (refresh keeps it) and mint a token scoped to it;
        `None` returns the session to central scope. `for_billing` also admits a suspended
        tenant and one waiting for its first payment: the token reaches only the billing
        routes there (the tenant context refuses every other route by status)."""
        sessions, tokens = self.auth.sessions, self.auth.tokens
        user, auth_session = principal.user, principal.session
        if tenant_id is None:
            await sessions.select_tenant(session, auth_session.id, None)
            token, lifetime = await tokens.issue(
                user_id=user.id, session_id=auth_session.id, amr=list(auth_session.amr)
            )
            return TenantToken(token, lifetime, TokenScope.CENTRAL, None)
        tenant, membership = await self._usable_membership(
            session, tenant_id, user.id, for_billing=for_billing
        )
        await sessions.select_tenant(session, auth_session.id, tenant.id)
        token, lifetime = await tokens.issue(
            user_id=user.id,
            session_id=auth_session.id,
            amr=list(auth_session.amr),
            tenant_id=tenant.id,
        )
        await self.auth.activities.record(
            session,
            ActivityType.TENANT_TOKEN_ISSUED,
            user_id=user.id,
            session_id=auth_session.id,
            tenant_id=tenant.id,
        )
        return TenantToken(
            token, lifetime, TokenScope.TENANT, summary_of(tenant, membership.role_keys)
        )

    async def _usable_membership(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        for_billing: bool = False,
    ) -> tuple[Tenant, Membership]:
        tenant = await TenantRepository(session).get(tenant_id)
        membership = await MembershipRepository(session).of(tenant_id, user_id)
        if tenant is None or membership is None or membership.status != MembershipStatus.ACTIVE:
            raise AppError(TENANT_ACCESS_DENIED)
        if for_billing and TenantStatus(tenant.status) in BILLING_REACHABLE:
            return tenant, membership
        error = status_error(TenantStatus(tenant.status))
        if error is not None:
            raise error
        return tenant, membership

    # --- the tenant context's look-ups --------------------------------------------------------

    async def find(self, session: AsyncSession, id_or_slug: str) -> TenantRef | None:
        """A tenant by id or slug (case and surrounding space ignored)."""
        tenant = await self._find(session, id_or_slug)
        return ref_of(tenant) if tenant else None

    async def _find(self, session: AsyncSession, id_or_slug: str) -> Tenant | None:
        tenants = TenantRepository(session)
        value = id_or_slug.strip().lower()
        try:
            tenant_id = uuid.UUID(value)
        except ValueError:
            return await tenants.by_slug(value)
        return await tenants.get(tenant_id)

    async def tenant_ref(self, tenant_id: uuid.UUID) -> TenantRef | None:
        """The tenant for the tenant context: from the cache (no database at all), else read
        in a short transaction of its own and cached until it changes."""
        cached = self._tenants.get(tenant_id)
        if cached is not None:
            return cached
        async with self.central.transaction() as session:
            return await self.tenant(session, tenant_id)

    async def tenant(self, session: AsyncSession, tenant_id: uuid.UUID) -> TenantRef | None:
        """The tenant by id, cached until it changes."""

        async def load() -> TenantRef | None:
            tenant = await TenantRepository(session).get(tenant_id)
            return ref_of(tenant) if tenant else None

        return await self._tenants.load(tenant_id, load)

    async def member_record(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> MemberRecord | None:
        """The membership for the tenant context, cache first (like `tenant_ref`)."""
        cached = self._members.get((tenant_id, user_id))
        if cached is not None:
            return cached
        async with self.central.transaction() as session:
            return await self.membership(session, tenant_id, user_id)

    async def member_count(self, tenant_id: uuid.UUID) -> int:
        """Active members of the tenant, cache first (like `tenant_ref`)."""
        cached = self._member_counts.get(tenant_id)
        if cached is not None:
            return cached
        async with self.central.transaction() as session:
            return await self.count_members(session, tenant_id)

    async def membership(
        self, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
    ) -> MemberRecord | None:
        """The user's membership of the tenant (status and role keys), cached until it
        changes."""

        async def load() -> MemberRecord | None:
            membership = await MembershipRepository(session).of(tenant_id, user_id)
            return record_of(membership) if membership else None

        return await self._members.load((tenant_id, user_id), load)

    async def count_members(self, session: AsyncSession, tenant_id: uuid.UUID) -> int:
        """Active members of the tenant, cached until a membership of it changes."""

        async def load() -> int | None:
            return await MembershipRepository(session).count_active(tenant_id)

        return await self._member_counts.load(tenant_id, load) or 0

    # --- placement -------------------------------------------------------------------------

    async def tenant_counts(self, session: AsyncSession) -> dict[str, int]:
        return await TenantRepository(session).counts_by_cluster()

    async def choose_cluster(self, session: AsyncSession, region_hint: str | None) -> str | None:
        """The active, configured cluster with the most free capacity (region hint first)."""
        counts = await self.tenant_counts(session)
        candidates = [
            (cluster, cluster.capacity - counts.get(cluster.key, 0))
            for cluster in await self.clusters.placeable(session)
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

    async def cluster_overview(self, session: AsyncSession) -> list[ClusterOverview]:
        """Every registered or configured cluster with its tenant count and breaker state."""
        counts = await self.tenant_counts(session)
        breakers = self.clusters.breaker_states()
        rows: list[ClusterRow] = await self.clusters.rows(session)
        return [
            ClusterOverview(
                **asdict(row),
                tenants=counts.get(row.key, 0),
                breaker=breakers.get(row.key, "closed"),
            )
            for row in rows
        ]

    async def probe_cluster(self, session: AsyncSession, key: str) -> ProbeResult:
        """Probe one cluster, with the number of tenants the registry places on it."""
        counts = await self.tenant_counts(session)
        return await self.clusters.probe(key, counts.get(key, 0))

    # --- lifecycle -------------------------------------------------------------------------

    async def suspend(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        reason: str,
        *,
        source: SuspensionSource = SuspensionSource.OPERATOR,
    ) -> TenantRef:
        """Suspend, recording who (`source`) and why. An operator suspending a tenant that
        billing already suspended takes the suspension over (a payment no longer lifts it);
        billing never takes over an operator's."""
        tenant = await self._locked(session, tenant_id)
        if tenant.status == TenantStatus.SUSPENDED:
            if source is SuspensionSource.OPERATOR and (
                tenant.suspension_source != SuspensionSource.OPERATOR
            ):
                tenant.suspension_source = source
                tenant.suspension_reason = reason[:200]
                await publish(session, TenantSuspended(tenant_id=tenant_id, reason=reason))
            return ref_of(tenant)
        ref = await self._move_status(
            session,
            tenant,
            TenantStatus.SUSPENDED,
            TenantSuspended(tenant_id=tenant_id, reason=reason),
        )
        tenant.suspension_source = source
        tenant.suspension_reason = reason[:200]
        return ref

    async def resume(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        only_source: SuspensionSource | None = None,
    ) -> TenantRef:
        """Lift a suspension. With `only_source`, only a suspension of that source is lifted
        (a payment resumes what dunning suspended, never an operator's suspension); without,
        any (an operator's `garment tenants resume`)."""
        tenant = await self._locked(session, tenant_id)
        if (
            only_source is not None
            and tenant.status == TenantStatus.SUSPENDED
            and tenant.suspension_source != only_source
        ):
            logger.info(
                "tenancy.resume_refused",
                tenant_id=str(tenant_id),
                suspended_by=tenant.suspension_source,
                requested_by=only_source.value,
            )
            return ref_of(tenant)
        ref = await self._move_status(
            session, tenant, TenantStatus.ACTIVE, TenantResumed(tenant_id=tenant_id)
        )
        if tenant.status == TenantStatus.ACTIVE:
            tenant.suspension_source = None
            tenant.suspension_reason = None
        return ref

    async def close(self, session: AsyncSession, tenant_id: uuid.UUID, reason: str) -> TenantRef:
        """Cancel the tenant for good (its subscription ended): from any status but
        `cancelled`, which it stays in."""
        tenant = await self._locked(session, tenant_id)
        ref = await self._move_status(
            session,
            tenant,
            TenantStatus.CANCELLED,
            TenantCancelled(tenant_id=tenant_id, reason=reason),
        )
        if tenant.cancelled_at is None:
            tenant.cancelled_at = datetime.now(UTC)
        return ref

    async def suspension(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> dict[str, Any] | None:
        """Who suspended the tenant, why and since when; None unless it is suspended."""
        tenant = await TenantRepository(session).get(tenant_id)
        if tenant is None or tenant.status != TenantStatus.SUSPENDED:
            return None
        return {
            "source": tenant.suspension_source,
            "reason": tenant.suspension_reason,
            "since": tenant.suspended_at.isoformat() if tenant.suspended_at else None,
        }

    async def _locked(self, session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
        tenant = await TenantRepository(session).get(tenant_id, for_update=True)
        if tenant is None:
            raise AppError(TENANT_NOT_FOUND)
        return tenant

    async def _move_status(
        self,
        session: AsyncSession,
        tenant: Tenant,
        target: TenantStatus,
        event: DomainEvent,
    ) -> TenantRef:
        """Move the (locked) tenant to `target` through the transition table, publishing
        `event`; already being there changes nothing."""
        current = TenantStatus(tenant.status)
        if current is target:
            return ref_of(tenant)
        if not can_transition(current, target):
            raise AppError(INVALID_STATE_TRANSITION, params={"current": current, "target": target})
        tenant.status = target
        tenant.suspended_at = datetime.now(UTC) if target is TenantStatus.SUSPENDED else None
        await self.tenant_changed(session, tenant.id)
        await publish(session, event)
        return ref_of(tenant)

    # --- invitations -----------------------------------------------------------------------

    async def invite(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        email: str,
        role_keys: list[str],
        invited_by: uuid.UUID,
    ) -> InvitationOut:
        """A single-use invitation valid 7 days. The mail listener mints the token it sends
        (only its hash is stored), like every other mailed token."""
        invitee = await self.auth.accounts.find_by_email(session, email)
        if invitee is not None:
            membership = await MembershipRepository(session).of(tenant_id, invitee.id)
            if membership is not None and membership.status == MembershipStatus.ACTIVE:
                raise AppError(CONFLICT, extra={"reason": "already_member"})
        now = datetime.now(UTC)
        await self._check_member_limit(session, tenant_id, now)
        invitations = InvitationRepository(session)
        if await invitations.has_open_for(tenant_id, email.strip(), now):
            raise AppError(CONFLICT, extra={"reason": "already_invited"})
        invitation = await invitations.create(
            Invitation(
                tenant_id=tenant_id,
                email=email.strip(),
                role_keys=sorted(set(role_keys)),
                # Replaced when the mail is sent; nobody ever holds this one.
                token_hash=self.hasher.hash(secrets.token_urlsafe(32)),
                invited_by=invited_by,
                created_at=now,
                expires_at=now + timedelta(days=INVITATION_DAYS),
            )
        )
        await publish(session, MemberInvited(invitation_id=invitation.id, tenant_id=tenant_id))
        return InvitationOut.model_validate(invitation)

    async def _check_member_limit(
        self, session: AsyncSession, tenant_id: uuid.UUID, now: datetime
    ) -> None:
        """Members plus pending invitations may not exceed the plan's `max_members`."""
        tenant = await TenantRepository(session).get(tenant_id)
        if tenant is None:
            raise AppError(TENANT_NOT_FOUND)
        maximum = self.plans.limit(tenant.plan_code, "max_members")
        if maximum is None:
            return
        pending = await InvitationRepository(session).count_open(tenant_id, now)
        usage = await self.count_members(session, tenant_id) + pending
        if usage >= maximum:
            details = {"limit": "max_members", "usage": usage, "maximum": maximum}
            raise AppError(PLAN_LIMIT_REACHED, params=details, extra=details)

    async def mint_invitation_token(self, session: AsyncSession, invitation_id: uuid.UUID) -> str:
        """A fresh token for the invitation mail; an earlier mail's link stops working."""
        raw = secrets.token_urlsafe(32)
        await InvitationRepository(session).set_token_hash(invitation_id, self.hasher.hash(raw))
        return raw

    async def list_invitations(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> list[InvitationOut]:
        invitations = await InvitationRepository(session).newest(tenant_id, limit=200)
        return [InvitationOut.model_validate(invitation) for invitation in invitations]

    async def revoke_invitation(
        self, session: AsyncSession, tenant_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> None:
        invitation = await InvitationRepository(session).get(invitation_id)
        # Another tenant's invitation is "not found", never "forbidden".
        if invitation is None or invitation.tenant_id != tenant_id:
            raise AppError(RESOURCE_NOT_FOUND)
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = datetime.now(UTC)

    async def accept_invitation(
        self, session: AsyncSession, raw_token: str, user: AuthenticatedUser
    ) -> TenantSummary:
        """Join the tenant with the invitation's roles (one central transaction: the
        membership carries the roles, ADR 0008)."""
        invitation = await InvitationRepository(session).by_token_hash(
            self.hasher.candidates(raw_token)
        )
        now = datetime.now(UTC)
        if invitation is None or invitation.state(now) is not InvitationState.PENDING:
            raise AppError(INVITATION_INVALID)
        if invitation.email.lower() != user.email.lower():
            raise AppError(INVITATION_EMAIL_MISMATCH)
        tenant = await TenantRepository(session).get(invitation.tenant_id)
        if tenant is None or tenant.status == TenantStatus.CANCELLED:
            raise AppError(INVITATION_INVALID)
        if tenant.status == TenantStatus.SUSPENDED:
            # Joining is working in the tenant: refused like every tenant request, and the
            # invitation stays pending so it can be accepted after the tenant resumes.
            raise AppError(TENANT_SUSPENDED)
        invitation.accepted_at, invitation.accepted_by = now, user.id
        memberships = MembershipRepository(session)
        membership = await memberships.of(tenant.id, user.id, for_update=True)
        if membership is None:
            membership = memberships.add(
                Membership(
                    tenant_id=tenant.id,
                    user_id=user.id,
                    status=MembershipStatus.ACTIVE,
                    role_keys=list(invitation.role_keys),
                )
            )
        else:
            membership.status = MembershipStatus.ACTIVE
            membership.role_keys = sorted(set(membership.role_keys) | set(invitation.role_keys))
        await session.flush()
        await self.member_changed(session, tenant.id, user.id)
        return summary_of(tenant, membership.role_keys)

    async def set_member_roles(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        role_keys: list[str],
    ) -> MemberRecord:
        """Give an active member exactly these roles (the caller checked they may be granted);
        effective on the member's next request, in every process."""
        membership = await MembershipRepository(session).of(tenant_id, user_id, for_update=True)
        if membership is None or membership.status != MembershipStatus.ACTIVE:
            raise AppError(RESOURCE_NOT_FOUND)
        membership.role_keys = sorted(set(role_keys))
        await self.member_changed(session, tenant_id, user_id)
        return record_of(membership)

    async def active_members(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> list[MemberProfile]:
        """The tenant's active members with their names, oldest first (the member list)."""
        profiles: list[MemberProfile] = []
        for membership in await MembershipRepository(session).active_of(tenant_id):
            user = await self.auth.accounts.get(session, membership.user_id)
            if user is None:
                continue
            profiles.append(
                MemberProfile(
                    user_id=membership.user_id,
                    email=user.email,
                    name=user.name,
                    role_keys=tuple(membership.role_keys),
                    joined_at=membership.created_at,
                )
            )
        return profiles

    async def members_holding(
        self, session: AsyncSession, tenant_id: uuid.UUID, role_key: str, *, lock: bool = False
    ) -> list[uuid.UUID]:
        """Active members holding `role_key`. With `lock`, their memberships stay locked until
        the transaction ends, so two concurrent demotions cannot both pass a "last owner"
        check."""
        rows = await MembershipRepository(session).holding(tenant_id, role_key, for_update=lock)
        return [row.user_id for row in rows]

    async def remove_member(
        self, session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        """End a membership: the member's next request is refused, in every process."""
        membership = await MembershipRepository(session).of(tenant_id, user_id, for_update=True)
        if membership is None or membership.status == MembershipStatus.REMOVED:
            raise AppError(RESOURCE_NOT_FOUND)
        membership.status = MembershipStatus.REMOVED
        await self.member_changed(session, tenant_id, user_id)

    # --- operator views ----------------------------------------------------------------------

    async def provisioning_steps(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> list[StepRecord]:
        """Every step with its error (operators; the API shows steps without errors)."""
        steps = await ProvisioningStepRepository(session).of_tenant(tenant_id)
        return [
            StepRecord(
                step=step.step,
                status=StepStatus(step.status),
                attempts=step.attempts,
                error=step.error,
                started_at=step.started_at,
                finished_at=step.finished_at,
            )
            for step in steps
        ]

    async def lifecycle(
        self, session: AsyncSession, tenant_id: uuid.UUID
    ) -> TenantLifecycle | None:
        """The tenant's stage timestamps, read now (never cached)."""
        tenant = await TenantRepository(session).get(tenant_id)
        if tenant is None:
            return None
        return TenantLifecycle(
            id=tenant.id,
            slug=tenant.slug,
            status=TenantStatus(tenant.status),
            cluster_key=tenant.cluster_key,
            owner_user_id=tenant.owner_user_id,
            created_at=tenant.created_at,
            updated_at=tenant.updated_at,
            provisioned_at=tenant.provisioned_at,
            suspended_at=tenant.suspended_at,
            cancelled_at=tenant.cancelled_at,
        )

    async def membership_history(
        self,
        session: AsyncSession,
        *,
        tenant_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
    ) -> list[MembershipHistory]:
        """Memberships of a tenant or of a user in every status, oldest first."""
        rows = await MembershipRepository(session).listed(tenant_id=tenant_id, user_id=user_id)
        return [
            MembershipHistory(
                tenant_id=m.tenant_id,
                user_id=m.user_id,
                status=MembershipStatus(m.status),
                role_keys=tuple(m.role_keys),
                created_at=m.created_at,
                updated_at=m.updated_at,
            )
            for m in rows
        ]

    async def invitation_history(
        self, session: AsyncSession, tenant_id: uuid.UUID, limit: int = 200
    ) -> list[InvitationHistory]:
        """The tenant's newest invitations with their outcome, newest first."""
        rows = await InvitationRepository(session).newest(tenant_id, limit=limit)
        return [
            InvitationHistory(
                id=i.id,
                tenant_id=i.tenant_id,
                email=i.email,
                role_keys=tuple(i.role_keys),
                invited_by=i.invited_by,
                created_at=i.created_at,
                expires_at=i.expires_at,
                accepted_at=i.accepted_at,
                accepted_by=i.accepted_by,
                revoked_at=i.revoked_at,
            )
            for i in rows
        ]

    async def list_tenants(
        self,
        session: AsyncSession,
        *,
        status: TenantStatus | None = None,
        cluster: str | None = None,
        limit: int = 500,
    ) -> list[TenantRef]:
        tenants = await TenantRepository(session).listed(
            status=status, cluster=cluster, limit=limit
        )
        return [ref_of(tenant) for tenant in tenants]
