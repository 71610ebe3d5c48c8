"""Prometheus metrics. Route labels use the route template, never the raw path, so a scan of
random URLs cannot blow up the number of series."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "garment_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "garment_http_request_duration_seconds",
    "HTTP request duration by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OUTBOX_EVENTS = Gauge("garment_outbox_events", "Outbox events by state", ["state"])
JOBS = Gauge("garment_jobs", "Jobs in the queue by status", ["status"])
JOB_RUNS = Counter(
    "garment_job_runs_total", "Job executions by task and outcome", ["task", "outcome"]
)
DB_POOL = Gauge(
    "garment_db_pool_connections", "Pool connections by database and state", ["database", "state"]
)
CLUSTER_BREAKER_OPEN = Gauge(
    "garment_cluster_breaker_open",
    "1 while a cluster's circuit breaker fails requests fast",
    ["cluster"],
)
DB_UP = Gauge(
    "garment_db_up", "1 when the database answered the last readiness check", ["database"]
)
CACHE_LISTENING = Gauge(
    "garment_cache_listening",
    "1 while this process hears cache invalidations (0: every read goes to the database)",
)
CACHE_LOOKUPS = Counter(
    "garment_cache_lookups_total",
    "Read-through cache lookups by cache and result",
    ["cache", "result"],
)
AUTH_FAILURES = Counter(
    "garment_http_auth_failures_total",
    "401 answers by error code (expired, invalid, revoked, missing tokens; wrong passwords)",
    ["code"],
)
SUSPICIOUS_ACTIVITIES = Counter(
    "garment_suspicious_activities_total",
    "Auth activities marked suspicious, by reason",
    ["reason"],
)
JOB_OLDEST_QUEUED = Gauge(
    "garment_job_oldest_queued_seconds",
    "Age of the oldest job waiting to run (0 when none waits)",
)
BACKGROUND_ALIVE = Gauge(
    "garment_background_alive",
    "1 while a background loop of this process runs (job worker, outbox relay, schedulers)",
    ["task"],
)
BACKGROUND_PROGRESS = Gauge(
    "garment_background_last_progress_timestamp_seconds",
    "Unix time a background loop last made progress (finished a cycle or a job)",
    ["task"],
)
BACKGROUND_RESTARTS = Counter(
    "garment_background_restarts_total",
    "Restarts of a background loop after it crashed",
    ["task"],
)

BILLING_WEBHOOK_RECEIPTS = Counter(
    "garment_billing_webhook_receipts_total",
    "Billing webhook receipts by provider and the status they reached",
    ["provider", "status"],
)
BILLING_WEBHOOK_RECEIPTS_STORED = Gauge(
    "garment_billing_webhook_receipts_stored",
    "Stored billing webhook receipts by provider and status (refreshed on scrape)",
    ["provider", "status"],
)
BILLING_DUNNING_ACTIONS = Counter(
    "garment_billing_dunning_actions_total",
    "Dunning actions taken (reminder, retry_charge, suspend, cancel, past_due)",
    ["action"],
)

WEBHOOK_ATTEMPTS = Counter(
    "garment_webhook_attempts_total",
    "Outbound webhook delivery attempts by outcome (succeeded, failed, gone)",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "garment_webhook_attempt_seconds",
    "Time an outbound webhook attempt took, request to answer (or to the failure)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)

Refresher = Callable[[], Awaitable[None]]


class MetricsExporter:
    """Gauges that need a database read are refreshed when /metrics is scraped."""

    def __init__(self) -> None:
        self.refreshers: list[Refresher] = []

    def add_refresher(self, refresher: Refresher) -> None:
        self.refreshers.append(refresher)

    async def render(self) -> tuple[bytes, str]:
        for refresher in self.refreshers:
            try:
                await refresher()
            except Exception:  # noqa: S112 - a scrape must answer even when one source fails
                continue
        return generate_latest(), CONTENT_TYPE_LATEST
