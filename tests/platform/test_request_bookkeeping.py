"""What the request-context middleware adds to every answer and records of every request: the
request id, `Vary`, the security headers, the request metrics, and the cache lookup counts
(read in one pass, kept as children, counted in plain integers: ADR 0026)."""

from __future__ import annotations

import re

import httpx
from prometheus_client import generate_latest

from garment.platform.cache import TtlCache
from garment.platform.http.middleware import read_headers, with_standard_headers
from garment.platform.metrics import HTTP_LATENCY, HTTP_REQUESTS, HttpMetrics

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


async def test_every_answer_carries_the_request_id_vary_and_the_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/healthz", "/api/v1/meta/errors", "/no/such/page"):
        minted = await client.get(path)
        echoed = await client.get(path, headers={"X-Request-ID": "front-end:42"})
        unsafe = await client.get(path, headers={"X-Request-ID": "two words"})

        assert re.fullmatch(r"[0-9a-f]{32}", minted.headers["x-request-id"]), path
        assert echoed.headers["x-request-id"] == "front-end:42"
        assert unsafe.headers["x-request-id"] != "two words"
        for answer in (minted, echoed, unsafe):
            assert answer.headers.get_list("x-request-id") == [answer.headers["x-request-id"]]
            assert answer.headers["vary"] == "Accept-Language"
            assert {name: answer.headers[name] for name in SECURITY} == SECURITY
        if minted.status_code >= 400:
            assert minted.json()["request_id"] == minted.headers["x-request-id"]


def test_a_routes_own_vary_and_security_headers_stand() -> None:
    headers = with_standard_headers(
        [
            (b"content-type", b"text/html"),
            (b"Vary", b"Origin"),
            (b"X-Frame-Options", b"SAMEORIGIN"),
            (b"x-request-id", b"stale"),
        ],
        b"abc",
    )

    assert headers == [
        (b"content-type", b"text/html"),
        (b"X-Frame-Options", b"SAMEORIGIN"),
        (b"x-request-id", b"abc"),
        (b"vary", b"Origin, Accept-Language"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]


def test_the_first_of_a_repeated_request_header_is_read() -> None:
    scope = {
        "headers": [
            (b"user-agent", b"first"),
            (b"x-forwarded-for", b"203.0.113.9"),
            (b"user-agent", b"second"),
            (b"x-unrelated", b"ignored"),
        ]
    }

    assert read_headers(scope) == {b"user-agent": "first", b"x-forwarded-for": "203.0.113.9"}


def test_request_metrics_count_through_kept_children_and_past_their_limit() -> None:
    metrics = HttpMetrics(max_children=1)
    route = "/test/bookkeeping/{id}"
    kept = HTTP_REQUESTS.labels("GET", route, "200")
    beyond = HTTP_REQUESTS.labels("PATCH", route, "409")
    latency = HTTP_LATENCY.labels("GET", route)
    before = (kept._value.get(), beyond._value.get(), latency._sum.get())

    for _ in range(3):
        metrics.record("GET", route, 200, 0.25)
    metrics.record("PATCH", route, 409, 0.5)  # over the limit: still counted

    assert kept._value.get() == before[0] + 3
    assert beyond._value.get() == before[1] + 1
    assert latency._sum.get() == before[2] + 0.75


def test_cache_lookups_are_exported_per_cache_name_and_summed_over_runtimes() -> None:
    name = "bookkeeping_test"
    first: TtlCache[str, int] = TtlCache(name, ttl_seconds=60)
    second: TtlCache[str, int] = TtlCache(name, ttl_seconds=60)
    first.put("a", 1)
    assert first.get("a") == 1
    assert first.get("b") is None
    assert second.get("a") is None

    exported = generate_latest().decode()

    assert f'garment_cache_lookups_total{{cache="{name}",result="hit"}} 1.0' in exported
    assert f'garment_cache_lookups_total{{cache="{name}",result="miss"}} 2.0' in exported
