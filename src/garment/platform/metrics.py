"""Prometheus metrics. Route labels use the route template, never the raw path, so a scan of
random URLs cannot blow up the number of series."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

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


class HttpMetrics:
    """The request counter and latency histogram, their labelled children kept by (method,
    route, status): `labels()` converts every value and takes a lock on each call, twice per
    request. Routes are templates and methods few, so the map stays small; past `max_children`
    (a client inventing methods) lookups go through `labels()` again."""

    def __init__(self, max_children: int = 4096) -> None:
        self.max_children = max_children
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, status: int, duration: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(method, route, str(status)),
                HTTP_LATENCY.labels(method, route),
            )
            if len(self._children) < self.max_children:
                self._children[key] = children
        children[0].inc()
        children[1].observe(duration)


HTTP_METRICS = HttpMetrics()
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


class LookupCounts(Protocol):
    name: str
    hits: int
    misses: int


class CacheLookups(Collector):
    """`garment_cache_lookups_total{cache, result}`, read from the caches' own counts when
    scraped. A tenant request makes about five cache lookups, and a prometheus `Counter` takes a
    lock on every increment; a cache counts in plain integers on the event loop's thread.
    Caches of the same name (one per runtime, several in a test process) are summed."""

    def __init__(self) -> None:
        self._caches: weakref.WeakSet[Any] = weakref.WeakSet()

    def track(self, cache: LookupCounts) -> None:
        self._caches.add(cache)

    def collect(self) -> Iterator[CounterMetricFamily]:
        totals: dict[tuple[str, str], int] = {}
        for cache in list(self._caches):
            for result, count in (("hit", cache.hits), ("miss", cache.misses)):
                totals[(cache.name, result)] = totals.get((cache.name, result), 0) + count
        family = CounterMetricFamily(
            "garment_cache_lookups",
            "Read-through cache lookups by cache and result",
            labels=["cache", "result"],
        )
        for labels, count in sorted(totals.items()):
            family.add_metric(list(labels), count)
        yield family


CACHE_LOOKUPS = CacheLookups()
REGISTRY.register(CACHE_LOOKUPS)
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

MEASUREMENT_TAKEN = Gauge(
    "garment_measurement_timestamp_seconds",
    "Unix time a job last took a series of a measurement exported here (platform/measurements.py)",
    ["measurement", "series"],
)
WEBHOOK_MESSAGES_PENDING = Gauge(
    "garment_webhook_messages_pending",
    "Outbound webhook messages not yet delivered or given up, per cluster (measured by the "
    "webhook sweep)",
    ["cluster"],
)
WEBHOOK_OLDEST_PENDING = Gauge(
    "garment_webhook_oldest_pending_timestamp_seconds",
    "Unix time the oldest pending outbound webhook message was created, per cluster (0: none; "
    "measured by the webhook sweep)",
    ["cluster"],
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
