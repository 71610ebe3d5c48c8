"""Cursor pagination over a real table: complete, stable, and strict about bad cursors."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from garment.platform.errors import AppError
from garment.platform.events import OutboxEvent
from garment.platform.pagination import PageParams, decode_cursor, encode_cursor, paginate
from garment.runtime import Runtime


async def test_pages_cover_every_row_exactly_once(runtime: Runtime) -> None:
    marker = f"test.Page{uuid.uuid4().hex[:8]}"
    async with runtime.central.transaction() as session:
        # Same timestamp for all: the id breaks ties, so order stays total.
        await session.execute(
            text(
                "INSERT INTO outbox_events (event_id, name, payload, occurred_at, delivered_at) "
                "SELECT gen_random_uuid(), :name, '{}', now(), now() FROM generate_series(1, 45)"
            ),
            {"name": marker},
        )
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        async with runtime.central.transaction() as session:
            statement = select(OutboxEvent).where(OutboxEvent.name == marker)
            rows, cursor = await paginate(
                session,
                statement,
                key_columns=[OutboxEvent.occurred_at, OutboxEvent.id],
                params=PageParams(limit=20, cursor=cursor),
            )
        seen.extend(row.id for row in rows)
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 45
    assert seen == sorted(seen, reverse=True)


def test_cursor_round_trip() -> None:
    values = [uuid.uuid4(), 42, "x"]
    assert decode_cursor(encode_cursor(values), 3) == values


@pytest.mark.parametrize("bad", ["%%%", "bm90IGpzb24", encode_cursor([1])])
def test_bad_cursor_is_a_validation_error(bad: str) -> None:
    with pytest.raises(AppError) as caught:
        decode_cursor(bad, 2)
    assert caught.value.code == "VALIDATION_FAILED"
