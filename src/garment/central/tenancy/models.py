"""Tenants, memberships, invitations and provisioning steps (central database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from garment.central.tenancy.states import (
    InvitationState,
    MembershipStatus,
    StepStatus,
    SuspensionSource,
    TenantStatus,
)
from garment.platform.db import CentralBase, TimestampMixin, check_in, new_id


class Tenant(TimestampMixin, CentralBase):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(check_in("status", TenantStatus), name="status"),
        CheckConstraint(check_in("suspension_source", SuspensionSource), name="suspension_source"),
        Index("ix_tenants_cluster_key_status", "cluster_key", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), server_default=text("'pending'"))
    cluster_key: Mapped[str | None] = mapped_column(String(63), ForeignKey("clusters.key"))
    region_hint: Mapped[str | None] = mapped_column(String(63))
    plan_code: Mapped[str] = mapped_column(String(32))
    billing_interval: Mapped[str] = mapped_column(String(16), server_default=text("'monthly'"))
    owner_user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id"))
    read_only: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    provisioned_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    # Who suspended the tenant and why, while it is suspended (migration 0009).
    suspension_source: Mapped[str | None] = mapped_column(String(16))
    suspension_reason: Mapped[str | None] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None]


class Membership(TimestampMixin, CentralBase):
    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(check_in("status", MembershipStatus), name="status"),
        Index("ix_memberships_user_id", "user_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    # The roles the member holds: the one source of truth (ADR 0008). What each role may do is
    # defined on the tenant's cluster.
    role_keys: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))


class Invitation(CentralBase):
    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(320))
    role_keys: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    revoked_at: Mapped[datetime | None]

    @property
    def roles(self) -> list[str]:
        return list(self.role_keys)

    @property
    def status(self) -> InvitationState:
        return self.state(datetime.now(UTC))

    def state(self, now: datetime) -> InvitationState:
        if self.accepted_at is not None:
            return InvitationState.ACCEPTED
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if self.expires_at <= now:
            return InvitationState.EXPIRED
        return InvitationState.PENDING


class ProvisioningStep(CentralBase):
    """One step of one tenant's provisioning: the pipeline resumes from what is recorded here."""

    __tablename__ = "provisioning_runs"
    __table_args__ = (CheckConstraint(check_in("status", StepStatus), name="status"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
