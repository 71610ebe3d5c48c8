"""The HTTP protocol `garment serve` speaks: uvicorn's httptools protocol with a bound on the
request head (request line plus headers).

httptools buffers a header until it is complete, so without a bound one client can send a
100 MB header and the process holds it all (and every other request waits while it is parsed).
Here the bytes received while a request's head is incomplete are counted before they reach the
parser's buffers; past `http.max_header_bytes` the client gets `431` problem+json and the
connection is closed. Bodies are bounded elsewhere (FastAPI's `max_body_size`, `413`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from garment.config import get_settings
from garment.platform.errors import REQUEST_HEADERS_TOO_LARGE
from garment.platform.http.problem import PROBLEM_MEDIA_TYPE


@lru_cache(maxsize=1)
def header_limit() -> int:
    # Read in the serving process itself (workers of `--workers` are separate processes that
    # get their configuration from the environment).
    return get_settings().http.max_header_bytes


def too_large_response(limit: int) -> bytes:
    body = json.dumps(
        {
            "type": f"/api/v1/meta/errors#{REQUEST_HEADERS_TOO_LARGE.code}",
            "title": "Request headers too large",
            "status": 431,
            "detail": REQUEST_HEADERS_TOO_LARGE.message_id,
            "code": REQUEST_HEADERS_TOO_LARGE.code,
            "limit_bytes": limit,
        }
    ).encode()
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        f"content-type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_limit = header_limit()
        self._head_bytes = 0
        self._in_head = True

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        self._in_head = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._in_head
            and self._head_bytes > self._head_limit
            and not self.transport.is_closing()
        ):
            self.transport.write(too_large_response(self._head_limit))
            self.transport.close()
