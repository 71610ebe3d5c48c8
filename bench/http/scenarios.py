"""The scenarios of `python -m bench.http`, each a ratio measured in one run.

Rounds alternate A B A B (ours, bare, ours, bare) after a warm-up of each; the headline of a
scenario is the median over rounds of ours/bare. Server CPU time is read from /proc (psutil)
around every round, so per-core figures are requests divided by the CPU seconds the server used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.http.load import LoadOptions, LoadResult, RequestSpec, run_load
from bench.http.servers import (
    ProcessTree,
    Service,
    analyze_databases,
    embedded_targets,
    postgres_tree,
    start_bare,
    start_garment,
)
from garment.central.auth.passwords import PasswordHashing
from garment.config import AuthSettings

API = "/api/v1"
TENANT_LIST_PATH = f"{API}/tenant/taxonomies?limit=20"
TENANT_ME_PATH = f"{API}/tenant/me"
BARE_LIST_PATH = "/tenant-list?limit=20"
BARE_ME_PATH = "/tenant-me"
PRODUCT_LIST_PATH = f"{API}/tenant/products?limit=20"
BARE_PRODUCTS_PATH = "/tenant-products?limit=20"
LISTED_PRODUCTS = 20
FINGERPRINT = "bench-http-device"
BOARD_PATH = f"{API}/tenant/production/board"
BARE_BOARD_PATH = "/tenant-board"
EVENTS_PATH = f"{API}/tenant/production/events"
BARE_EVENT_PATH = "/tenant-piece-event"
BENCH_PIECES = 100_000  # the size the piece events count against (each event: one piece in)
SCENARIOS = ("list", "products", "production", "me", "floor", "refresh", "login", "workers")
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class Options:
    load: LoadOptions
    rounds: int
    warmup: float
    only: tuple[str, ...]
    keep: bool = False


@dataclass
class TokenPool:
    """Heads of refresh-token chains; topped up (new sessions) before every round."""

    minimum: int
    make: Callable[[int], list[str]]
    tokens: list[str] = field(default_factory=list)

    def take(self) -> list[str]:
        if len(self.tokens) < self.minimum:
            self.tokens += self.make(self.minimum - len(self.tokens))
        taken, self.tokens = self.tokens, []
        return taken

    def give(self, tokens: list[str]) -> None:
        self.tokens = tokens


@dataclass
class Target:
    label: str
    service: Service
    spec: RequestSpec
    pool: TokenPool | None = None
    pg: ProcessTree | None = None  # its PostgreSQL, when not the main one


@dataclass(frozen=True, slots=True)
class Measured:
    label: str
    result: LoadResult
    server_cpu: float  # CPU seconds of the server's processes during the round
    server_cpu_total: float  # ... until it had served what was in flight at the end
    pg_cpu: float
    other_cpu: float  # everything else on the machine (not ours, PostgreSQL or the load)
    wall: float
    split: list[float] = field(default_factory=list)  # cores per busy server process

    @property
    def per_core(self) -> float:
        """Requests per CPU second of the server (= req/s divided by the cores it used)."""
        if not self.server_cpu_total:
            return 0.0
        return self.result.sent / self.server_cpu_total


@dataclass
class Context:
    options: Options
    ours: Service
    bare: Service
    pg: ProcessTree
    data_dir: Path
    email: str
    password: str
    tenant_id: str
    client: httpx.Client
    summary: list[tuple[str, str, str]] = field(default_factory=list)
    busiest_other: float = 0.0  # most cores anything else used during a round
    failed_rounds: list[str] = field(default_factory=list)  # rounds that measured errors

    def login(self, fingerprint: str = FINGERPRINT) -> dict[str, Any]:
        return login_as(self.client, self.ours.base_url, self.email, self.password, fingerprint)

    def tenant_headers(self, service: Service | None = None) -> dict[str, str]:
        """A tenant-scoped token of the demo tenant, from `service` (default: ours) with the
        demo admin of that server's data directory."""
        if service is None:
            return tenant_headers(self.client, self.ours.base_url, self.email, self.password)
        assert service.data_dir is not None
        password = (service.data_dir / "demo-admin-password").read_text().strip()
        return tenant_headers(self.client, service.base_url, self.email, password)


