"""Outbound webhooks: the tenant's endpoints (CRUD, secret rotation), the messages frozen for
them when domain events happen, delivery in order with backoff, and manual replay.

Route methods take the tenant session (the change and its audit row) and the central session
(the delivery job, enqueued in the same transaction that commits after the cluster, ADR 0014).
The delivery itself (`deliver_endpoint`) runs in a job and opens its own short tenant
transactions around each HTTP call, never holding one open across the network.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from garment.config import WebhookSettings
from garment.platform.errors import RESOURCE_NOT_FOUND, AppError, FieldErrors
from garment.platform.i18n import Message
from garment.platform.jobs import JobQueue
from garment.platform.metrics import WEBHOOK_ATTEMPT_SECONDS, WEBHOOK_ATTEMPTS
from garment.platform.pagination import PageParams
from garment.platform.secretbox import SecretBox
from garment.platform.versioning import apply_changes, check_version, present_changes
from garment.tenant.audit.service import AuditAction, record_change, snapshot
from garment.tenant.conventions.service import Entitlements
from garment.tenant.webhooks.delivery import (
    SendResult,
    WebhookSender,
    host_is_private_name,
    is_public_address,
    literal_address,
)
from garment.tenant.webhooks.errors import (
    UNKNOWN_EVENT_TYPE,
    URL_CREDENTIALS,
    URL_HOST,
    URL_PRIVATE,
    URL_SCHEME,
    WEBHOOK_ENDPOINT_DISABLED,
)
from garment.tenant.webhooks.events import EVENT_TYPES, PublicEvent
from garment.tenant.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from garment.tenant.webhooks.repository import (
    ATTEMPT_KEYSET,
    ENDPOINT_KEYSET,
    MESSAGE_KEYSET,
    AttemptRepository,
    EndpointRepository,
    MessageRepository,
)
from garment.tenant.webhooks.states import (
    GONE_REASON,
    AttemptOutcome,
    AttemptTrigger,
    EndpointStatus,
    MessageStatus,
)

logger = structlog.get_logger(__name__)

WEBHOOKS_FEATURE = "webhooks"
DELIVER_TASK = "webhooks.deliver"
ENTITY = "webhook_endpoint"
AUDITED = ("url", "description", "event_types", "status", "disabled_reason")
SECRET_BYTES = 24
PREVIOUS_SECRET_HOURS = 24  # after a rotation the old secret keeps signing this long
ERROR_CHARS = 500

TenantTransaction = Callable[[str, uuid.UUID], AbstractAsyncContextManager[AsyncSession]]


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def deliver_dedupe_key(endpoint_id: uuid.UUID) -> str:
    """One queued-or-running delivery job per endpoint: the endpoint's messages go out one at
    a time, in sequence (ADR 0017)."""
    return f"webhooks:{endpoint_id}"


def deliver_payload(tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> dict[str, Any]:
    return {"tenant_id": str(tenant_id), "endpoint_id": str(endpoint_id)}


def backoff(settings: WebhookSettings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base x 2^(attempts-1), capped."""
    seconds = settings.retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.retry_max_seconds))


