"""Customer tracking links: staff create, list and revoke them per order; the end customer opens
one without an account and sees the order's progress (ADR 0018).

A token is `<tenant>.<secret>`: the tenant's id (22 characters of base64url) so the public
route finds the tenant's cluster without a tenant header or a central lookup table, and 256
random bits. Only the keyed hash of the whole token is stored, on the tenant's cluster; the
lookup runs under that tenant's RLS, so editing the tenant part of a token can only ever find
nothing. Every way a token can fail (malformed, unknown tenant, tenant not serving, unknown
hash, revoked, expired) is the same `404 TRACKING_LINK_NOT_FOUND`.

The public view is an entry point of its own (like a job): there is no tenant request chain in
front of it, so it opens its short tenant transaction itself once the token names a tenant.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from garment.central.tenancy.service import TenantRef
from garment.central.tenancy.states import TenantStatus
from garment.platform.context import Locale, current_context
from garment.platform.errors import RESOURCE_NOT_FOUND, AppError
from garment.platform.events import publish
from garment.platform.pagination import PageParams
from garment.platform.ratelimit import RateLimiter
from garment.platform.token_hashing import TokenHasher
from garment.tenant.audit.service import AuditAction, record_change
from garment.tenant.orders.schemas import DeliveryOut, OrderDetail
from garment.tenant.production.schemas import JobDetail
from garment.tenant.production.states import DEFAULT_STAGES
from garment.tenant.tracking.errors import STATUS_LABELS, TRACKING_LINK_NOT_FOUND
from garment.tenant.tracking.events import TrackingLinkCreated as LinkCreated
from garment.tenant.tracking.events import TrackingLinkRevoked
from garment.tenant.tracking.models import TrackingLink
from garment.tenant.tracking.page import render_not_found, render_page
from garment.tenant.tracking.ports import (
    BusinessNames,
    OrderSource,
    ProductNames,
    ProgressSource,
    TenantDirectory,
    TenantSessions,
)
from garment.tenant.tracking.repository import LINK_KEYSET, TrackingLinkRepository
from garment.tenant.tracking.schemas import (
    DeliveryView,
    LineProgress,
    SizeProgress,
    StageName,
    StageProgress,
    TrackingLinkCreate,
    TrackingLinkCreated,
    TrackingLinkOut,
    TrackingView,
)
from garment.tenant.tracking.states import TrackingLinkStatus

SECRET_BYTES = 32  # 256 bits from the OS's CSPRNG
TENANT_PART_LENGTH = 22  # 16 bytes of base64url without padding
SECRET_PART_LENGTH = 43  # 32 bytes of base64url without padding
TOKEN_PATTERN = re.compile(
    rf"^[A-Za-z0-9_-]{{{TENANT_PART_LENGTH}}}\.[A-Za-z0-9_-]{{{SECRET_PART_LENGTH}}}$"
)
ENTITY_TYPE = "tracking_link"
REVOKE_ACTION = "revoke"
VIEW_ACTION = "view"
# Every view is counted on the link; one view an hour per link is also written to the audit
# log, so a page left open on a phone (or a scraper within its rate limit) cannot flood it.
VIEW_AUDIT_INTERVAL = timedelta(hours=1)
# An order's jobs (one per line) and deliveries fit one page each; more is not an order a
# customer follows on a phone.
SOURCE_PAGE = PageParams(limit=100)


@dataclass(frozen=True, slots=True)
class TrackingLimits:
    """`limits` notation; counted per client address and per presented token."""

    per_ip: str
    per_token: str


def encode_token(tenant_id: uuid.UUID, secret: str) -> str:
    tenant_part = base64.urlsafe_b64encode(tenant_id.bytes).rstrip(b"=").decode()
    return f"{tenant_part}.{secret}"


def token_tenant(token: str) -> uuid.UUID | None:
    """The tenant a well-formed token names; None for anything else."""
    if not TOKEN_PATTERN.match(token):
        return None
    tenant_part = token.split(".", 1)[0]
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(tenant_part + "=="))
    except (binascii.Error, ValueError):
        return None


def link_status(link: TrackingLink, now: datetime) -> TrackingLinkStatus:
    if link.revoked_at is not None:
        return TrackingLinkStatus.REVOKED
    if link.expires_at <= now:
        return TrackingLinkStatus.EXPIRED
    return TrackingLinkStatus.ACTIVE


def link_out(link: TrackingLink, now: datetime) -> TrackingLinkOut:
    return TrackingLinkOut(
        id=link.id,
        order_id=link.order_id,
        label=link.label,
        status=link_status(link, now),
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        view_count=link.view_count,
        last_viewed_at=link.last_viewed_at,
        created_by=link.created_by,
        created_at=link.created_at,
    )


def not_found() -> AppError:
    return AppError(TRACKING_LINK_NOT_FOUND)


def chosen_locale(lang: str | None) -> Locale:
    """`?lang=` when it names a language we have, else the request's (Accept-Language)."""
    if lang in (Locale.ID.value, Locale.EN.value):
        return Locale(lang)
    return current_context().locale