def login_as(
    client: httpx.Client, base_url: str, email: str, password: str, fingerprint: str
) -> dict[str, Any]:
    response = client.post(
        f"{base_url}{API}/auth/login",
        json={"email": email, "password": password},
        headers={"X-Device-Fingerprint": fingerprint},
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def tenant_headers(
    client: httpx.Client, base_url: str, email: str, password: str
) -> dict[str, str]:
    signed_in = login_as(client, base_url, email, password, FINGERPRINT)
    tenant_id = next(t["id"] for t in signed_in["tenants"] if t["slug"] == "demo")
    response = client.post(
        f"{base_url}{API}/auth/tenant-token",
        json={"tenant_id": tenant_id},
        headers={"Authorization": f"Bearer {signed_in['access_token']}"},
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}", "X-Tenant-ID": "demo"}


def settle(services: list[Service], timeout: float = 30, idle_cores: float = 0.05) -> None:
    """Wait until every server is idle: requests a load generator abandoned at the end of a run
    (in flight, or queued behind a slow one) would otherwise run into the next round."""
    deadline = time.monotonic() + timeout
    trees = [service.tree for service in services]
    while time.monotonic() < deadline:
        before = sum(tree.cpu_seconds() for tree in trees)
        time.sleep(0.25)
        if sum(tree.cpu_seconds() for tree in trees) - before < idle_cores * 0.25:
            return


def system_busy_seconds() -> float:
    """CPU seconds all processes of the machine used (every core), from /proc/stat."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def measure(ctx: Context, target: Target, duration: float | None = None) -> Measured:
    options = ctx.options.load
    if duration is not None:
        options = LoadOptions(
            threads=options.threads,
            connections=options.connections,
            duration=duration,
            timeout=options.timeout,
            tool=options.tool,
        )
    tokens = target.pool.take() if target.pool else None
    tree, pg = target.service.tree, target.pg or ctx.pg
    settle([ctx.ours, ctx.bare, target.service])
    cpu, pg_cpu, busy = tree.cpu_seconds(), pg.cpu_seconds(), system_busy_seconds()
    split = tree.cpu_by_pid()
    started = time.perf_counter()
    result = run_load(target.service.base_url, target.spec, options, tokens)
    wall = time.perf_counter() - started
    server_cpu, pg_used = tree.cpu_seconds() - cpu, pg.cpu_seconds() - pg_cpu
    other = system_busy_seconds() - busy - server_cpu - pg_used - result.loadgen_cpu
    split = {
        pid: used - split.get(pid, 0.0) for pid, used in tree.cpu_by_pid().items() if pid in split
    }
    # Requests in flight at the end are abandoned by the load generator but still served:
    # their CPU counts, so per-core figures use requests sent and CPU until the server is idle.
    settle([target.service])
    measured = Measured(
        label=target.label,
        result=result,
        server_cpu=server_cpu,
        server_cpu_total=tree.cpu_seconds() - cpu,
        pg_cpu=pg_used,
        other_cpu=max(0.0, other),
        wall=wall,
        split=sorted((used / wall for used in split.values() if used > 0.02 * wall), reverse=True),
    )
    if target.pool:
        target.pool.give(result.tokens)
    if duration is None:
        ctx.busiest_other = max(ctx.busiest_other, measured.other_cpu / wall)
    return measured


HEADER = (
    f"  {'round':<6}{'target':<24}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    f"{'srv cores':>11}{'req/core-s':>12}{'pg cores':>10}{'load cores':>12}{'other':>7}"
)


def print_round(index: int, measured: Measured) -> None:
    r = measured.result
    print(
        f"  {index:<6}{measured.label:<24}{r.rps:>9.0f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}"
        f"{r.errors:>8}{measured.server_cpu / measured.wall:>11.2f}{measured.per_core:>12.0f}"
        f"{measured.pg_cpu / measured.wall:>10.2f}{r.loadgen_cpu / measured.wall:>12.2f}"
        f"{measured.other_cpu / measured.wall:>7.2f}"
        + (
            "   per process: " + " + ".join(f"{x:.2f}" for x in measured.split)
            if len(measured.split) > 1
            else ""
        )
        + (f"   errors: {r.error_detail}" if r.error_detail else ""),
        flush=True,
    )


def rss_line(services: list[Service], before: dict[str, int]) -> str:
    parts = []
    for service in services:
        after = service.tree.rss_bytes()
        parts.append(
            f"{service.name} {before[service.name] / 2**20:.0f} -> {after / 2**20:.0f} MiB"
        )
    return "  RSS (sum over the server's processes): " + "; ".join(parts)


# A round with more failed requests than this measured error answers, not the route.
MAX_ERROR_SHARE = 0.01


def failing(measured: list[Measured]) -> list[str]:
    """The labels of rounds whose errors exceed `MAX_ERROR_SHARE` of their requests."""
    return [
        m.label for m in measured if m.result.errors > MAX_ERROR_SHARE * max(1, m.result.requests)
    ]


def rounds(ctx: Context, targets: list[Target]) -> list[list[Measured]]:
    """Warm each target up, then A B A B ...; returns one list of rounds per target."""
    for target in targets:
        measure(ctx, target, duration=ctx.options.warmup)
    for pgdata in sorted({t.service.data_dir or ctx.data_dir for t in targets}):
        analyze_databases(pgdata / "pgdata")
    results: list[list[Measured]] = [[] for _ in targets]
    print(HEADER)
    for index in range(1, ctx.options.rounds + 1):
        for position, target in enumerate(targets):
            measured = measure(ctx, target)
            results[position].append(measured)
            print_round(index, measured)
    failed = failing([m for target_rounds in results for m in target_rounds])
    if failed:
        names = ", ".join(sorted(set(failed)))
        print(f"  INVALID: more than 1% of requests failed in {names}")
        ctx.failed_rounds.extend(failed)
    return results


def ratio(a: list[Measured], b: list[Measured]) -> float:
    return statistics.median(x.result.rps / y.result.rps for x, y in zip(a, b, strict=True))


def title(text: str, ctx: Context) -> None:
    o = ctx.options.load
    print(
        f"\n== {text}\n   ({o.resolved_tool}, {o.threads} threads, {o.connections} connections, "
        f"{o.duration:g} s per round, {ctx.options.rounds} rounds each, "
        f"warm-up {ctx.options.warmup:g} s)",
        flush=True,
    )


def versus_bare(ctx: Context, name: str, label: str, ours: Target, bare: Target) -> None:
    before = {s.name: s.tree.rss_bytes() for s in (ctx.ours, ctx.bare)}
    title(f"{name}: {label} vs bare {bare.spec.method} {bare.spec.path}", ctx)
    a, b = rounds(ctx, [ours, bare])
    value = ratio(a, b)
    if failing(a + b):  # `rounds` has said which
        ctx.summary.append((name, "invalid", "requests failed, see its rounds"))
        return
    print(f"  ours/bare (median of rounds): {value:.2f}x")
    print(rss_line([ctx.ours, ctx.bare], before))
    ctx.summary.append((name, f"{value:.2f}x ours/bare", ""))


# --- scenarios ------------------------------------------------------------------------------


def tenant_list(ctx: Context) -> None:
    headers = ctx.tenant_headers()
    probe = ctx.client.get(ctx.ours.base_url + TENANT_LIST_PATH, headers=headers)
    if probe.status_code != 200:
        is_json = "json" in probe.headers.get("content-type", "")
        code = probe.json().get("code", "") if is_json else ""
        print(
            f"\n== list: skipped, GET {TENANT_LIST_PATH} answers {probe.status_code} {code} "
            "(the tenant list endpoint is not there yet)"
        )
        ctx.summary.append(("list", "skipped", f"endpoint answers {probe.status_code}"))
        return
    seed_bare_member(ctx, headers)
    versus_bare(
        ctx,
        "list",
        f"GET {TENANT_LIST_PATH}",
        Target("ours GET taxonomies", ctx.ours, RequestSpec("GET", TENANT_LIST_PATH, headers)),
        Target("bare GET /tenant-list", ctx.bare, RequestSpec("GET", BARE_LIST_PATH, headers)),
    )


def seed_bare_member(
    ctx: Context, headers: dict[str, str], baseline: Service | None = None
) -> None:
    """Give the bare server (or `baseline`) what ours caches for this token's member: ours' own
    `/tenant/me` answer (the bare chain then verifies the same token and serves the member from a
    dict)."""
    target = baseline or ctx.bare
    me = ctx.client.get(ctx.ours.base_url + TENANT_ME_PATH, headers=headers)
    me.raise_for_status()
    token = headers["Authorization"].removeprefix("Bearer ")
    seeded = ctx.client.post(
        target.base_url + "/seed-member", json={"token": token, "me": me.json()}
    )
    seeded.raise_for_status()
    bare = ctx.client.get(target.base_url + BARE_ME_PATH, headers=headers)
    bare.raise_for_status()
    if bare.json() != me.json():
        raise RuntimeError("the bare /tenant-me does not answer what ours answers")


def fill_catalogue(ctx: Context, headers: dict[str, str]) -> float:
    """Top the demo tenant up to 20 products, each with its size-by-colour grid (5 x 4), through
    the full chain (POST /tenant/products); returns the mean seconds per creation."""
    listed = ctx.client.get(f"{ctx.ours.base_url}{API}/tenant/products?limit=100", headers=headers)
    listed.raise_for_status()
    missing = LISTED_PRODUCTS - len(listed.json()["data"])
    started = time.perf_counter()
    for index in range(max(0, missing)):
        body = {
            "sku": f"BENCH-{index:03d}",
            "name": f"Kaos Bench {index:03d}",
            "base_price": 50_000 + index * 1_000,
            "status": "active",
            "sizes": [{"code": c} for c in ("S", "M", "L", "XL")]
            + [{"code": "XXL", "surcharge": 10_000}],
            "colors": ["hitam", "putih", "navy", "abu"],
        }
        created = ctx.client.post(
            f"{ctx.ours.base_url}{API}/tenant/products", json=body, headers=headers
        )
        created.raise_for_status()
    return (time.perf_counter() - started) / missing if missing > 0 else 0.0


def tenant_products(ctx: Context) -> None:
    headers = ctx.tenant_headers()
    per_create = fill_catalogue(ctx, headers)
    seed_bare_member(ctx, headers)
    ours = ctx.client.get(ctx.ours.base_url + PRODUCT_LIST_PATH, headers=headers)
    bare = ctx.client.get(ctx.bare.base_url + BARE_PRODUCTS_PATH, headers=headers)
    if ours.json()["data"] != [
        {**row, "created_at": o["created_at"], "updated_at": o["updated_at"]}
        for row, o in zip(bare.json()["data"], ours.json()["data"], strict=True)
    ]:
        raise RuntimeError("the bare product list does not answer what ours answers")
    versus_bare(
        ctx,
        "products",
        f"GET {PRODUCT_LIST_PATH} (20 products with variants)",
        Target("ours GET products", ctx.ours, RequestSpec("GET", PRODUCT_LIST_PATH, headers)),
        Target(
            "bare GET /tenant-products", ctx.bare, RequestSpec("GET", BARE_PRODUCTS_PATH, headers)
        ),
    )
    if per_create:
        print(
            f"  product creation (20 variants each, full chain, sequential): {per_create * 1000:.1f} ms each"
        )
    product_creation(ctx, headers)


CREATIONS_PER_ROUND = 60
CREATION_WORKERS = 4
CREATE_PATH = f"{API}/tenant/products"
BARE_CREATE_PATH = "/tenant-products"


def creation_body(prefix: str, index: int) -> dict[str, Any]:
    return {
        "sku": f"{prefix}-{index:05d}",
        "name": f"Kaos {prefix} {index:05d}",
        "base_price": 50_000,
        "status": "active",
        "sizes": [{"code": c} for c in ("S", "M", "L", "XL")]
        + [{"code": "XXL", "surcharge": 10_000}],
        "colors": ["hitam", "putih", "navy", "abu"],
    }


def create_round(
    ctx: Context, service: Service, path: str, headers: dict[str, str], prefix: str, count: int
) -> tuple[float, float, float]:
    """`count` creations from CREATION_WORKERS threads; creations/s, per server core-second,
    and the median latency in ms."""
    url = service.base_url + path
    latencies: list[float] = []

    def create(index: int) -> None:
        started = time.perf_counter()
        answer = ctx.client.post(url, json=creation_body(prefix, index), headers=headers)
        if answer.status_code != 201:
            raise RuntimeError(f"{service.name} creation answered {answer.status_code}")
        latencies.append(time.perf_counter() - started)

    cpu = service.tree.cpu_seconds()
    started = time.perf_counter()
    with ThreadPoolExecutor(CREATION_WORKERS) as pool:
        list(pool.map(create, range(count)))
    wall = time.perf_counter() - started
    used = service.tree.cpu_seconds() - cpu
    return count / wall, count / used if used else 0.0, statistics.median(latencies) * 1000


def product_creation(ctx: Context, headers: dict[str, str]) -> None:
    """`POST /tenant/products` (a 5 x 4 grid) against the bare endpoint running ours' six
    statements in one transaction: rounds of CREATIONS_PER_ROUND creations from
    CREATION_WORKERS client threads, alternating A B A B; the ratio of creations per server
    core-second (both write to the same tenant, so each round sees the same table)."""
    title(f"product-create: POST {CREATE_PATH} (20 variants) vs bare POST {BARE_CREATE_PATH}", ctx)
    targets = [("ours", ctx.ours, CREATE_PATH), ("bare", ctx.bare, BARE_CREATE_PATH)]
    for name, service, path in targets:  # warm-up
        create_round(ctx, service, path, headers, f"W{name.upper()}", CREATION_WORKERS * 2)
    per_core: dict[str, list[float]] = {"ours": [], "bare": []}
    print("  round target        creations/s  per core-s  p50 ms")
    for round_index in range(1, ctx.options.rounds + 1):
        for name, service, path in targets:
            prefix = f"R{round_index}{name.upper()}"
            rate, core, p50 = create_round(ctx, service, path, headers, prefix, CREATIONS_PER_ROUND)
            per_core[name].append(core)
            print(f"  {round_index:<6}{name:<14}{rate:>11.1f}{core:>12.1f}{p50:>8.1f}")
    value = statistics.median(
        a / b for a, b in zip(per_core["ours"], per_core["bare"], strict=True) if b
    )
    print(f"  ours/bare (creations per server core-second, median of rounds): {value:.2f}x")
    ctx.summary.append(("product-create", f"{value:.2f}x ours/bare", "per core-second"))


def production_job(ctx: Context, headers: dict[str, str]) -> dict[str, Any]:
    """An order of BENCH_PIECES kaos in size S, put in production through the full chain (the
    demo's reseller customer and design; no down payment asked)."""
    base = ctx.ours.base_url + API + "/tenant"
    # Searched by SKU: the products scenario may have created hundreds of newer designs.
    found = ctx.client.get(f"{base}/products?q=KAOS-CC30S&limit=100", headers=headers)
    kaos = next(p for p in found.json()["data"] if p["sku"] == "KAOS-CC30S")
    customers = ctx.client.get(f"{base}/customers?limit=1", headers=headers).json()["data"]
    policy = {"down_payment_kind": "fixed", "down_payment_value": 0}
    ctx.client.put(f"{base}/sales-settings", json=policy, headers=headers).raise_for_status()
    body = {
        "customer_id": customers[0]["id"],
        "lines": [{"product_id": kaos["id"], "color": "hitam", "sizes": {"S": BENCH_PIECES}}],
    }
    order = ctx.client.post(f"{base}/orders", json=body, headers=headers)
    order.raise_for_status()
    created = order.json()
    for line in created["lines"]:
        ctx.client.put(
            f"{base}/orders/{created['id']}/lines/{line['id']}/artwork",
            json={"status": "approved"},
            headers=headers,
        ).raise_for_status()
    ctx.client.post(
        f"{base}/orders/{created['id']}/transitions", json={"to": "confirmed"}, headers=headers
    ).raise_for_status()
    started = ctx.client.post(
        f"{base}/production/jobs", json={"order_id": created["id"]}, headers=headers
    )
    started.raise_for_status()
    job: dict[str, Any] = started.json()["jobs"][0]
    return job


def production(ctx: Context) -> None:
    """Recording a piece event (POST with a fresh Idempotency-Key per request) and the board
    read, each through the full chain against the bare server sending the same SQL."""
    headers = ctx.tenant_headers()
    seed_bare_member(ctx, headers)
    job = production_job(ctx, headers)
    event = json.dumps(
        {"job_id": job["id"], "size": "S", "stage": "potong", "kind": "in", "quantity": 1}
    )
    posting = {**headers, **JSON}
    ours = ctx.client.post(
        ctx.ours.base_url + EVENTS_PATH,
        content=event,
        headers={**posting, "Idempotency-Key": str(uuid.uuid4())},
    )
    bare = ctx.client.post(
        ctx.bare.base_url + BARE_EVENT_PATH,
        content=event,
        headers={**posting, "Idempotency-Key": str(uuid.uuid4())},
    )
    if ours.status_code != 201 or bare.status_code != 201:
        raise RuntimeError(f"piece event: ours {ours.status_code}, bare {bare.status_code}")
    versus_bare(
        ctx,
        "piece-event",
        f"POST {EVENTS_PATH} (one piece in, fresh Idempotency-Key)",
        Target(
            "ours POST events",
            ctx.ours,
            RequestSpec("POST", EVENTS_PATH, posting, event, unique_header="Idempotency-Key"),
        ),
        Target(
            "bare POST piece-event",
            ctx.bare,
            RequestSpec("POST", BARE_EVENT_PATH, posting, event, unique_header="Idempotency-Key"),
        ),
    )
    ours_board = ctx.client.get(ctx.ours.base_url + BOARD_PATH, headers=headers)
    bare_board = ctx.client.get(ctx.bare.base_url + BARE_BOARD_PATH, headers=headers)
    if ours_board.json()["stages"] != bare_board.json()["stages"]:
        raise RuntimeError("the bare board does not answer what ours answers")
    versus_bare(
        ctx,
        "board",
        f"GET {BOARD_PATH}",
        Target("ours GET board", ctx.ours, RequestSpec("GET", BOARD_PATH, headers)),
        Target("bare GET /tenant-board", ctx.bare, RequestSpec("GET", BARE_BOARD_PATH, headers)),
    )


def tenant_me(ctx: Context) -> None:
    headers = ctx.tenant_headers()
    seed_bare_member(ctx, headers)
    versus_bare(
        ctx,
        "me",
        f"GET {TENANT_ME_PATH}",
        Target("ours GET /tenant/me", ctx.ours, RequestSpec("GET", TENANT_ME_PATH, headers)),
        Target("bare GET /tenant-me", ctx.bare, RequestSpec("GET", BARE_ME_PATH, headers)),
    )


def fastapi_floor(ctx: Context) -> None:
    """The bare endpoints' own work routed through FastAPI (`http/floor.py`): what FastAPI alone
    costs against plain Starlette, the ceiling of any request path built on FastAPI routes. For
    the tenant reads, the token refresh and the login."""
    assert ctx.bare.data_dir is None
    floor = start_bare(
        embedded_targets(ctx.data_dir / "pgdata"),
        ctx.data_dir.parent,
        ctx.data_dir,
        "floor",
        "floor",
    )
    try:
        headers = ctx.tenant_headers()
        seed_bare_member(ctx, headers)
        seed_bare_member(ctx, headers, floor)
        for name, path in (("me", BARE_ME_PATH), ("list", BARE_LIST_PATH)):
            label = path.split("?")[0]
            floor_versus_bare(
                ctx,
                floor,
                name,
                f"GET {path}",
                RequestSpec("GET", path, headers),
                (f"floor GET {label}", f"bare GET {label}"),
            )
        pools = [
            TokenPool(refresh_pool_minimum(ctx), bare_chain_maker(ctx, s))
            for s in (floor, ctx.bare)
        ]
        floor_versus_bare(
            ctx,
            floor,
            "refresh",
            "POST /refresh",
            RequestSpec("POST", "/refresh", REFRESH_HEADERS, chain_field="refresh_token"),
            ("floor POST /refresh", "bare POST /refresh"),
            pools,
        )
        floor_versus_bare(
            ctx,
            floor,
            "login",
            "POST /login",
            RequestSpec("POST", "/login", REFRESH_HEADERS, login_body(ctx)),
            ("floor POST /login", "bare POST /login"),
        )
    finally:
        floor.stop()


def floor_versus_bare(
    ctx: Context,
    floor: Service,
    name: str,
    what: str,
    spec: RequestSpec,
    labels: tuple[str, str],
    pools: list[TokenPool] | None = None,
) -> None:
    floor_pool, bare_pool = pools or (None, None)
    before = {s.name: s.tree.rss_bytes() for s in (floor, ctx.bare)}
    title(f"floor-{name}: FastAPI route {what} vs bare Starlette route", ctx)
    a, b = rounds(
        ctx,
        [Target(labels[0], floor, spec, floor_pool), Target(labels[1], ctx.bare, spec, bare_pool)],
    )
    value = ratio(a, b)
    per_core = statistics.median(m.per_core for m in a) / statistics.median(m.per_core for m in b)
    print(f"  floor/bare (median of rounds): {value:.2f}x; per server core-second {per_core:.2f}x")
    print(rss_line([floor, ctx.bare], before))
    ctx.summary.append(
        (
            f"floor-{name}",
            f"{value:.2f}x FastAPI/bare",
            f"same work, FastAPI routing; {per_core:.2f}x per core",
        )
    )


def refresh_pool_minimum(ctx: Context) -> int:
    """Each load thread's tokens must outnumber its connections (one token in flight each)."""
    options = ctx.options.load
    return max(2 * options.connections, options.connections + 8 * options.threads)


def bare_chain_maker(ctx: Context, service: Service) -> Callable[[int], list[str]]:
    """New refresh-token chains, made by the bare app's `/seed-chains` on `service`."""

    def make(count: int) -> list[str]:
        response = ctx.client.post(
            service.base_url + "/seed-chains",
            json={"count": count, "fingerprint": FINGERPRINT, "email": ctx.email},
        )
        response.raise_for_status()
        tokens: list[str] = response.json()["tokens"]
        return tokens

    return make


def login_body(ctx: Context) -> str:
    return json.dumps({"email": ctx.email, "password": ctx.password})


REFRESH_HEADERS = {**JSON, "X-Device-Fingerprint": FINGERPRINT}


def refresh(ctx: Context) -> None:
    minimum = refresh_pool_minimum(ctx)

    def our_chains(count: int) -> list[str]:
        with ThreadPoolExecutor(8) as pool:
            return [r["refresh_token"] for r in pool.map(lambda _: ctx.login(), range(count))]

    headers = REFRESH_HEADERS
    ours = Target(
        "ours POST /auth/refresh",
        ctx.ours,
        RequestSpec("POST", f"{API}/auth/refresh", headers, chain_field="refresh_token"),
        TokenPool(minimum, our_chains),
    )
    bare = Target(
        "bare POST /refresh",
        ctx.bare,
        RequestSpec("POST", "/refresh", headers, chain_field="refresh_token"),
        TokenPool(minimum, bare_chain_maker(ctx, ctx.bare)),
    )
    before = {s.name: s.tree.rss_bytes() for s in (ctx.ours, ctx.bare)}
    title(f"refresh: POST {API}/auth/refresh vs bare POST /refresh (rotating chains)", ctx)
    a, b = rounds(ctx, [ours, bare])
    value = ratio(a, b)
    per_core = statistics.median(m.per_core for m in a)
    bare_per_core = statistics.median(m.per_core for m in b)
    print(f"  ours/bare (median of rounds): {value:.2f}x   (target >= 0.5x)")
    print(
        f"  rotations per server core-second: ours {per_core:.0f} (target >= 240), "
        f"bare {bare_per_core:.0f}"
    )
    print(rss_line([ctx.ours, ctx.bare], before))
    ctx.summary.append(
        ("refresh", f"{value:.2f}x ours/bare", f"{per_core:.0f} rotations/s per core")
    )


@dataclass(frozen=True, slots=True)
class Argon2Cost:
    one_thread: float  # CPU seconds per verify, one at a time on this thread
    off_loop: float  # CPU seconds per verify the way the servers run them
    off_loop_rate: float  # verifies per wall second that way


def argon2_verify_cost(samples: int = 24) -> Argon2Cost:
    """CPU time of one argon2id verify with the server's parameters (auth settings): alone on
    this thread, and as ours and the bare login run it (`PasswordHashing.verify_off_loop`: anyio
    worker threads, a CapacityLimiter of cpu_count, so cpu_count verifies at once), measured as
    the process's CPU time over that many verifies (cores busy at once share caches and memory
    bandwidth, and the thread hand-off costs too)."""
    hashing = PasswordHashing(AuthSettings())
    password = "bench-password-kain-2026"
    stored = hashing.hash(password)
    times = []
    for _ in range(samples):
        started = time.thread_time()
        assert hashing.verify(stored, password)
        times.append(time.thread_time() - started)

    async def off_loop() -> None:
        results = await asyncio.gather(
            *(hashing.verify_off_loop(stored, password) for _ in range(samples))
        )
        assert all(results)

    asyncio.run(off_loop())  # warm the worker threads
    cpu, wall = time.process_time(), time.perf_counter()
    asyncio.run(off_loop())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Argon2Cost(statistics.median(times), cpu / samples, samples / wall)


def login(ctx: Context) -> None:
    cost = argon2_verify_cost()
    ceiling = 1 / cost.off_loop
    body = login_body(ctx)
    headers = REFRESH_HEADERS
    ours = Target(
        "ours POST /auth/login", ctx.ours, RequestSpec("POST", f"{API}/auth/login", headers, body)
    )
    bare = Target("bare POST /login", ctx.bare, RequestSpec("POST", "/login", headers, body))
    before = {s.name: s.tree.rss_bytes() for s in (ctx.ours, ctx.bare)}
    title(f"login: POST {API}/auth/login vs bare POST /login (argon2id off the loop in both)", ctx)
    settings = AuthSettings()
    print(
        f"  argon2id verify ({settings.argon2_memory_kib} KiB, t={settings.argon2_time_cost}, "
        f"p={settings.argon2_parallelism}): {cost.one_thread * 1000:.1f} ms CPU alone; "
        f"{cost.off_loop * 1000:.1f} ms CPU each off the loop, {os.cpu_count()} at once "
        f"({cost.off_loop_rate:.1f}/s) -> ceiling {ceiling:.1f} logins/s per core"
    )
    a, b = rounds(ctx, [ours, bare])
    value = ratio(a, b)
    per_core = statistics.median(m.per_core for m in a)
    bare_per_core = statistics.median(m.per_core for m in b)
    print(f"  ours/bare (median of rounds): {value:.2f}x")
    print(
        f"  logins per server core-second: ours {per_core:.1f}, bare {bare_per_core:.1f} "
        f"(ours/bare {per_core / bare_per_core:.2f}x); ours/ceiling {per_core / ceiling:.2f}x "
        "(target >= 0.8x)"
    )
    print(rss_line([ctx.ours, ctx.bare], before))
    ctx.summary.append(
        (
            "login",
            f"{value:.2f}x ours/bare",
            f"{per_core:.1f}/s per core, {per_core / ceiling:.2f}x of argon2 ceiling",
        )
    )


def workers(ctx: Context) -> None:
    """Two fresh servers, each on its own data directory (so its own embedded PostgreSQL: two
    server processes with their pools would not fit next to the others in one server's 100
    connections), measured alternately."""
    one = start_garment("ours-1w", ctx.data_dir.parent / "data-1w", workers=1)
    two: Service | None = None
    try:
        two = start_garment("ours-2w", ctx.data_dir.parent / "data-2w", workers=2)
        path = TENANT_LIST_PATH
        if ctx.client.get(one.base_url + path, headers=ctx.tenant_headers(one)).status_code != 200:
            path = TENANT_ME_PATH  # the tenant list is not there yet
        before = {s.name: s.tree.rss_bytes() for s in (one, two)}
        title(f"workers: garment serve --workers 2 vs --workers 1, GET {path}", ctx)
        one_rounds, two_rounds = rounds(
            ctx,
            [
                Target(
                    "--workers 1",
                    one,
                    RequestSpec("GET", path, ctx.tenant_headers(one)),
                    pg=postgres_tree(ctx.data_dir.parent / "data-1w" / "pgdata"),
                ),
                Target(
                    "--workers 2",
                    two,
                    RequestSpec("GET", path, ctx.tenant_headers(two)),
                    pg=postgres_tree(ctx.data_dir.parent / "data-2w" / "pgdata"),
                ),
            ],
        )
        value = ratio(two_rounds, one_rounds)
        print(f"  2 workers / 1 worker (median of rounds): {value:.2f}x   (target >= 1.6x)")
        print(rss_line([one, two], before))
        ctx.summary.append(("workers", f"{value:.2f}x 2w/1w", f"GET {path}"))
    finally:
        if two is not None:
            two.stop()
        one.stop()


RUNNERS: dict[str, Callable[[Context], None]] = {
    "list": tenant_list,
    "products": tenant_products,
    "production": production,
    "me": tenant_me,
    "floor": fastapi_floor,
    "refresh": refresh,
    "login": login,
    "workers": workers,
}


# --- main -----------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http",
        description="Benchmarks over real HTTP: garment serve vs a bare Starlette baseline.",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s rounds, 1 round")
    parser.add_argument("--duration", type=float, help="seconds per round (default 6)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per target (default 2)")
    parser.add_argument("--rounds", type=int, help="rounds per target (default 2: A B A B)")
    parser.add_argument("--threads", type=int, default=2, help="load threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="connections (default 32)")
    parser.add_argument("--timeout", type=float, default=10.0, help="request timeout seconds")
    parser.add_argument(
        "--load", choices=("auto", "wrk", "python"), default="auto", help="load generator"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (server logs, data)"
    )
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma-separated: {','.join(SCENARIOS)}"
    )
    args = parser.parse_args(argv)
    only = tuple(x.strip() for x in args.only.split(",") if x.strip())
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    duration = args.duration or (2.0 if args.quick else 6.0)
    return Options(
        load=LoadOptions(
            threads=args.threads,
            connections=args.connections,
            duration=duration,
            timeout=args.timeout,
            tool=args.load,
        ),
        rounds=args.rounds or (1 if args.quick else 2),
        warmup=args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0),
        only=only,
        keep=args.keep,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    print(
        f"bench.http {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {options.load.resolved_tool} "
        f"load generator, scenarios: {', '.join(options.only)}",
        flush=True,
    )
    root = Path(tempfile.mkdtemp(prefix="gbh-"))
    if options.keep:
        print(f"  keeping {root} (server logs *.log, data)")
    try:
        run_all(options, root)
    finally:
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


def run_all(options: Options, root: Path) -> None:
    data_dir = root / "data"
    started = time.perf_counter()
    ours = start_garment("ours", data_dir)
    bare: Service | None = None
    try:
        print(f"  garment serve ready in {time.perf_counter() - started:.1f} s", flush=True)
        pgdata = data_dir / "pgdata"
        bare = start_bare(embedded_targets(pgdata), root, data_dir)
        with httpx.Client(timeout=60, trust_env=False) as client:
            email = AuthSettings().demo_admin_email
            ctx = Context(
                options=options,
                ours=ours,
                bare=bare,
                pg=postgres_tree(pgdata),
                data_dir=data_dir,
                email=email,
                password=(data_dir / "demo-admin-password").read_text().strip(),
                tenant_id="",
                client=client,
            )
            tenants = ctx.login()["tenants"]
            ctx.tenant_id = next(t["id"] for t in tenants if t["slug"] == "demo")
            for name in options.only:
                RUNNERS[name](ctx)
            print("\n== summary (ratios from this run)")
            for name, headline, note in ctx.summary:
                print(f"  {name:<15}{headline:<28}{note}")
            if ctx.failed_rounds:
                print(
                    "  warning: rounds with failed requests measured errors, not routes: "
                    + ", ".join(sorted(set(ctx.failed_rounds)))
                )
            if ctx.busiest_other > 0.2:
                print(
                    f"  warning: other processes used up to {ctx.busiest_other:.2f} cores during "
                    "a round (column `other`); rerun on a quiet machine for stable ratios"
                )
    finally:
        if bare is not None:
            bare.stop()
        ours.stop()


if __name__ == "__main__":
    sys.exit(main())
