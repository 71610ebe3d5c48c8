"""Fixtures of the provider adapter tests: a stub provider API per test (`stubs.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.billing.providers.stubs import StubServer, start_stub_server


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    stub, server, thread = start_stub_server()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
