"""Typed configuration for every process (server, worker, CLI).

Sources, highest precedence first: explicit keyword arguments, environment variables
(`GARMENT_` prefix, `__` between a section and its key, e.g. `GARMENT_AUTH__SESSION_IDLE_DAYS`),
the TOML file (`garment.toml` in the working directory, or the path in `GARMENT_CONFIG_FILE`),
then the defaults below. Every default works on the embedded PostgreSQL, so a fresh checkout
needs no configuration at all. `docs/18-config-reference.md` is generated from this module.
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_ENV = "GARMENT_CONFIG_FILE"
DEFAULT_CONFIG_FILE = "garment.toml"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class MailBackend(StrEnum):
    FILE = "file"
    SMTP = "smtp"


class HttpSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Interface `garment serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port `garment serve` listens on.")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL users reach the API at; used in mails and printed by `make run`.",
    )
    frontend_url: str = Field(
        "http://127.0.0.1:3000",
        description="Front-end base URL; links in mails (verify email, reset password) point here.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed by CORS. Empty disables CORS headers entirely.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy addresses whose X-Forwarded-For is trusted for the client IP "
        "(rate limits and activity records). Empty trusts nobody.",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest request body accepted (bytes); larger ones answer `413 "
        "REQUEST_TOO_LARGE` before they are read. Routes that need no sign-in accept at most "
        "16 KiB whatever this says.",
    )
    max_header_bytes: int = Field(
        65_536,
        ge=4096,
        description="Largest request line plus headers accepted (bytes); larger ones answer "
        "`431 REQUEST_HEADERS_TOO_LARGE` and the connection closes, before they are buffered.",
    )


class JobSettings(BaseModel):
    worker_concurrency: int = Field(
        4, ge=1, le=64, description="Jobs one worker process runs at the same time."
    )
    in_process_worker: bool = Field(
        True,
        description="`garment serve` also runs a worker and the outbox relay in the server "
        "process (turn off when dedicated `garment worker` processes run).",
    )
    outbox_poll_seconds: float = Field(
        1.0,
        gt=0,
        description="How often the outbox relay looks for undelivered events when nothing "
        "nudged it. Lower means faster recovery after a crash, more idle queries.",
    )
    outbox_max_attempts: int = Field(
        12,
        ge=1,
        description="Delivery rounds per event (each claim of the event, including a re-claim "
        "after a relay died) before the event is parked as dead; dead events are kept for "
        "`garment events list --dead` and `garment events retry`.",
    )
    outbox_retention_days: int = Field(
        7, ge=1, description="Delivered events are purged after this many days."
    )
    max_queue_wait_seconds: float = Field(
        600.0,
        gt=0,
        description="A due job waiting longer than this for a worker makes `/readyz` answer "
        "`degraded` and `garment doctor` fail: no worker runs, or all are stuck.",
    )
    heartbeat_timeout_seconds: float = Field(
        30.0,
        gt=1,
        description="A running job whose worker has not sent a heartbeat for this long is "
        "considered dead and run again (crash recovery delay).",
    )
    dequeue_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="How long an idle worker waits for a notification before polling the queue.",
    )
    outbox_lease_seconds: int = Field(
        60,
        ge=5,
        description="How long a relay may hold an event before another relay assumes it "
        "crashed and delivers the event again.",
    )


class MailSettings(BaseModel):
    backend: MailBackend = Field(
        MailBackend.FILE,
        description="`file` writes each mail under `mail.directory` and logs it; `smtp` sends it.",
    )
    directory: Path | None = Field(
        None, description="Folder the `file` backend writes mails into (default: `data_dir/mail`)."
    )
    sender: str = Field(
        "Garment.id <no-reply@garment.local>", description="From address of every mail."
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server host (smtp backend).")
    smtp_port: int = Field(587, description="SMTP server port (smtp backend).")
    smtp_username: str | None = Field(None, description="SMTP user, when the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password. Secret.")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_timeout_seconds: float = Field(10.0, description="SMTP connect and send timeout.")


class LogSettings(BaseModel):
    level: str = Field("INFO", description="Minimum log level (DEBUG, INFO, WARNING, ERROR).")
    json_output: bool = Field(
        True,
        description="One JSON object per line (for log shippers). False prints readable lines.",
    )
    file: Path | None = Field(
        None,
        description="Also write the log, always as JSON lines, to this file, rotated by size "
        "(`garment logs` and `garment incident timeline` search it and its backups). Only "
        "`garment serve` and `garment worker` write it; operator commands log to stderr. Unset: "
        "no file, except on the embedded default (no `database_url`), where it is "
        "`data_dir/logs/garment.log`. Rotation is per process: in production give each "
        "process its own file (`garment logs --file` reads any of them).",
    )
    file_max_bytes: int = Field(
        50 * 1024 * 1024,
        ge=1024,
        description="Size at which the log file is rotated: it becomes `<file>.1`, older "
        "backups move up one number.",
    )
    file_backups: int = Field(
        10,
        ge=1,
        description="Rotated log files kept (`<file>.1` newest to `<file>.N` oldest); the "
        "oldest is deleted at the next rotation.",
    )


class AuthSettings(BaseModel):
    issuer: str = Field("https://garment.id", description="`iss` of every access token.")
    secret_key: SecretStr | None = Field(
        None,
        description="Key-encryption key for signing keys, MFA secrets and the refresh grace "
        "cache. Secret. Unset in development: generated once into `data_dir/secret_key`; "
        "required in production. Changing it makes stored signing keys and MFA secrets "
        "unreadable.",
    )
    token_hash_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Keys of the HMAC-SHA256 that hashes stored tokens (refresh tokens, mail "
        "links, recovery codes, invitations). Secret. The first hashes new tokens, all of "
        "them verify: to rotate, put a new key first and drop the old one once the longest "
        "token it hashed has expired (`session_absolute_days`). Empty: one key derived from "
        "`secret_key`.",
    )
    accept_legacy_token_hashes: bool = Field(
        True,
        description="Also accept token hashes stored before keyed hashing (bare SHA-256), so "
        "tokens issued before the upgrade keep working until they expire. Turn off once "
        "`session_absolute_days` have passed since upgrading (recovery codes made before "
        "then stop working; users regenerate them).",
    )
    access_token_minutes: int = Field(10, ge=1, le=60, description="Access token lifetime.")
    refresh_token_days: int = Field(
        30,
        ge=1,
        description="Refresh token lifetime; each rotation slides it, up to the "
        "session's absolute lifetime.",
    )
    session_idle_days: int = Field(
        30, ge=1, description="A session unused this long expires, whatever its tokens say."
    )
    session_absolute_days: int = Field(
        90, ge=1, description="A session ends this long after login regardless of rotation."
    )
    refresh_reuse_grace_seconds: int = Field(
        10,
        ge=0,
        le=120,
        description="Window in which the immediate parent refresh token, presented again from "
        "the same device, returns the same successor pair (parallel tabs, lost responses) "
        "instead of counting as a replay. 0 disables the grace.",
    )
    clock_skew_seconds: int = Field(
        30, ge=0, le=300, description="Leeway for `exp`/`nbf`/`iat` when verifying tokens."
    )
    signing_key_publish_seconds: int = Field(
        90,
        ge=0,
        le=3600,
        description="After `garment auth keys rotate`, how long the new key is published (JWKS, "
        "every process's key ring) before it signs. Longer than the 60 s key reload, so a "
        "process that missed the change notification still knows the key before its tokens "
        "arrive.",
    )
    reauth_minutes: int = Field(
        10,
        ge=1,
        description="Sensitive changes (MFA, revoking other sessions) need a login or "
        "`POST /auth/reauth` this recent.",
    )
    password_min_length: int = Field(
        8, ge=8, le=64, description="Minimum password length (15 recommended without MFA)."
    )
    password_max_length: int = Field(
        128, ge=64, le=1024, description="Maximum password length (NIST: at least 64)."
    )
    email_verification_hours: int = Field(48, ge=1, description="Verification link lifetime.")
    password_reset_minutes: int = Field(30, ge=5, description="Password reset link lifetime.")
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins per account within the window before a lockout."
    )
    login_failure_window_minutes: int = Field(
        15, ge=1, description="Window in which failed logins are counted."
    )
    lockout_minutes: int = Field(15, ge=1, description="How long a locked account waits.")
    mfa_max_failures: int = Field(
        10,
        ge=1,
        description="Wrong MFA codes per account, over all its challenges, within "
        "`login_failure_window_minutes` before MFA is refused (423 AUTH_ACCOUNT_LOCKED) until "
        "the oldest of them leaves the window. Each challenge also ends after 5 wrong codes.",
    )
    ip_rate_limit: str = Field(
        "60/minute",
        description="Requests per client IP to each auth endpoint (`limits` notation); over it "
        "answers 429 RATE_LIMITED.",
    )
    email_rate_limit: str = Field(
        "5/hour",
        description="Verification and reset mails per address (`limits` notation).",
    )
    argon2_memory_kib: int = Field(
        19_456, ge=8, description="argon2id memory cost (OWASP: 19 MiB with t=2, p=1)."
    )
    argon2_time_cost: int = Field(2, ge=1, description="argon2id iterations.")
    argon2_parallelism: int = Field(1, ge=1, description="argon2id lanes.")
    mfa_challenge_minutes: int = Field(5, ge=1, description="Lifetime of an MFA login challenge.")
    tenant_mismatch_threshold: int = Field(
        3,
        ge=1,
        description="Tenant context mismatches by one user within the window that make the "
        "activity suspicious (`tenant_mismatch`).",
    )
    tenant_mismatch_window_minutes: int = Field(10, ge=1, description="Window for the above.")
    demo_admin_email: str = Field(
        "admin@example.com",
        description="Email of the demo platform admin created on the embedded database.",
    )


class RateLimitSettings(BaseModel):
    enabled: bool = Field(True, description="Apply rate limits at all.")
    per_session: str = Field(
        "300/minute",
        description="Requests per signed-in session to each auth endpoint (`limits` notation): "
        "signed-in callers are counted by session, not by address, so clients behind one "
        "address (an office NAT, a proxy) do not share a bucket.",
    )
    refresh_per_ip: str = Field(
        "1200/minute",
        description="Refreshes per client address, all devices together (each device is also "
        "held to `auth.ip_rate_limit` on its own).",
    )
    tenant_creation: str = Field(
        "10/hour",
        description="Tenants one user may create (`limits` notation); over it `POST /tenants` "
        "answers 429 RATE_LIMITED with Retry-After.",
    )
    tracking_per_ip: str = Field(
        "120/minute",
        description="Views of public tracking pages (`/t/{token}` and its JSON) per client "
        "address, valid or not; over it 429 RATE_LIMITED with Retry-After.",
    )
    tracking_per_token: str = Field(
        "30/minute",
        description="Views of one tracking token (counted by a digest of whatever token is "
        "presented, valid or not), whatever the address.",
    )
    storage_url: str = Field(
        "memory://",
        description="`limits` storage. `memory://` is per process; use `redis://...` when "
        "several processes must share counters.",
    )


class XenditSettings(BaseModel):
    callback_token: SecretStr | None = Field(
        None,
        description="Callback verification token of the Xendit account (dashboard: Settings > "
        "Callbacks); compared with each callback's `x-callback-token` and the key of its "
        "HMAC signature. Secret. Unset: Xendit callbacks are refused (`not_configured`).",
    )
    api_key: SecretStr | None = Field(
        None,
        description="Xendit secret API key (basic auth user) for creating and reading invoices. "
        "Secret.",
    )
    api_url: str = Field("https://api.xendit.co", description="Xendit API base URL.")


class MidtransSettings(BaseModel):
    server_key: SecretStr | None = Field(
        None,
        description="Midtrans server key: basic auth of the API and part of each "
        "notification's SHA-512 `signature_key`. Secret. Unset: notifications are refused.",
    )
    api_url: str = Field(
        "https://api.sandbox.midtrans.com",
        description="Midtrans Core API base URL (transaction status); production: "
        "`https://api.midtrans.com`.",
    )
    snap_url: str = Field(
        "https://app.sandbox.midtrans.com",
        description="Midtrans Snap base URL (creating payment pages); production: "
        "`https://app.midtrans.com`.",
    )


class StandardWebhooksSettings(BaseModel):
    secret: SecretStr | None = Field(
        None,
        description="`whsec_...` secret of a provider signing with Standard Webhooks; several "
        "separated by spaces while rotating (a delivery is valid when any of them verifies). "
        "Secret. Unset, or any of them not `whsec_` + base64: deliveries are refused "
        "(`not_configured`).",
    )
    api_url: str | None = Field(
        None,
        description="Base of the payment links of the generic provider (`{api_url}/{reference}`"
        "). Unset: it cannot create payment links.",
    )


class SandboxSettings(BaseModel):
    secret: SecretStr | None = Field(
        None,
        description="`whsec_...` secret of the local sandbox provider (`garment billing "
        "simulate-payment` signs with it). Secret. Unset outside production: generated once "
        "into `data_dir/billing_sandbox_secret`; unset in production: the sandbox refuses "
        "every delivery.",
    )


class BillingSettings(BaseModel):
    """Central billing: tax, webhook ingress, dunning. Provider secrets are nested sections
    (`billing.xendit`, `billing.midtrans`, `billing.standard_webhooks`, `billing.sandbox`)."""

    ppn_rate: int = Field(
        12, ge=0, le=100, description="Statutory PPN (VAT) rate in percent applied to the tax base."
    )
    ppn_base_ratio: str = Field(
        "11/12",
        pattern=r"^\d+/[1-9]\d*$",
        description="Tax base as a fraction of the price (`numerator/denominator`); with the "
        "defaults the effective rate is 11%. PPN = floor(price x rate x ratio / 100).",
    )
    webhook_max_body_bytes: int = Field(
        262_144,
        ge=1024,
        description="Largest webhook body accepted (bytes); larger ones answer `413` and are "
        "still recorded as a receipt (the first bytes, with the size).",
    )
    receipt_retention_days: int = Field(
        180, ge=1, description="Webhook receipts older than this are purged daily."
    )
    processing_stuck_minutes: int = Field(
        10,
        ge=1,
        description="A receipt `processing` for longer than this (its worker died) is "
        "enqueued again by the sweep.",
    )
    dunning_days: list[int] = Field(
        default_factory=lambda: [1, 3, 5, 7],
        description="Days after an invoice's due date on which a reminder is sent.",
    )
    grace_days: int = Field(
        7, ge=0, description="Days past due after which the subscription and tenant are suspended."
    )
    cancel_after_days: int = Field(
        30, ge=1, description="Days suspended after which the subscription is cancelled."
    )
    invoice_due_days: int = Field(
        7, ge=0, description="Days between issuing a renewal invoice and its due date."
    )
    default_provider: str = Field(
        "sandbox",
        description="Provider used for payment links (`xendit`, `midtrans`, `standard`, "
        "`sandbox`).",
    )
    provider_timeout_seconds: float = Field(
        10.0, gt=0, description="Timeout of each request to a payment provider's API."
    )
    xendit: XenditSettings = Field(default_factory=XenditSettings, description="Xendit.")
    midtrans: MidtransSettings = Field(default_factory=MidtransSettings, description="Midtrans.")
    standard_webhooks: StandardWebhooksSettings = Field(
        default_factory=StandardWebhooksSettings, description="Standard Webhooks provider."
    )
    sandbox: SandboxSettings = Field(
        default_factory=SandboxSettings, description="Local sandbox provider."
    )


class WebhookSettings(BaseModel):
    """Outbound webhooks to the tenants' own systems (chapter 28)."""

    timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=30,
        description="Timeout of one delivery attempt (connect, send, wait for the answer); a "
        "slower endpoint counts as failed and is retried.",
    )
    max_attempts: int = Field(
        12,
        ge=1,
        le=50,
        description="Attempts of one message before it is given up (`failed`); the next "
        "message of the endpoint is sent after that.",
    )
    retry_base_seconds: float = Field(
        15.0,
        ge=0,
        description="Wait after the first failed attempt; it doubles after each further one "
        "(15 s, 30 s, 1 min, ... with the defaults). 0 retries at once (tests).",
    )
    retry_max_seconds: float = Field(
        21_600.0, ge=0, description="Longest wait between two attempts (6 h by default)."
    )
    allow_private_targets: bool | None = Field(
        None,
        description="Allow endpoint URLs whose host is or resolves to a loopback, private, "
        "link-local or otherwise non-public address (SSRF guard). Unset: allowed outside "
        "production, refused in production.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GARMENT_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    environment: Environment = Field(
        Environment.DEVELOPMENT,
        description="`production` refuses unsafe defaults (embedded database, file mail, "
        "demo data).",
    )
    data_dir: Path = Field(
        Path(".garment"),
        description="Working data of this installation: embedded PostgreSQL data, mail files, "
        "signing keys when not configured.",
    )
    database_url: str | None = Field(
        None,
        description="Central database URL for the application role. Unset: an embedded "
        "PostgreSQL is started under `data_dir/pgdata` with a central database and a "
        "`default` cluster.",
    )
    database_migration_url: str | None = Field(
        None,
        description="Central database URL of the owner role that runs migrations. Defaults to "
        "`database_url`. Grants go to the user of `database_url`.",
    )
    clusters: dict[str, str] = Field(
        default_factory=dict,
        description="Tenant clusters as key -> URL of the application role "
        '(`GARMENT_CLUSTERS=\'{"default": "postgresql://..."}\'`). Connection strings are '
        "config, not data; the cluster registry refers to them by key.",
    )
    cluster_migration_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Owner-role URL per cluster key for the tenant migrations. Defaults to the "
        "key's entry in `clusters`.",
    )
    auto_migrate: bool | None = Field(
        None,
        description="Migrate central and every cluster when the server starts. Unset means "
        "on for the embedded database and off for a configured one.",
    )
    db_pool_size: int = Field(
        20,
        ge=1,
        description="Connections a database pool opens as requests need them and keeps open.",
    )
    db_max_overflow: int = Field(
        0,
        ge=0,
        description="Extra connections a pool may open beyond `db_pool_size`; each is closed "
        "as soon as it is returned, so under sustained load overflow means a connection opened "
        "(a PostgreSQL backend started) per request: prefer a larger `db_pool_size`.",
    )
    db_statement_timeout_ms: int = Field(
        15_000,
        ge=0,
        description="statement_timeout of application connections (0 = none); stops a runaway "
        "query from holding a connection forever.",
    )
    demo_data: bool | None = Field(
        None,
        description="Seed demo data (a demo admin and tenant) on start. Unset means on for the "
        "embedded database and never for a configured one.",
    )
    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP server.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Central auth.")
    jobs: JobSettings = Field(default_factory=JobSettings, description="Jobs and the outbox.")
    mail: MailSettings = Field(default_factory=MailSettings, description="Outgoing mail.")
    log: LogSettings = Field(default_factory=LogSettings, description="Logging.")
    rate_limit: RateLimitSettings = Field(
        default_factory=RateLimitSettings, description="Rate limiting."
    )
    billing: BillingSettings = Field(
        default_factory=BillingSettings, description="Central billing."
    )
    webhooks: WebhookSettings = Field(
        default_factory=WebhookSettings, description="Outbound webhooks."
    )

    @field_validator("database_url", "database_migration_url")
    @classmethod
    def _must_be_postgres(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(POSTGRES_SCHEMES):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("clusters", "cluster_migration_urls")
    @classmethod
    def _cluster_urls_must_be_postgres(cls, value: dict[str, str]) -> dict[str, str]:
        for key, url in value.items():
            if not url.startswith(POSTGRES_SCHEMES):
                raise ValueError(f"cluster {key!r}: must be a postgresql:// URL")
        return value

    @property
    def mail_directory(self) -> Path:
        return self.mail.directory or self.data_dir / "mail"

    def production_problems(self) -> list[str]:
        """Defaults that are fine for development and refused in production."""
        if self.environment is not Environment.PRODUCTION:
            return []
        problems = []
        if self.uses_embedded_database:
            problems.append("no database_url: the embedded PostgreSQL is for development only")
        if self.mail.backend is MailBackend.FILE:
            problems.append("mail.backend is `file`: configure SMTP")
        if self.auth.secret_key is None:
            problems.append("auth.secret_key is not set")
        return problems

    def configuration_warnings(self) -> list[str]:
        """Settings that are accepted but probably not what the operator meant: logged at every
        start and shown by `garment doctor`."""
        warnings = []
        if self.uses_embedded_database and (self.clusters or self.cluster_migration_urls):
            warnings.append(
                "clusters / cluster_migration_urls are set but database_url is not: on the "
                "embedded default they are ignored (the embedded server holds central and the "
                "`default` cluster). Set database_url to use configured clusters"
            )
        if self.environment is Environment.PRODUCTION and not self.http.trusted_proxies:
            warnings.append(
                "http.trusted_proxies is empty: behind a reverse proxy every client shares the "
                "proxy's address (one rate-limit bucket, one IP in every audit record)"
            )
        return warnings

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @model_validator(mode="after")
    def _log_file_on_the_embedded_default(self) -> Settings:
        """The newcomer path (`make run`, no database configured) keeps its log next to its
        data, so `garment logs` works without any configuration."""
        if self.log.file is None and self.uses_embedded_database:
            self.log = self.log.model_copy(update={"file": self.data_dir / "logs" / "garment.log"})
        return self

    @property
    def should_auto_migrate(self) -> bool:
        return self.uses_embedded_database if self.auto_migrate is None else self.auto_migrate

    @property
    def should_seed_demo_data(self) -> bool:
        if self.environment is Environment.PRODUCTION:
            return False
        return self.uses_embedded_database if self.demo_data is None else self.demo_data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
            file_secret_settings,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def load_settings(**overrides: Any) -> Settings:
    """Fresh settings with explicit overrides on top (tests and CLI options)."""
    return Settings(**overrides)
