"""Queries of outbound webhooks: endpoints, their ordered messages, the attempt log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import UUID, insert

from garment.platform.pagination import Keyset, KeysetQuery, PageParams
from garment.platform.repository import Repository, affected_rows
from garment.tenant.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from garment.tenant.webhooks.states import EndpointStatus, MessageStatus

EXAMPLE_ID = uuid.UUID("7d0c2b8e-3f1a-4e5b-9c6d-2a8f4e1b0c33")
EXAMPLE_TIME = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ENDPOINT_KEYSET = Keyset.of(
    WebhookEndpoint.created_at, WebhookEndpoint.id, example=(EXAMPLE_TIME, EXAMPLE_ID)
)
MESSAGE_KEYSET = Keyset.of(WebhookMessage.sequence, example=(42,))
ATTEMPT_KEYSET = Keyset.of(
    WebhookAttempt.attempted_at, WebhookAttempt.id, example=(EXAMPLE_TIME, EXAMPLE_ID)
)

ENDPOINT_COLUMNS = (
    WebhookEndpoint.id,
    WebhookEndpoint.url,
    WebhookEndpoint.description,
    WebhookEndpoint.event_types,
    WebhookEndpoint.status,
    WebhookEndpoint.disabled_reason,
    WebhookEndpoint.version,
    WebhookEndpoint.created_at,
    WebhookEndpoint.updated_at,
)
MESSAGE_COLUMNS = (
    WebhookMessage.id,
    WebhookMessage.webhook_id,
    WebhookMessage.event_type,
    WebhookMessage.sequence,
    WebhookMessage.status,
    WebhookMessage.attempts,
    WebhookMessage.next_attempt_at,
    WebhookMessage.last_error,
    WebhookMessage.delivered_at,
    WebhookMessage.created_at,
)
ATTEMPT_COLUMNS = (
    WebhookAttempt.id,
    WebhookAttempt.webhook_id,
    WebhookAttempt.trigger,
    WebhookAttempt.outcome,
    WebhookAttempt.status_code,
    WebhookAttempt.duration_ms,
    WebhookAttempt.error,
    WebhookAttempt.response_excerpt,
    WebhookAttempt.attempted_at,
)


@cache
def endpoint_list() -> KeysetQuery:
    statement = select(*ENDPOINT_COLUMNS).where(WebhookEndpoint.tenant_id == bindparam("tenant_id"))
    return KeysetQuery.build(statement, ENDPOINT_KEYSET, descending=True)


@cache
def message_list(by_status: bool) -> KeysetQuery:
    statement = select(*MESSAGE_COLUMNS).where(
        WebhookMessage.tenant_id == bindparam("tenant_id"),
        WebhookMessage.endpoint_id == bindparam("endpoint_id"),
    )
    if by_status:
        statement = statement.where(WebhookMessage.status == bindparam("status"))
    return KeysetQuery.build(statement, MESSAGE_KEYSET, descending=True)


@cache
def attempt_list(by_message: bool) -> KeysetQuery:
    statement = select(*ATTEMPT_COLUMNS).where(
        WebhookAttempt.tenant_id == bindparam("tenant_id"),
        WebhookAttempt.endpoint_id == bindparam("endpoint_id"),
    )
    if by_message:
        statement = statement.where(WebhookAttempt.message_id == bindparam("message_id"))
    return KeysetQuery.build(statement, ATTEMPT_KEYSET, descending=True)


# What an operator asks first about a tenant's webhooks: per endpoint, how many messages wait and
# since when, how many were given up, the last delivery, and the message at the head of its
# queue (the one every later message waits behind) with its attempts and last error.
HEALTH = text(
    """
    SELECT e.id, e.url, e.status, e.disabled_reason, e.event_types,
           count(m.id) FILTER (WHERE m.status = 'pending') AS pending,
           min(m.created_at) FILTER (WHERE m.status = 'pending') AS oldest_pending_at,
           count(m.id) FILTER (WHERE m.status = 'failed') AS failed,
           max(m.delivered_at) AS last_delivered_at,
           head.webhook_id AS head_webhook_id, head.event_type AS head_event_type,
           head.attempts AS head_attempts, head.last_error AS head_last_error,
           head.next_attempt_at AS head_next_attempt_at
      FROM webhook_endpoints e
      LEFT JOIN webhook_messages m ON m.tenant_id = e.tenant_id AND m.endpoint_id = e.id
      LEFT JOIN LATERAL (
            SELECT h.webhook_id, h.event_type, h.attempts, h.last_error, h.next_attempt_at
              FROM webhook_messages h
             WHERE h.tenant_id = e.tenant_id AND h.endpoint_id = e.id AND h.status = 'pending'
             ORDER BY h.sequence
             LIMIT 1
      ) head ON true
     WHERE e.tenant_id = :tenant_id
     GROUP BY e.id, e.tenant_id, head.webhook_id, head.event_type, head.attempts,
              head.last_error, head.next_attempt_at
     ORDER BY e.created_at, e.id
    """
).bindparams(bindparam("tenant_id", type_=UUID(as_uuid=True)))


class EndpointRepository(Repository[WebhookEndpoint]):
    model = WebhookEndpoint

    async def of_tenant(
        self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        return await self.get((tenant_id, endpoint_id), for_update=for_update)

    async def listed(
        self, tenant_id: uuid.UUID, page: PageParams
    ) -> tuple[list[dict[str, Any]], str | None]:
        return await endpoint_list().page(self.session, page, {"tenant_id": tenant_id})

    async def subscribed(self, tenant_id: uuid.UUID, event_type: str) -> list[uuid.UUID]:
        """Enabled endpoints that selected `event_type`."""
        rows = await self.session.execute(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.tenant_id == tenant_id,
                WebhookEndpoint.status == EndpointStatus.ENABLED,
                WebhookEndpoint.event_types.contains([event_type]),
            )
        )
        return list(rows.scalars())

    async def next_sequence(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> int:
        """The next position in the endpoint's send order (the row lock orders concurrent
        writers; the version is untouched: this is not a change of the endpoint)."""
        result = await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id)
            .values(last_sequence=WebhookEndpoint.last_sequence + 1)
            .returning(WebhookEndpoint.last_sequence)
            .execution_options(synchronize_session=False)
        )
        return int(result.scalar_one())

    async def disable(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id)
            .values(
                status=EndpointStatus.DISABLED,
                disabled_reason=reason,
                version=WebhookEndpoint.version + 1,
                updated_at=func.now(),
            )
            .execution_options(synchronize_session=False)
        )

    async def with_pending(self, tenant_id: uuid.UUID) -> list[uuid.UUID]:
        """Enabled endpoints with a message due now (for the sweep)."""
        rows = await self.session.execute(
            select(WebhookMessage.endpoint_id)
            .join(
                WebhookEndpoint,
                (WebhookEndpoint.tenant_id == WebhookMessage.tenant_id)
                & (WebhookEndpoint.id == WebhookMessage.endpoint_id),
            )
            .where(
                WebhookMessage.tenant_id == tenant_id,
                WebhookMessage.status == MessageStatus.PENDING,
                WebhookMessage.next_attempt_at <= func.now(),
                WebhookEndpoint.status == EndpointStatus.ENABLED,
            )
            .distinct()
        )
        return list(rows.scalars())

    async def health(self, tenant_id: uuid.UUID) -> list[Any]:
        """Each endpoint of the tenant with its backlog (see HEALTH), oldest endpoint first."""
        rows = await self.session.execute(HEALTH, {"tenant_id": tenant_id})
        return list(rows.mappings())

    async def remove(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(WebhookEndpoint).where(
                WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.id == endpoint_id
            )
        )


class MessageRepository(Repository[WebhookMessage]):
    model = WebhookMessage

    async def backlog(self, tenant_id: uuid.UUID) -> tuple[int, datetime | None]:
        """The tenant's pending messages: how many, and when the oldest was created (the
        partial index on pending messages answers it)."""
        row = (
            await self.session.execute(
                select(func.count(), func.min(WebhookMessage.created_at)).where(
                    WebhookMessage.tenant_id == tenant_id,
                    WebhookMessage.status == MessageStatus.PENDING,
                )
            )
        ).one()
        return int(row[0]), row[1]

    async def add_once(self, values: dict[str, Any]) -> bool:
        """Insert a message unless the endpoint already has this `webhook_id` (an event
        delivered twice to the listener); whether it was inserted."""
        statement = (
            insert(WebhookMessage)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[
                    WebhookMessage.tenant_id,
                    WebhookMessage.endpoint_id,
                    WebhookMessage.webhook_id,
                ]
            )
            .returning(WebhookMessage.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def by_webhook_id(
        self,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        webhook_id: str,
        *,
        for_update: bool = False,
    ) -> WebhookMessage | None:
        statement = select(WebhookMessage).where(
            WebhookMessage.tenant_id == tenant_id,
            WebhookMessage.endpoint_id == endpoint_id,
            WebhookMessage.webhook_id == webhook_id,
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def head(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookMessage | None:
        """The endpoint's oldest pending message: the only one that may be sent now."""
        statement = (
            select(WebhookMessage)
            .where(
                WebhookMessage.tenant_id == tenant_id,
                WebhookMessage.endpoint_id == endpoint_id,
                WebhookMessage.status == MessageStatus.PENDING,
            )
            .order_by(WebhookMessage.sequence)
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def cancel_pending(
        self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, reason: str
    ) -> int:
        result = await self.session.execute(
            update(WebhookMessage)
            .where(
                WebhookMessage.tenant_id == tenant_id,
                WebhookMessage.endpoint_id == endpoint_id,
                WebhookMessage.status == MessageStatus.PENDING,
            )
            .values(status=MessageStatus.CANCELLED, last_error=reason)
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result)

    async def listed(
        self,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        status: str | None,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        filters: dict[str, Any] = {"tenant_id": tenant_id, "endpoint_id": endpoint_id}
        if status is not None:
            filters["status"] = status
        return await message_list(status is not None).page(self.session, page, filters)


class AttemptRepository(Repository[WebhookAttempt]):
    model = WebhookAttempt

    async def listed(
        self,
        tenant_id: uuid.UUID,
        endpoint_id: uuid.UUID,
        message_id: uuid.UUID | None,
        page: PageParams,
    ) -> tuple[list[dict[str, Any]], str | None]:
        filters: dict[str, Any] = {"tenant_id": tenant_id, "endpoint_id": endpoint_id}
        if message_id is not None:
            filters["message_id"] = message_id
        return await attempt_list(message_id is not None).page(self.session, page, filters)
