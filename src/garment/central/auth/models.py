"""Tables of central auth: users, sessions (refresh-token families), activities, MFA, keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import func

from garment.platform.db import CentralBase, TimestampMixin, new_id


class User(TimestampMixin, CentralBase):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", text("lower(email)"), unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), server_default=text("'id'"), default="id")
    password_hash: Mapped[str] = mapped_column(Text)
    email_verified_at: Mapped[datetime | None]
    is_platform_admin: Mapped[bool] = mapped_column(
        Boolean, server_default=text("false"), default=False
    )
    password_changed_at: Mapped[datetime | None]
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)


class AuthSession(CentralBase):
    """One login on one device: the family of its refresh tokens."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    fingerprint_hash: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[\"pwd\"]'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime] = mapped_column(server_default=func.now())
    authenticated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    absolute_expires_at: Mapped[datetime]
    current_tenant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(64))
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class RefreshToken(CentralBase):
    __tablename__ = "auth_refresh_tokens"
    __table_args__ = (
        Index("ix_auth_refresh_tokens_session_id", "session_id"),
        # Each rotation drops the grandparent's copy of the pair by `successor_id`.
        Index(
            "ix_auth_refresh_tokens_successor_id",
            "successor_id",
            postgresql_where=text("successor_ciphertext IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("auth_sessions.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    generation: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    successor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The successor pair, encrypted, kept only for the grace window (then cleared).
    successor_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    grace_until: Mapped[datetime | None]


class AuthActivity(CentralBase):
    __tablename__ = "auth_activities"
    __table_args__ = (
        Index("ix_auth_activities_user_id_occurred_at", "user_id", "occurred_at"),
        Index(
            "ix_auth_activities_suspicious",
            "occurred_at",
            postgresql_where=text("suspicious"),
        ),
        Index("ix_auth_activities_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    type: Mapped[str] = mapped_column(String(48))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    session_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    request_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    suspicious: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    reason: Mapped[str | None] = mapped_column(String(48))
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), default=dict
    )


class KnownDevice(CentralBase):
    __tablename__ = "auth_known_devices"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OneTimeToken(CentralBase):
    """Email verification and password reset tokens, stored as hashes, single use."""

    __tablename__ = "auth_one_time_tokens"
    __table_args__ = (Index("ix_auth_one_time_tokens_user_id_purpose", "user_id", "purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginThrottle(CentralBase):
    """Failed-login counter per email (existing or not, so lockouts reveal nothing)."""

    __tablename__ = "auth_login_throttles"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    window_started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    locked_until: Mapped[datetime | None]


class MfaTotp(CentralBase):
    __tablename__ = "auth_mfa_totp"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    confirmed_at: Mapped[datetime | None]
    # The last accepted 30-second step: a code is accepted once, never replayed.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(CentralBase):
    __tablename__ = "auth_recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    used_at: Mapped[datetime | None]


class MfaChallenge(CentralBase):
    __tablename__ = "auth_mfa_challenges"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    fingerprint_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    consumed_at: Mapped[datetime | None]


class SigningKey(CentralBase):
    __tablename__ = "auth_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16), server_default=text("'EdDSA'"))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    private_key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Published (JWKS) from created_at; signs from activates_at (NULL: from created_at) until
    # retired_at; stays in the JWKS and verifies until verify_until.
    activates_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    verify_until: Mapped[datetime | None]