def url_problem(url: str, *, allow_private: bool) -> Message | None:
    """What is wrong with an endpoint URL the schema accepted, if anything."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # an out-of-range or non-numeric port raises here
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        return URL_HOST
    if parts.scheme.lower() not in ("http", "https"):
        return URL_SCHEME
    if not host:
        return URL_HOST
    if parts.username is not None or parts.password is not None:
        return URL_CREDENTIALS
    if not allow_private:
        literal = literal_address(host)
        if host_is_private_name(host) or (literal is not None and not is_public_address(literal)):
            return URL_PRIVATE
    return None


def check_endpoint_values(values: dict[str, Any], *, allow_private: bool) -> None:
    """Rules the schema cannot state: http(s) with a host, no credentials in the URL, a
    public address unless private targets are allowed, known event types."""
    problems = FieldErrors()
    url = values.get("url")
    if url is not None:
        problem = url_problem(url, allow_private=allow_private)
        if problem is not None:
            problems.add("body.url", problem)
    for event_type in values.get("event_types") or ():
        if event_type not in EVENT_TYPES:
            problems.add("body.event_types", UNKNOWN_EVENT_TYPE, event_type=event_type)
    problems.raise_if_any()


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """One endpoint as an operator sees it: its backlog and the message at its head."""

    id: uuid.UUID
    url: str
    status: str
    disabled_reason: str | None
    event_types: list[str]
    pending: int
    oldest_pending_at: datetime | None
    failed: int
    last_delivered_at: datetime | None
    head_webhook_id: str | None
    head_event_type: str | None
    head_attempts: int | None
    head_last_error: str | None
    head_next_attempt_at: datetime | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready: ids as strings, times as ISO 8601 UTC."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values["id"] = str(self.id)
        for name, value in values.items():
            if isinstance(value, datetime):
                values[name] = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return values


@dataclass(frozen=True, slots=True)
class Backlog:
    """Pending messages (of one tenant, or summed over a cluster's tenants by the sweep)."""

    pending: int = 0
    oldest_pending_at: datetime | None = None

    def plus(self, other: Backlog) -> Backlog:
        oldest = [at for at in (self.oldest_pending_at, other.oldest_pending_at) if at]
        return Backlog(self.pending + other.pending, min(oldest) if oldest else None)


class WebhookService:
    endpoint_keyset = ENDPOINT_KEYSET
    message_keyset = MESSAGE_KEYSET
    attempt_keyset = ATTEMPT_KEYSET

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        box: SecretBox,
        entitlements: Entitlements,
        jobs: JobQueue,
        sender: WebhookSender,
        allow_private: bool,
    ) -> None:
        self.settings = settings
        self.box = box
        self.entitlements = entitlements
        self.jobs = jobs
        self.sender = sender
        self.allow_private = allow_private

    # --- endpoints ----------------------------------------------------------------------------

    def require_feature(self, plan_code: str) -> None:
        self.entitlements.require_feature(plan_code, WEBHOOKS_FEATURE)

    def has_feature(self, plan_code: str) -> bool:
        return self.entitlements.has_feature(plan_code, WEBHOOKS_FEATURE)

    async def create(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID,
        values: dict[str, Any],
    ) -> tuple[WebhookEndpoint, str]:
        """The new endpoint and its secret (shown this once; stored encrypted)."""
        check_endpoint_values(values, allow_private=self.allow_private)
        secret = new_secret()
        now = datetime.now(UTC)
        endpoint = await EndpointRepository(session).create(
            WebhookEndpoint(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                url=values["url"],
                description=values.get("description"),
                event_types=sorted(set(values["event_types"])),
                status=values.get("status") or EndpointStatus.ENABLED,
                disabled_reason=None,
                secret_encrypted=self.box.encrypt(secret.encode()),
                last_sequence=0,
                created_at=now,
                updated_at=now,
            )
        )
        await self._audit(session, endpoint, actor_id, AuditAction.CREATE, None)
        return endpoint, secret

    async def get(
        self, session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> WebhookEndpoint:
        """The endpoint; another tenant's id is 404 like a missing one."""
        endpoint = await EndpointRepository(session).of_tenant(tenant_id, endpoint_id)
        if endpoint is None:
            raise AppError(RESOURCE_NOT_FOUND)
        return endpoint

    async def list_endpoints(
        self, session: AsyncSession, tenant_id: uuid.UUID, page: PageParams
    ) -> tuple[list[dict[str, Any]], str | None]:
        return await EndpointRepository(session).listed(tenant_id, page)

    async def update(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> WebhookEndpoint:
        """Change url, description, event selection or status (If-Match). Enabling an
        endpoint clears the reason it was disabled and resumes its pending messages."""
        endpoint = await self.get(session, tenant_id, endpoint_id)
        check_version(endpoint, expected_version)
        changes = present_changes(WebhookEndpoint, changes)
        check_endpoint_values(changes, allow_private=self.allow_private)
        if "event_types" in changes:
            changes["event_types"] = sorted(set(changes["event_types"]))
        enabling = (
            changes.get("status") == EndpointStatus.ENABLED
            and endpoint.status != EndpointStatus.ENABLED
        )
        if enabling:
            changes["disabled_reason"] = None
        before = snapshot(endpoint, AUDITED)
        if not any(getattr(endpoint, name) != value for name, value in changes.items()):
            return endpoint
        changes["updated_at"] = datetime.now(UTC)
        await apply_changes(session, endpoint, expected_version, changes)
        await self._audit(session, endpoint, actor_id, AuditAction.UPDATE, before)
        if enabling:
            await self.kick(central, tenant_id, endpoint_id)
        return endpoint

    async def delete(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        *,
        expected_version: int | None,
    ) -> None:
        """Delete the endpoint with its messages and attempt log (the audit row remains)."""
        endpoint = await self.get(session, tenant_id, endpoint_id)
        check_version(endpoint, expected_version)
        before = snapshot(endpoint, AUDITED)
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.DELETE,
            entity_type=ENTITY,
            entity_id=endpoint.id,
            before=before,
        )
        await EndpointRepository(session).remove(tenant_id, endpoint_id)

    async def rotate_secret(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        *,
        expected_version: int | None,
    ) -> tuple[WebhookEndpoint, str]:
        """A new secret (returned this once). The previous one keeps signing next to it for
        `PREVIOUS_SECRET_HOURS`, so the receiver can switch without losing deliveries."""
        endpoint = await self.get(session, tenant_id, endpoint_id)
        check_version(endpoint, expected_version)
        secret = new_secret()
        now = datetime.now(UTC)
        await apply_changes(
            session,
            endpoint,
            expected_version,
            {
                "previous_secret_encrypted": endpoint.secret_encrypted,
                "previous_secret_expires_at": now + timedelta(hours=PREVIOUS_SECRET_HOURS),
                "secret_encrypted": self.box.encrypt(secret.encode()),
                "updated_at": now,
            },
        )
        # The audit row names the rotation, never the secret.
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=AuditAction.UPDATE,
            entity_type=ENTITY,
            entity_id=endpoint.id,
            before={"secret_rotated_at": None},
            after={"secret_rotated_at": now.isoformat()},
        )
        return endpoint, secret

    async def _audit(
        self,
        session: AsyncSession,
        endpoint: WebhookEndpoint,
        actor_id: uuid.UUID | None,
        action: str,
        before: dict[str, Any] | None,
    ) -> None:
        await record_change(
            session,
            tenant_id=endpoint.tenant_id,
            actor_id=actor_id,
            action=action,
            entity_type=ENTITY,
            entity_id=endpoint.id,
            before=before,
            after=snapshot(endpoint, AUDITED),
        )

    # --- messages and attempts ----------------------------------------------------------------

    async def list_messages(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        status: str | None,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        await self.get(session, tenant_id, endpoint_id)
        return await MessageRepository(session).listed(tenant_id, endpoint_id, status, page)

    async def get_message(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        webhook_id: str,
        *,
        for_update: bool = False,
    ) -> WebhookMessage:
        await self.get(session, tenant_id, endpoint_id)
        message = await MessageRepository(session).by_webhook_id(
            tenant_id, endpoint_id, webhook_id, for_update=for_update
        )
        if message is None:
            raise AppError(RESOURCE_NOT_FOUND)
        return message

    async def list_attempts(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        webhook_id: str | None,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        message_id = None
        if webhook_id is not None:
            message_id = (await self.get_message(session, tenant_id, endpoint_id, webhook_id)).id
        else:
            await self.get(session, tenant_id, endpoint_id)
        return await AttemptRepository(session).listed(tenant_id, endpoint_id, message_id, page)

    async def replay(
        self,
        session: AsyncSession,
        central: AsyncSession,
        tenant_id: uuid.UUID,
        actor_id: uuid.UUID | None,
        endpoint_id: uuid.UUID,
        webhook_id: str,
    ) -> WebhookMessage:
        """Send the message again: the same stored bytes and `webhook-id` (a new timestamp
        and signature). It goes to the end of the endpoint's order, with fresh attempts.
        `actor_id` None is an operator's replay (`garment webhooks replay`)."""
        endpoint = await self.get(session, tenant_id, endpoint_id)
        if endpoint.status != EndpointStatus.ENABLED:
            raise AppError(WEBHOOK_ENDPOINT_DISABLED)
        message = await self.get_message(
            session, tenant_id, endpoint_id, webhook_id, for_update=True
        )
        message.sequence = await EndpointRepository(session).next_sequence(tenant_id, endpoint_id)
        message.status = MessageStatus.PENDING
        message.trigger = AttemptTrigger.REPLAY
        message.attempts = 0
        message.next_attempt_at = datetime.now(UTC)
        message.last_error = None
        await session.flush()
        await record_change(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action="replay",
            entity_type="webhook_message",
            entity_id=webhook_id,
            after={"endpoint_id": str(endpoint_id), "sequence": message.sequence},
        )
        await self.kick(central, tenant_id, endpoint_id)
        return message

    async def health(self, session: AsyncSession, tenant_id: uuid.UUID) -> list[EndpointHealth]:
        """Every endpoint of the tenant with its backlog, for operators (`garment webhooks
        status`): what waits, since when, behind which message, and why it is not delivered."""
        return [
            EndpointHealth(**row) for row in await EndpointRepository(session).health(tenant_id)
        ]

    async def kick(
        self, central: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
    ) -> None:
        """Make sure a delivery job for the endpoint exists (in the central transaction)."""
        await self.jobs.enqueue_in(
            central,
            DELIVER_TASK,
            deliver_payload(tenant_id, endpoint_id),
            dedupe_key=deliver_dedupe_key(endpoint_id),
        )

    # --- fan-out (the listener) ---------------------------------------------------------------

    async def fan_out(
        self, session: AsyncSession, tenant_id: uuid.UUID, events: Sequence[PublicEvent]
    ) -> set[uuid.UUID]:
        """One pending message per event and subscribed endpoint, its body frozen now; the
        endpoints that have pending messages from these events. Idempotent: a message the
        endpoint already has (same `webhook-id`) is not added twice."""
        endpoints = EndpointRepository(session)
        messages = MessageRepository(session)
        touched: set[uuid.UUID] = set()
        for event in events:
            for endpoint_id in await endpoints.subscribed(tenant_id, event.event_type):
                touched.add(endpoint_id)
                existing = await messages.by_webhook_id(tenant_id, endpoint_id, event.webhook_id)
                if existing is not None:
                    continue
                await messages.add_once(
                    {
                        "tenant_id": tenant_id,
                        "id": uuid.uuid4(),
                        "endpoint_id": endpoint_id,
                        "webhook_id": event.webhook_id,
                        "event_type": event.event_type,
                        "sequence": await endpoints.next_sequence(tenant_id, endpoint_id),
                        "body": event.body,
                        "status": MessageStatus.PENDING,
                        "trigger": AttemptTrigger.AUTOMATIC,
                        "attempts": 0,
                    }
                )
        return touched

    async def endpoints_due(self, session: AsyncSession, tenant_id: uuid.UUID) -> list[uuid.UUID]:
        return await EndpointRepository(session).with_pending(tenant_id)

    async def backlog(self, session: AsyncSession, tenant_id: uuid.UUID) -> Backlog:
        pending, oldest = await MessageRepository(session).backlog(tenant_id)
        return Backlog(pending, oldest)

    # --- delivery (the job) -------------------------------------------------------------------

    async def deliver_endpoint(
        self,
        transaction: TenantTransaction,
        cluster_key: str,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
    ) -> timedelta | None:
        """Send the endpoint's pending messages in sequence, one at a time. Returns the wait
        before the head message's next attempt (the job re-queues itself for it), or None
        when nothing is left to do (no pending message, or the endpoint is disabled)."""
        while True:
            async with transaction(cluster_key, tenant_id) as session:
                endpoint = await EndpointRepository(session).of_tenant(tenant_id, endpoint_id)
                if endpoint is None or endpoint.status != EndpointStatus.ENABLED:
                    return None
                head = await MessageRepository(session).head(tenant_id, endpoint_id)
                if head is None:
                    return None
                now = datetime.now(UTC)
                if head.next_attempt_at > now:
                    return head.next_attempt_at - now
                url, webhook_id, body = endpoint.url, head.webhook_id, head.body
                message_id, trigger, sequence = head.id, head.trigger, head.sequence
                signing = self._secrets(endpoint, now)
            result = await self.sender.send(url, webhook_id, body, signing)
            async with transaction(cluster_key, tenant_id) as session:
                wait = await self._record(
                    session,
                    tenant_id,
                    endpoint_id,
                    message_id,
                    sequence,
                    webhook_id,
                    trigger,
                    result,
                )
            WEBHOOK_ATTEMPTS.labels(result.outcome.value).inc()
            WEBHOOK_ATTEMPT_SECONDS.observe(result.duration_ms / 1000)
            logger.info(
                "webhooks.attempt",
                tenant_id=str(tenant_id),
                endpoint_id=str(endpoint_id),
                webhook_id=webhook_id,
                outcome=result.outcome.value,
                status_code=result.status_code,
                duration_ms=result.duration_ms,
            )
            if wait is not None:
                return wait

    def _secrets(self, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
        found = [self.box.decrypt(endpoint.secret_encrypted).decode()]
        expires = endpoint.previous_secret_expires_at
        if endpoint.previous_secret_encrypted is not None and expires is not None and expires > now:
            found.append(self.box.decrypt(endpoint.previous_secret_encrypted).decode())
        return found

    async def _record(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        message_id: uuid.UUID,
        sequence: int,
        webhook_id: str,
        trigger: str,
        result: SendResult,
    ) -> timedelta | None:
        """The attempt row and the message's new state; the wait before the next attempt of
        this message, or None to go on with the next message (or stop, after a 410)."""
        now = datetime.now(UTC)
        AttemptRepository(session).add(
            WebhookAttempt(
                tenant_id=tenant_id,
                id=uuid.uuid4(),
                endpoint_id=endpoint_id,
                message_id=message_id,
                webhook_id=webhook_id,
                trigger=trigger,
                outcome=result.outcome,
                status_code=result.status_code,
                duration_ms=result.duration_ms,
                error=result.error,
                response_excerpt=result.response_excerpt,
                attempted_at=now,
            )
        )
        message = await MessageRepository(session).get((tenant_id, message_id), for_update=True)
        if (
            message is None
            or message.sequence != sequence
            or message.status != MessageStatus.PENDING
        ):
            # Replayed or cancelled while this attempt was in flight: its new state stands.
            await session.flush()
            return None
        message.attempts += 1
        message.trigger = AttemptTrigger.AUTOMATIC
        if result.outcome is AttemptOutcome.SUCCEEDED:
            message.status = MessageStatus.DELIVERED
            message.delivered_at = now
            message.last_error = None
        elif result.outcome is AttemptOutcome.GONE:
            message.status = MessageStatus.FAILED
            message.last_error = GONE_REASON
            await session.flush()
            await EndpointRepository(session).disable(tenant_id, endpoint_id, GONE_REASON)
            await MessageRepository(session).cancel_pending(tenant_id, endpoint_id, GONE_REASON)
            await record_change(
                session,
                tenant_id=tenant_id,
                actor_id=None,
                action=AuditAction.UPDATE,
                entity_type=ENTITY,
                entity_id=endpoint_id,
                before={"status": EndpointStatus.ENABLED},
                after={"status": EndpointStatus.DISABLED, "disabled_reason": GONE_REASON},
            )
            return None
        else:
            message.last_error = (result.error or "failed")[:ERROR_CHARS]
            if message.attempts >= self.settings.max_attempts:
                message.status = MessageStatus.FAILED  # given up: the next message may go
            else:
                wait = backoff(self.settings, message.attempts)
                message.next_attempt_at = now + wait
                await session.flush()
                return wait
        await session.flush()
        return None
