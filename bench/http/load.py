"""Driving load from a separate process: `wrk` when it is on PATH, else `bench.http.pyload`.

Both run T threads (wrk threads, or T Python processes) with C connections in all for a fixed
duration, keep-alive, and report requests, p50 and p99. For token chains (refresh rotation)
both take each request's token from a pool and put the successor from the answer back.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LUA_SCRIPT = Path(__file__).with_name("load.lua")


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One kind of request. With `chain_field`, the body is `{"<field>": token}` built from the
    token pool handed to `run_load`, and the answer's `<field>` goes back into the pool."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    chain_field: str | None = None
    unique_header: str | None = None  # a header sent with a fresh random value per request


@dataclass(frozen=True, slots=True)
class LoadOptions:
    threads: int = 2
    connections: int = 32
    duration: float = 6.0
    timeout: float = 10.0
    tool: str = "auto"  # auto | wrk | python

    @property
    def resolved_tool(self) -> str:
        if self.tool == "auto":
            return "wrk" if shutil.which("wrk") else "python"
        return self.tool


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int  # answered within the duration
    sent: int  # written, answered or not (in flight at the end: the server still works on it)
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # status >= 400, socket errors, timeouts
    error_detail: str  # the errors by kind, e.g. "status 3, timeout 1"
    tokens: list[str]  # chain heads left at the end (chains only)
    loadgen_cpu: float  # CPU seconds the load generator used

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_load(
    base_url: str, spec: RequestSpec, options: LoadOptions, tokens: list[str] | None = None
) -> LoadResult:
    if spec.chain_field is not None and not tokens:
        raise ValueError("a chain request needs tokens")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if options.resolved_tool == "wrk":
        result = _run_wrk(base_url, spec, options, tokens)
    else:
        result = _run_python(base_url, spec, options, tokens)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return replace(result, loadgen_cpu=cpu)


def _run_wrk(
    base_url: str, spec: RequestSpec, options: LoadOptions, tokens: list[str] | None
) -> LoadResult:
    threads = max(1, min(options.threads, options.connections))
    with tempfile.TemporaryDirectory(prefix="gbh-wrk") as directory:
        env = {
            **os.environ,
            "BENCH_METHOD": spec.method,
            "BENCH_BODY": spec.body or "",
            "BENCH_THREADS": str(threads),
            "BENCH_UNIQUE_HEADER": spec.unique_header or "",
        }
        tokens_out = Path(directory) / "tokens-out"
        if spec.chain_field is not None and tokens:
            tokens_in = Path(directory) / "tokens-in"
            tokens_in.write_text("\n".join(tokens) + "\n")
            env |= {
                "BENCH_TOKENS_IN": str(tokens_in),
                "BENCH_TOKENS_OUT": str(tokens_out),
                "BENCH_TOKEN_FIELD": spec.chain_field,
            }
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{options.connections}",
            f"-d{max(1, round(options.duration))}s",
            f"--timeout={max(1, round(options.timeout))}s",
            "-s",
            str(LUA_SCRIPT),
        ]
        for name, value in spec.headers.items():
            command += ["-H", f"{name}: {value}"]
        command.append(base_url + spec.path)
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        line = next(
            (x for x in completed.stdout.splitlines() if x.startswith("BENCH-RESULT ")), None
        )
        if completed.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
        data = json.loads(line.removeprefix("BENCH-RESULT "))
        left = tokens_out.read_text().split() if tokens_out.exists() else []
    kinds = {k: int(data[k]) for k in ("status", "connect", "read", "write", "timeout")}
    return LoadResult(
        requests=int(data["requests"]),
        sent=int(data["sent"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=sum(kinds.values()),
        error_detail=describe(kinds, data.get("codes", {})),
        tokens=left,
        loadgen_cpu=0.0,
    )


def python_job(
    base_url: str, spec: RequestSpec, options: LoadOptions, connections: int, tokens: list[str]
) -> dict[str, object]:
    parts = urlsplit(base_url)
    headers = {"Connection": "keep-alive", **spec.headers}
    return {
        "host": parts.hostname,
        "port": parts.port or 80,
        "method": spec.method,
        "path": spec.path,
        "headers": headers,
        "body": spec.body,
        "duration": options.duration,
        "connections": connections,
        "timeout": options.timeout,
        "token_field": spec.chain_field,
        "tokens": tokens,
        "unique_header": spec.unique_header,
    }


def _run_python(
    base_url: str, spec: RequestSpec, options: LoadOptions, tokens: list[str] | None
) -> LoadResult:
    processes = max(1, min(options.threads, options.connections))
    share = [options.connections // processes] * processes
    for index in range(options.connections % processes):
        share[index] += 1
    pools: list[list[str]] = [list((tokens or [])[index::processes]) for index in range(processes)]
    children = []
    for connections, pool in zip(share, pools, strict=True):
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.http.pyload"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[2],
        )
        assert child.stdin is not None
        child.stdin.write(json.dumps(python_job(base_url, spec, options, connections, pool)))
        child.stdin.close()
        children.append(child)
    results = []
    for child in children:
        assert child.stdout is not None
        output = child.stdout.read()
        if child.wait() != 0:
            raise RuntimeError(f"python load generator failed ({child.returncode})")
        results.append(json.loads(output))
    keys = {
        "status": "status_errors",
        "socket": "socket_errors",
        "timeout": "timeouts",
        "pool empty": "exhausted",
    }
    kinds = {kind: sum(r[key] for r in results) for kind, key in keys.items()}
    latencies = sorted(x for r in results for x in r["latencies"])
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return LoadResult(
        requests=sum(r["requests"] for r in results),
        sent=sum(r["sent"] for r in results),
        seconds=max(r["seconds"] for r in results),
        p50_ms=cuts[49] * 1000 if cuts else 0.0,
        p99_ms=cuts[98] * 1000 if cuts else 0.0,
        errors=kinds["status"] + kinds["socket"] + kinds["timeout"],
        error_detail=describe(kinds, merged_codes(results)),
        tokens=[t for r in results for t in r["tokens"]],
        loadgen_cpu=0.0,
    )


def merged_codes(results: list[dict[str, Any]]) -> dict[str, int]:
    codes: dict[str, int] = {}
    for result in results:
        for status, count in result["codes"].items():
            codes[status] = codes.get(status, 0) + count
    return codes


def describe(kinds: dict[str, int], codes: dict[str, int]) -> str:
    """E.g. "status 3 (401: 2, 503: 1), timeout 1"."""
    parts = []
    for kind, count in kinds.items():
        if not count:
            continue
        if kind == "status" and codes:
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items()))
            parts.append(f"status {count} ({statuses})")
        else:
            parts.append(f"{kind} {count}")
    return ", ".join(parts)
