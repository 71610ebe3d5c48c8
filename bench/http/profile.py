"""`python -m bench.http.profile [--path P | --refresh] [--seconds S]`: where the server's time
goes.

Starts the real server (`garment serve`, embedded default, 1 worker), drives one tenant GET
route, or with `--refresh` the token refresh on rotating chains, with wrk (or the Python load
process) from another process, and samples the server with py-spy meanwhile. Prints the functions with the most samples, by own time and by time including
callees, restricted to the server process. This is the profile the issue notes quote; run it on
a quiet machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.http.load import LoadOptions, RequestSpec, run_load
from bench.http.scenarios import (
    API,
    FINGERPRINT,
    REFRESH_HEADERS,
    TENANT_LIST_PATH,
    login_as,
    tenant_headers,
)
from bench.http.servers import start_garment
from garment.config import AuthSettings


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http.profile", description=__doc__)
    parser.add_argument("--path", default=TENANT_LIST_PATH, help="the GET path to drive")
    parser.add_argument(
        "--refresh", action="store_true", help="drive POST /auth/refresh instead of a GET"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load sampled")
    parser.add_argument("--top", type=int, default=30, help="rows per table")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks here")
    return parser.parse_args(argv)


def summarize(collapsed: Path, top: int) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if frame]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples"]
    for title, counter in (("own time", own), ("including callees", inclusive)):
        lines.append(f"\n-- by {title}")
        for frame, count in counter.most_common(top):
            lines.append(f"{100 * count / max(total, 1):5.1f}%  {frame[:150]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    root = Path(tempfile.mkdtemp(prefix="gbp-"))
    data_dir = root / "data"
    server = start_garment("ours", data_dir)
    try:
        password = (data_dir / "demo-admin-password").read_text().strip()
        with httpx.Client(timeout=60, trust_env=False) as client:
            headers = tenant_headers(
                client, server.base_url, AuthSettings().demo_admin_email, password
            )
            check = client.get(f"{server.base_url}{args.path}", headers=headers)
            print(f"GET {args.path} -> {check.status_code}", flush=True)
            email = AuthSettings().demo_admin_email
            tokens = (
                [
                    login_as(client, server.base_url, email, password, FINGERPRINT)["refresh_token"]
                    for _ in range(64)
                ]
                if args.refresh
                else None
            )
        spec = (
            RequestSpec("POST", f"{API}/auth/refresh", REFRESH_HEADERS, chain_field="refresh_token")
            if args.refresh
            else RequestSpec(method="GET", path=args.path, headers=headers)
        )
        options = LoadOptions(threads=2, connections=32, duration=args.seconds + 3, timeout=10)
        load = threading.Thread(target=run_load, args=(server.base_url, spec, options, tokens))
        load.start()
        time.sleep(2)  # past the warm-up: caches filled, pools open
        collapsed = root / "profile.txt"
        subprocess.run(
            [
                py_spy,
                "record",
                "--pid",
                str(server.popen.pid),
                "--duration",
                str(int(args.seconds)),
                "--rate",
                str(args.rate),
                "--format",
                "raw",
                "--output",
                str(collapsed),
                "--nonblocking",
            ],
            check=True,
            capture_output=True,
        )
        load.join()
        if args.raw is not None:
            shutil.copy(collapsed, args.raw)
        print(summarize(collapsed, args.top))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
