"""Cursor pagination over a real table: complete, stable, and a cursor format the schema states
exactly (every string matching the pattern is a position; nothing else is accepted)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, select, text
from sqlalchemy import Uuid as UuidType

from garment.platform.errors import AppError
from garment.platform.events import OutboxEvent
from garment.platform.pagination import Keyset, PageParams, paginate
from garment.runtime import Runtime

OUTBOX = Keyset.of(
    OutboxEvent.occurred_at, OutboxEvent.id, example=(datetime(2026, 12, 1, tzinfo=UTC), 7)
)
OutboxPage = Annotated[PageParams, Depends(OUTBOX.params())]
# One column of every kind a cursor can hold.
EVERY_KIND = Table(
    "every_kind",
    MetaData(),
    Column("label", String(16)),
    Column("position", Integer),
    Column("serial", BigInteger),
    Column("ref", UuidType),
    Column("at", DateTime(timezone=True)),
)
MIXED = Keyset.of(
    *EVERY_KIND.c,
    example=("ukuran", 3, 2**40, uuid.uuid4(), datetime(2026, 12, 1, 9, tzinfo=UTC)),
)


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
                session, statement, keyset=OUTBOX, params=PageParams(limit=20, cursor=cursor)
            )
        seen.extend(row.id for row in rows)
        pages += 1
        if cursor is None:
            break
        assert re.fullmatch(OUTBOX.pattern, cursor)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 45
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    "values",
    [
        ("ukuran", 3, 2**40, uuid.UUID(int=7), datetime(2026, 12, 1, 9, 30, 1, 123, tzinfo=UTC)),
        ("", -(2**31), -(2**63), uuid.UUID(int=0), datetime(1960, 1, 1, tzinfo=UTC)),
        ("Kaos oblong ✓", 2**31 - 1, 2**63 - 1, uuid.UUID(int=2**128 - 1), datetime.now(UTC)),
    ],
)
def test_every_kind_round_trips(values: tuple[object, ...]) -> None:
    cursor = MIXED.encode(values)
    assert re.fullmatch(MIXED.pattern, cursor)
    assert len(cursor) <= MIXED.max_length
    assert tuple(MIXED.decode(cursor)) == values


def test_the_documented_example_matches_its_own_pattern() -> None:
    for keyset in (OUTBOX, MIXED):
        assert re.fullmatch(keyset.pattern, keyset.example)
        assert len(keyset.example) <= keyset.max_length


@settings(max_examples=300, deadline=None)
@given(st.from_regex(MIXED.pattern, fullmatch=True))
def test_every_string_the_pattern_allows_is_a_position(cursor: str) -> None:
    label, position, serial, ref, at = MIXED.decode(cursor)
    assert isinstance(label, str) and "\x00" not in label
    assert -(2**31) <= position < 2**31
    assert -(2**63) <= serial < 2**63
    assert isinstance(ref, uuid.UUID)
    assert at.tzinfo is not None and 1 <= at.year <= 9999


@pytest.mark.parametrize(
    "bad", ["%%%", "", "abc", "W1sidiIsInNpemUiXV0", OUTBOX.example + ".1", "1.X" * 2]
)
def test_a_cursor_outside_the_format_is_a_validation_error(bad: str) -> None:
    with pytest.raises(AppError) as caught:
        OUTBOX.decode(bad)
    assert caught.value.code == "VALIDATION_FAILED"


def test_the_dependency_publishes_the_format() -> None:
    app = FastAPI()

    @app.get("/things")
    async def things(page: OutboxPage) -> dict[str, str | None]:
        return {"cursor": page.cursor}

    parameters = app.openapi()["paths"]["/things"]["get"]["parameters"]
    cursor = next(p for p in parameters if p["name"] == "cursor")
    schema = cursor["schema"]["anyOf"][0]
    assert schema["pattern"] == OUTBOX.pattern
    assert schema["maxLength"] == OUTBOX.max_length
    assert OUTBOX.example in cursor.get("examples", cursor["schema"].get("examples", []))
