"""CPU per request in process: ours' ASGI app and the bare one, same database, no HTTP.

`python -m bench.http.inprocess [--path P] [--bare-path B] [--requests N] [--profile]` starts
the real server once (`garment serve`, embedded default: it migrates and seeds the demo tenant),
tops the catalogue up to 20 products through it, then builds ours' application and the bare one
inside this process on that server's databases and calls both straight through ASGI, in
alternating batches, reading `time.process_time()` around each. Without sockets, a load
generator or other processes in the numbers, the CPU a request costs each app is steady to a few
per cent even on a busy machine, which is what comparing two versions of the request path needs.
Over HTTP (`python -m bench.http`) both sides also pay the server's HTTP parsing and socket
writes, so the HTTP ratio is closer to 1 than the in-process one.

`--profile` adds a cProfile of ours' requests (the profiler inflates call-heavy code: read the
shares, not the times).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.http import bare
from bench.http.scenarios import (
    BARE_ME_PATH,
    BARE_PRODUCTS_PATH,
    PRODUCT_LIST_PATH,
    TENANT_LIST_PATH,
    TENANT_ME_PATH,
    creation_body,
    tenant_headers,
)
from bench.http.servers import RATE_LIMITS, embedded_targets, start_garment
from garment.app import create_app
from garment.config import AuthSettings, Settings
from garment.platform.db import plain_url
from garment.platform.http import routing
from garment.platform.secretbox import SECRET_FILE
from garment.runtime import Runtime

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
PAIRS = {
    "list": (TENANT_LIST_PATH, "/tenant-list?limit=20"),
    "me": (TENANT_ME_PATH, BARE_ME_PATH),
    "products": (PRODUCT_LIST_PATH, BARE_PRODUCTS_PATH),
}


async def call(app: ASGIApp, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One GET straight through the ASGI interface."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


async def batch(app: ASGIApp, path: str, headers: dict[str, str], count: int) -> float:
    """CPU microseconds per request over `count` requests."""
    started = time.process_time()
    for _ in range(count):
        status, body = await call(app, path, headers)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    return (time.process_time() - started) / count * 1e6


def ours_settings(data_dir: Path) -> Settings:
    targets = embedded_targets(data_dir / "pgdata")
    return Settings(
        data_dir=data_dir,
        database_url=targets.central.app_url,
        database_migration_url=targets.central.owner_url,
        clusters={key: target.app_url for key, target in targets.clusters.items()},
        cluster_migration_urls={key: t.owner_url for key, t in targets.clusters.items()},
        auto_migrate=False,
        demo_data=False,
        jobs={"in_process_worker": False},
        log={"level": "WARNING"},
        auth={
            "ip_rate_limit": RATE_LIMITS["GARMENT_AUTH__IP_RATE_LIMIT"],
            "email_rate_limit": RATE_LIMITS["GARMENT_AUTH__EMAIL_RATE_LIMIT"],
        },
    )


def fill(base_url: str, headers: dict[str, str]) -> None:
    with httpx.Client(timeout=60, trust_env=False) as client:
        for index in range(20):
            created = client.post(
                f"{base_url}/api/v1/tenant/products",
                json=creation_body("INPROC", index),
                headers=headers,
            )
            created.raise_for_status()


async def measure(data_dir: Path, headers: dict[str, str], options: argparse.Namespace) -> None:
    targets = embedded_targets(data_dir / "pgdata")
    os.environ |= {
        "BENCH_CENTRAL_URL": plain_url(targets.central.app_url),
        "BENCH_CLUSTER_URL": plain_url(targets.clusters["default"].app_url),
        "BENCH_SECRET_KEY_FILE": str(data_dir / SECRET_FILE),
    }
    runtime = await Runtime.create(ours_settings(data_dir), migrate=False)
    ours = create_app(runtime=runtime, background=False)
    fastapi_solving = options.fastapi_solving
    baseline = (
        create_app(runtime=runtime, background=False) if fastapi_solving else bare.create_app()
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(ours.router.lifespan_context(ours))
        await stack.enter_async_context(baseline.router.lifespan_context(baseline))
        status, me = await call(ours, TENANT_ME_PATH, headers)
        assert status == 200, me
        if fastapi_solving:
            # The same app with no route compiled; routes build their handlers on their first
            # request, so this app's are built now, with compiling off.
            routing.COMPILE = False
            for path, _ in PAIRS.values():
                await call(baseline, path, headers)
            routing.COMPILE = True
        else:
            await seed(baseline, headers, me)
        gc.collect()
        gc.freeze()
        for name in options.only:
            path, bare_path = PAIRS[name]
            bare_path = path if fastapi_solving else bare_path
            await report(name, ours, path, baseline, bare_path, headers, options)
    await runtime.close()


async def seed(baseline: ASGIApp, headers: dict[str, str], me: bytes) -> None:
    token = headers["Authorization"].removeprefix("Bearer ")
    transport = httpx.ASGITransport(app=baseline)
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        seeded = await client.post("/seed-member", json={"token": token, "me": json.loads(me)})
        seeded.raise_for_status()


async def report(
    name: str,
    ours: ASGIApp,
    path: str,
    baseline: ASGIApp,
    bare_path: str,
    headers: dict[str, str],
    options: argparse.Namespace,
) -> None:
    count = options.requests
    await batch(ours, path, headers, count // 4)
    await batch(baseline, bare_path, headers, count // 4)
    ours_us: list[float] = []
    bare_us: list[float] = []
    for _ in range(options.rounds):
        ours_us.append(await batch(ours, path, headers, count))
        bare_us.append(await batch(baseline, bare_path, headers, count))
    # Each round's ratio is of two batches run back to back, so a change of the machine's speed
    # between rounds (this VM's varies by tens of per cent) cancels out of the median.
    ratios = [b / o for o, b in zip(ours_us, bare_us, strict=True)]
    o, b = statistics.median(ours_us), statistics.median(bare_us)
    spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
    print(
        f"{name:<9} ours {o:7.0f} µs  baseline {b:7.0f} µs  ratio {statistics.median(ratios):.2f}x"
        f"  (per round {spread}, {options.rounds} rounds of {count})",
        flush=True,
    )
    if options.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await batch(ours, path, headers, count)
        profiler.disable()
        if options.dump:
            profiler.dump_stats(f"{options.dump}.{name}")
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(45)
        print(out.getvalue())


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http.inprocess", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=sorted(PAIRS), default=list(PAIRS))
    parser.add_argument("--requests", type=int, default=300, help="requests per batch")
    parser.add_argument("--rounds", type=int, default=9, help="batches of each app")
    parser.add_argument(
        "--fastapi-solving",
        action="store_true",
        help="compare with ours solving dependencies FastAPI's way instead of the bare app",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile ours' requests")
    parser.add_argument(
        "--dump", help="with --profile: also write each profile to DUMP.<scenario> (pstats)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    root = Path(tempfile.mkdtemp(prefix="gbi-"))
    data_dir = root / "data"
    server = start_garment("ours", data_dir)
    try:
        email = AuthSettings().demo_admin_email
        password = (data_dir / "demo-admin-password").read_text().strip()
        with httpx.Client(timeout=60, trust_env=False) as client:
            headers = tenant_headers(client, server.base_url, email, password)
        fill(server.base_url, headers)
        asyncio.run(measure(data_dir, headers, options))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
