"""Central auth: users, sessions and refresh tokens, activities, MFA, one-time tokens, keys.

Revision ID: 0003_auth
Revises: 0002_job_queue
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_auth"
down_revision: str | None = "0002_job_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("locale", sa.String(5), server_default=sa.text("'id'"), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("email_verified_at", TS, nullable=True),
        sa.Column(
            "is_platform_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("password_changed_at", TS, nullable=True),
        sa.Column("mfa_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("updated_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "auth_sessions",
        sa.Column("id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("fingerprint_hash", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column(
            "amr", postgresql.JSONB(), server_default=sa.text("'[\"pwd\"]'::jsonb"), nullable=False
        ),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("last_used_at", TS, server_default=now(), nullable=False),
        sa.Column("authenticated_at", TS, server_default=now(), nullable=False),
        sa.Column("absolute_expires_at", TS, nullable=False),
        sa.Column("current_tenant_id", UUID, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoke_reason", sa.String(64), nullable=True),
        sa.Column("revoked_by", UUID, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auth_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_auth_sessions_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_auth_sessions_user_id_created_at", "auth_sessions", ["user_id", "created_at"]
    )

    op.create_table(
        "auth_refresh_tokens",
        sa.Column("id", UUID, nullable=False),
        sa.Column("session_id", UUID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("issued_at", TS, server_default=now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("successor_id", UUID, nullable=True),
        sa.Column("successor_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("grace_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auth_refresh_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_auth_refresh_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_sessions.id"],
            name="fk_auth_refresh_tokens_session_id_auth_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_auth_refresh_tokens_session_id", "auth_refresh_tokens", ["session_id"])

    op.create_table(
        "auth_activities",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("occurred_at", TS, server_default=now(), nullable=False),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("user_id", UUID, nullable=True),
        sa.Column("session_id", UUID, nullable=True),
        sa.Column("tenant_id", UUID, nullable=True),
        sa.Column("actor_id", UUID, nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("suspicious", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("reason", sa.String(48), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_auth_activities"),
    )
    op.create_index(
        "ix_auth_activities_user_id_occurred_at", "auth_activities", ["user_id", "occurred_at"]
    )
    op.create_index(
        "ix_auth_activities_suspicious",
        "auth_activities",
        ["occurred_at"],
        postgresql_where=sa.text("suspicious"),
    )
    op.create_index("ix_auth_activities_request_id", "auth_activities", ["request_id"])

    op.create_table(
        "auth_known_devices",
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("fingerprint_hash", sa.String(64), nullable=False),
        sa.Column("first_seen_at", TS, server_default=now(), nullable=False),
        sa.Column("last_seen_at", TS, server_default=now(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "fingerprint_hash", name="pk_auth_known_devices"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_auth_known_devices_user_id_users",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "auth_one_time_tokens",
        sa.Column("id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auth_one_time_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_auth_one_time_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_auth_one_time_tokens_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_auth_one_time_tokens_user_id_purpose", "auth_one_time_tokens", ["user_id", "purpose"]
    )

    op.create_table(
        "auth_login_throttles",
        sa.Column("email_hash", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("window_started_at", TS, server_default=now(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("email_hash", name="pk_auth_login_throttles"),
    )

    op.create_table(
        "auth_mfa_totp",
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_auth_mfa_totp"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_auth_mfa_totp_user_id_users", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "auth_recovery_codes",
        sa.Column("id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auth_recovery_codes"),
        sa.UniqueConstraint(
            "user_id", "code_hash", name="uq_auth_recovery_codes_user_id_code_hash"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_auth_recovery_codes_user_id_users",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "auth_mfa_challenges",
        sa.Column("id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("fingerprint_hash", sa.String(64), nullable=True),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("consumed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auth_mfa_challenges"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_auth_mfa_challenges_user_id_users",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "auth_signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), server_default=sa.text("'EdDSA'"), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(), nullable=False),
        sa.Column("private_key_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, server_default=now(), nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.Column("verify_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_auth_signing_keys"),
    )


def downgrade() -> None:
    for table in (
        "auth_signing_keys",
        "auth_mfa_challenges",
        "auth_recovery_codes",
        "auth_mfa_totp",
        "auth_login_throttles",
        "auth_one_time_tokens",
        "auth_known_devices",
        "auth_activities",
        "auth_refresh_tokens",
        "auth_sessions",
        "users",
    ):
        op.drop_table(table)
