"""Webhook endpoints of a tenant, the messages frozen for each (one per event and endpoint),
and the log of every delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from garment.platform.db import TenantBase, check_in, new_id
from garment.platform.versioning import Versioned
from garment.tenant.webhooks.states import (
    AttemptOutcome,
    AttemptTrigger,
    EndpointStatus,
    MessageStatus,
)


class WebhookEndpoint(Versioned, TenantBase):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(check_in("status", EndpointStatus), name="status"),
        Index("ix_webhook_endpoints_tenant_id_created_at", "tenant_id", "created_at", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    status: Mapped[str] = mapped_column(String(16))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # The `whsec_...` secret, Fernet-encrypted (SecretBox purpose `webhook-secrets`); after a
    # rotation the previous one still signs until `previous_secret_expires_at`.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    # The sequence of the endpoint's last message: messages are sent in this order.
    last_sequence: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookMessage(TenantBase):
    __tablename__ = "webhook_messages"
    __table_args__ = (
        CheckConstraint(check_in("status", MessageStatus), name="status"),
        CheckConstraint(check_in("trigger", AttemptTrigger), name="trigger"),
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "endpoint_id", "webhook_id"),
        UniqueConstraint("tenant_id", "endpoint_id", "sequence"),
        Index(
            "ix_webhook_messages_tenant_id_pending",
            "tenant_id",
            "endpoint_id",
            "sequence",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    webhook_id: Mapped[str] = mapped_column(String(64))  # `msg_...`, the same on every attempt
    event_type: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the exact bytes sent on every attempt
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(
        String(16)
    )  # what the next attempt is: first try or replay
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookAttempt(TenantBase):
    __tablename__ = "webhook_attempts"
    __table_args__ = (
        CheckConstraint(check_in("trigger", AttemptTrigger), name="trigger"),
        CheckConstraint(check_in("outcome", AttemptOutcome), name="outcome"),
        ForeignKeyConstraint(
            ["tenant_id", "message_id"],
            ["webhook_messages.tenant_id", "webhook_messages.id"],
            ondelete="CASCADE",
        ),
        Index(
            "ix_webhook_attempts_tenant_id_message_id", "tenant_id", "message_id", "attempted_at"
        ),
        Index(
            "ix_webhook_attempts_tenant_id_endpoint_id",
            "tenant_id",
            "endpoint_id",
            "attempted_at",
            "id",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    webhook_id: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))
    attempted_at: Mapped[datetime] = mapped_column(server_default=func.now())