class TrackingService:
    link_keyset = LINK_KEYSET

    def __init__(
        self,
        *,
        hasher: TokenHasher,
        limiter: RateLimiter,
        limits: TrackingLimits,
        tenants: TenantDirectory,
        clusters: TenantSessions,
        orders: OrderSource,
        production: ProgressSource,
        products: ProductNames,
        settings: BusinessNames,
        public_url: str,
    ) -> None:
        self.hasher = hasher
        self.limiter = limiter
        self.limits = limits
        self.tenants = tenants
        self.clusters = clusters
        self.orders = orders
        self.production = production
        self.products = products
        self.settings = settings
        self.public_url = public_url.rstrip("/")

    # --- staff: links per order ----------------------------------------------------------------

    async def create_link(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        body: TrackingLinkCreate,
    ) -> TrackingLinkCreated:
        """A new link for the order; its token is in this answer only."""
        await self.orders.order_status(session, tenant_id, order_id)  # 404 for another's order
        token = encode_token(tenant_id, secrets.token_urlsafe(SECRET_BYTES))
        now = datetime.now(UTC)
        link = await TrackingLinkRepository(session).create(
            TrackingLink(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                order_id=order_id,
                token_hash=self.hasher.hash(token),
                label=body.label,
                expires_at=now + timedelta(days=body.expires_in_days),
                view_count=0,
                created_by=actor_id,
                created_at=now,
            )
        )
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.CREATE,
            entity_type=ENTITY_TYPE,
            entity_id=link.id,
            after={"order_id": order_id, "label": link.label, "expires_at": link.expires_at},
        )
        await publish(
            central,
            LinkCreated(
                tenant_id=tenant_id, order_id=order_id, link_id=link.id, expires_at=link.expires_at
            ),
        )
        return TrackingLinkCreated(
            **link_out(link, now).model_dump(),
            token=token,
            url=f"{self.public_url}/t/{token}",
            api_url=f"{self.public_url}/api/v1/public/tracking/{token}",
        )

    async def list_links(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        page: PageParams,
    ) -> tuple[list[TrackingLinkOut], str | None]:
        await self.orders.order_status(session, tenant_id, order_id)
        rows, cursor = await TrackingLinkRepository(session).of_order(tenant_id, order_id, page)
        now = datetime.now(UTC)
        return [link_out(row, now) for row in rows], cursor

    async def get_link(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        link_id: uuid.UUID,
    ) -> TrackingLinkOut:
        link = await TrackingLinkRepository(session).of_tenant(tenant_id, order_id, link_id)
        if link is None:
            raise AppError(RESOURCE_NOT_FOUND)
        return link_out(link, datetime.now(UTC))

    async def revoke(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        order_id: uuid.UUID,
        link_id: uuid.UUID,
    ) -> TrackingLinkOut:
        """Revoke at once (the next view is 404); revoking a revoked link changes nothing."""
        links = TrackingLinkRepository(session)
        link = await links.of_tenant(tenant_id, order_id, link_id)
        if link is None:
            raise AppError(RESOURCE_NOT_FOUND)
        now = datetime.now(UTC)
        if link.revoked_at is None:
            link.revoked_at = now
            link.revoked_by = actor_id
            await session.flush()
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=actor_id,
                action=REVOKE_ACTION,
                entity_type=ENTITY_TYPE,
                entity_id=link.id,
                before={"revoked_at": None},
                after={"revoked_at": now},
            )
            await publish(
                central,
                TrackingLinkRevoked(tenant_id=tenant_id, order_id=order_id, link_id=link.id),
            )
        return link_out(link, now)

    # --- the end customer: the public view -----------------------------------------------------

    async def view(self, token: str, lang: str | None = None) -> TrackingView:
        """The order behind `token` as its customer may see it (404 for any failing token)."""
        await self._enforce_limits(token)
        tenant = await self._serving_tenant(token)
        assert tenant.cluster_key is not None  # _serving_tenant admits active tenants only
        locale = chosen_locale(lang)
        async with self.clusters.tenant_transaction(tenant.cluster_key, tenant.id) as session:
            link = await self._live_link(session, tenant.id, token)
            view = await self._compose(session, tenant.id, link, locale)
            if not tenant.read_only:  # during a move the cluster takes no writes
                await self._count_view(session, link)
        return view

    async def page(self, token: str, lang: str | None = None) -> tuple[int, str]:
        """The page's status and HTML: the order, or one not-found page for any failing token
        (rate limits still answer 429 problem+json)."""
        try:
            view = await self.view(token, lang)
        except AppError as error:
            if error.spec is not TRACKING_LINK_NOT_FOUND:
                raise
            return 404, render_not_found(chosen_locale(lang))
        return 200, render_page(view, chosen_locale(lang))

    async def _enforce_limits(self, token: str) -> None:
        # Counted before anything is looked up, for valid and invalid tokens alike; the token
        # bucket is keyed by a digest so no secret sits in the limiter's storage (Redis).
        ip = current_context().client_ip or "unknown"
        await self.limiter.enforce(self.limits.per_ip, "tracking-ip", ip)
        digest = hashlib.sha256(token.encode()).hexdigest()[:32]
        await self.limiter.enforce(self.limits.per_token, "tracking-token", digest)

    async def _serving_tenant(self, token: str) -> TenantRef:
        tenant_id = token_tenant(token)
        if tenant_id is None:
            raise not_found()
        tenant = await self.tenants.tenant_ref(tenant_id)
        if tenant is None or tenant.status is not TenantStatus.ACTIVE or not tenant.cluster_key:
            raise not_found()
        return tenant

    async def _live_link(
        self, session: AsyncSession, tenant_id: uuid.UUID, token: str
    ) -> TrackingLink:
        link = await TrackingLinkRepository(session).by_hash(
            tenant_id, self.hasher.candidates(token)
        )
        if link is None or link_status(link, datetime.now(UTC)) is not TrackingLinkStatus.ACTIVE:
            raise not_found()
        return link

    async def _count_view(self, session: AsyncSession, link: TrackingLink) -> None:
        now = datetime.now(UTC)
        last = link.last_audited_view_at
        audited = last is None or now - last >= VIEW_AUDIT_INTERVAL
        await TrackingLinkRepository(session).count_view(
            link.tenant_id, link.id, now, audited=audited
        )
        if audited:
            context = current_context()
            await record_change(
                session,
                tenant_id=link.tenant_id,
                actor_id=None,
                action=VIEW_ACTION,
                entity_type=ENTITY_TYPE,
                entity_id=link.id,
                after={
                    "order_id": link.order_id,
                    "views": link.view_count + 1,
                    "client_ip": context.client_ip,
                    "user_agent": (context.user_agent or "")[:200] or None,
                },
            )

    async def _compose(
        self, session: AsyncSession, tenant_id: uuid.UUID, link: TrackingLink, locale: Locale
    ) -> TrackingView:
        order = await self.orders.get(session, tenant_id, link.order_id)
        jobs = await self._jobs_by_line(session, tenant_id, order.id)
        labels = await self._stage_labels(session, tenant_id, locale)
        stage_codes: list[str] = []
        for job in jobs.values():
            stage_codes.extend(code for code in job.stages if code not in stage_codes)
        deliveries, _ = await self.orders.list_deliveries(
            session, tenant_id, order_id=order.id, page=SOURCE_PAGE
        )
        return TrackingView(
            business=await self.settings.business_name(session, tenant_id),
            order_number=order.number,
            status=order.status,
            status_label=STATUS_LABELS[order.status].render(locale),
            order_date=order.order_date,
            due_date=order.due_date,
            quantity=order.quantity,
            total=order.total,
            down_payment_due=order.down_payment_due,
            paid_amount=order.paid_amount,
            balance=order.total - order.paid_amount,
            in_production=bool(jobs),
            stages=[StageName(stage=code, label=labels.get(code, code)) for code in stage_codes],
            lines=await self._lines(session, tenant_id, order, jobs, labels),
            deliveries=delivery_views(deliveries),
            expires_at=link.expires_at,
            generated_at=datetime.now(UTC),
            locale=locale.value,
        )

    async def _jobs_by_line(
        self, session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
    ) -> dict[uuid.UUID, JobDetail]:
        jobs, _ = await self.production.list_jobs(
            session, tenant_id, order_id=order_id, status=None, page=SOURCE_PAGE
        )
        return {
            job.order_line_id: await self.production.get_job(session, tenant_id, job.id)
            for job in jobs
        }

    async def _stage_labels(
        self, session: AsyncSession, tenant_id: uuid.UUID, locale: Locale
    ) -> dict[str, str]:
        """Stage code → its name in `locale`: the tenant's routings over the defaults."""
        english = locale is Locale.EN
        labels = {code: en if english else id_ for code, id_, en, _ in DEFAULT_STAGES}
        for routing in await self.production.list_routings(session, tenant_id):
            for stage in routing.stages:
                labels[stage.code] = stage.label_en if english else stage.label_id
        return labels

    async def _lines(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        order: OrderDetail,
        jobs: dict[uuid.UUID, JobDetail],
        labels: dict[str, str],
    ) -> list[LineProgress]:
        names: dict[uuid.UUID, str] = {}
        lines: list[LineProgress] = []
        for line in order.lines:
            if line.product_id not in names:
                product = await self.products.get(session, tenant_id, line.product_id)
                names[line.product_id] = product.name
            job = jobs.get(line.id)
            done: dict[tuple[str, str], int] = {}
            if job is not None:
                done = {(row.size, row.stage): row.output for row in job.counters}
            lines.append(
                LineProgress(
                    product=names[line.product_id],
                    color=line.color,
                    quantity=line.quantity,
                    sizes=[
                        SizeProgress(
                            size=row.size,
                            ordered=row.qty,
                            delivered=row.delivered,
                            stages=[
                                StageProgress(
                                    stage=code,
                                    label=labels.get(code, code),
                                    done=done.get((row.size, code), 0),
                                )
                                for code in (job.stages if job is not None else [])
                            ],
                        )
                        for row in line.rows
                    ],
                )
            )
        return lines


def delivery_views(deliveries: list[DeliveryOut]) -> list[DeliveryView]:
    """Oldest first, pieces per size; never the note's recipient, address or remarks."""
    views: list[DeliveryView] = []
    for delivery in sorted(deliveries, key=lambda item: (item.delivered_on, item.number)):
        sizes: dict[str, int] = {}
        for line in delivery.lines:
            sizes[line.size] = sizes.get(line.size, 0) + line.qty
        views.append(
            DeliveryView(
                number=delivery.number,
                delivered_on=delivery.delivered_on,
                quantity=delivery.quantity,
                sizes=sizes,
            )
        )
    return views
