"""Cursor (keyset) pagination: stable under inserts, O(limit) at any depth.

Lists answer `{"data": [...], "meta": {"next_cursor": "...", "limit": 20}}`; `next_cursor` is
null on the last page. A cursor holds the sort key of the last row returned. Clients treat it as
opaque (pass `meta.next_cursor` back as `cursor`), but its shape is exact and published: each list
declares a `Keyset` (its sort columns), whose `pattern` is the `cursor` parameter's schema, and
every string matching that pattern decodes to a position in the list. So the OpenAPI document
says exactly which cursors the server accepts (ADR 0012): a malformed one is a 422 from the
schema, and a well-formed one that no server issued simply starts the page at that position.

Parts, joined by `.`: text is base64url of its UTF-8 (no padding; undecodable bytes become
U+FFFD), integers are decimal and clamped to the column's range, uuids are 32 hex digits,
timestamps are microseconds since the Unix epoch (UTC), clamped to the calendar's range.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, DateTime, Integer, Select, String, bindparam, tuple_
from sqlalchemy import Uuid as UuidType
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from garment.platform.db import DriverQuery, RecordReader, as_reader
from garment.platform.errors import AppError, invalid
from garment.platform.i18n import Message

T = TypeVar("T")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
B64 = "[A-Za-z0-9_-]"

Column = ColumnElement[Any] | InstrumentedAttribute[Any]


class PageMeta(BaseModel):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
    limit: int


class Page(BaseModel, Generic[T]):
    data: list[T]
    meta: PageMeta


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


# --- the parts of a cursor -------------------------------------------------------------------


class PartKind(Enum):
    TEXT = "text"
    INT32 = "int32"
    INT64 = "int64"
    UUID = "uuid"
    TIMESTAMP = "timestamp"


INT_RANGES = {PartKind.INT32: (-(2**31), 2**31 - 1), PartKind.INT64: (-(2**63), 2**63 - 1)}


@dataclass(frozen=True, slots=True)
class CursorPart:
    kind: PartKind
    max_chars: int = 0  # text only

    @property
    def pattern(self) -> str:
        if self.kind is PartKind.TEXT:
            groups = -(-self.max_chars * 4 // 3)  # base64 groups for the longest UTF-8 text
            return f"(?:{B64}{{4}}){{0,{groups}}}(?:{B64}{{2,3}})?"
        if self.kind is PartKind.INT32:
            return "-?[0-9]{1,10}"
        if self.kind is PartKind.INT64:
            return "-?[0-9]{1,19}"
        if self.kind is PartKind.UUID:
            return "[0-9a-f]{32}"
        return "-?[0-9]{1,18}"

    def encode(self, value: Any) -> str:
        if self.kind is PartKind.TEXT:
            return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")
        if self.kind in INT_RANGES:
            return str(int(value))
        if self.kind is PartKind.UUID:
            # The driver hands back UUIDs; anything else is parsed as one.
            return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex
        moment: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
        return str((moment - EPOCH) // timedelta(microseconds=1))

    def decode(self, text: str) -> Any:
        if self.kind is PartKind.TEXT:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            # Any bytes are a position: PostgreSQL text cannot hold invalid UTF-8 or NUL.
            return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        if self.kind in INT_RANGES:
            low, high = INT_RANGES[self.kind]
            return min(max(int(text), low), high)
        if self.kind is PartKind.UUID:
            return uuid.UUID(hex=text)
        micros = int(text)
        earliest = (EARLIEST - EPOCH) // timedelta(microseconds=1)
        latest = (LATEST - EPOCH) // timedelta(microseconds=1)
        return EPOCH + timedelta(microseconds=min(max(micros, earliest), latest))


def part_for(column: Column) -> CursorPart:
    """The cursor part of a sort column, from its SQL type."""
    column_type = column.type
    if isinstance(column_type, BigInteger):
        return CursorPart(PartKind.INT64)
    if isinstance(column_type, Integer):
        return CursorPart(PartKind.INT32)
    if isinstance(column_type, UuidType):
        return CursorPart(PartKind.UUID)
    if isinstance(column_type, DateTime):
        return CursorPart(PartKind.TIMESTAMP)
    if isinstance(column_type, String):
        return CursorPart(PartKind.TEXT, max_chars=column_type.length or 256)
    raise TypeError(f"no cursor part for a {column_type!r} sort column")


# --- a list's sort key ------------------------------------------------------------------------


CURSOR_INVALID = Message(
    "Cursor tidak valid; pakai `meta.next_cursor` dari halaman sebelumnya.",
    "Invalid cursor; pass `meta.next_cursor` of the previous page.",
)


def invalid_cursor() -> AppError:
    return invalid("query.cursor", CURSOR_INVALID)


@dataclass(frozen=True)
class Keyset:
    """The sort columns of a list (unique together) and the cursor format they imply."""

    columns: tuple[Column, ...]
    parts: tuple[CursorPart, ...]
    example_values: tuple[Any, ...]

    @classmethod
    def of(cls, *columns: Column, example: Sequence[Any]) -> Keyset:
        """`example`: one realistic sort key, for the documented example cursor."""
        return cls(tuple(columns), tuple(part_for(column) for column in columns), tuple(example))

    @property
    def pattern(self) -> str:
        return "^" + r"\.".join(part.pattern for part in self.parts) + "$"

    @property
    def max_length(self) -> int:
        return len(self.parts) - 1 + sum(_part_max_length(part) for part in self.parts)

    @property
    def example(self) -> str:
        return self.encode(self.example_values)

    def encode(self, values: Sequence[Any]) -> str:
        return ".".join(part.encode(value) for part, value in zip(self.parts, values, strict=True))

    def decode(self, cursor: str) -> list[Any]:
        """The sort key in `cursor`; 422 on `query.cursor` when it does not match the format
        (the schema already refuses those on HTTP; this guards other callers)."""
        if not self._compiled().fullmatch(cursor):
            raise invalid_cursor()
        try:
            return [
                part.decode(text) for part, text in zip(self.parts, cursor.split("."), strict=True)
            ]
        except (ValueError, binascii.Error) as exc:  # unreachable after the match; kept safe
            raise invalid_cursor() from exc

    def _compiled(self) -> re.Pattern[str]:
        return _compile(self.pattern)

    def params(self) -> Callable[..., Any]:
        """The FastAPI dependency of this list's `limit` and `cursor`, with the exact schema."""
        limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
        cursor = Annotated[
            str | None,
            Query(
                max_length=self.max_length,
                pattern=self.pattern,
                description="`meta.next_cursor` of the previous page. Opaque: pass it back as "
                "received; its format may change between API versions.",
                examples=[self.example],
            ),
        ]

        async def page_params(limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> PageParams:
            return PageParams(limit=limit, cursor=cursor)

        # Built per keyset, so the annotations are objects FastAPI reads from the signature
        # (string annotations could not name this keyset's pattern).
        keyword = inspect.Parameter.KEYWORD_ONLY
        page_params.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter("limit", keyword, default=DEFAULT_LIMIT, annotation=limit),
                inspect.Parameter("cursor", keyword, default=None, annotation=cursor),
            ],
            return_annotation=PageParams,
        )
        return page_params


def _part_max_length(part: CursorPart) -> int:
    if part.kind is PartKind.TEXT:
        return 4 * -(-part.max_chars * 4 // 3) + 3
    return {PartKind.INT32: 11, PartKind.INT64: 20, PartKind.UUID: 32}.get(part.kind, 19)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    *,
    keyset: Keyset,
    params: PageParams,
    descending: bool = True,
) -> tuple[list[Any], str | None]:
    """Run `statement` for one page ordered by the keyset's columns; returns the rows (scalars
    when one entity is selected) and the next cursor."""
    if params.cursor:
        values = keyset.decode(params.cursor)
        key = tuple_(*keyset.columns)
        statement = statement.where(key < tuple_(*values) if descending else key > tuple_(*values))
    ordering = [column.desc() if descending else column.asc() for column in keyset.columns]
    statement = statement.order_by(*ordering).limit(params.limit + 1)
    result = await session.execute(statement)
    single = len(statement.column_descriptions) == 1
    rows = list(result.scalars().all()) if single else list(result)
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, keyset.encode([_key_of(last, column) for column in keyset.columns])


def _key_of(row: Any, column: Column) -> Any:
    name = _column_name(column)
    if hasattr(row, "_mapping"):
        return row._mapping[name]
    return getattr(row, name)


@dataclass
class KeysetQuery:
    """A list query whose statements are built once (hot lists): the first page and "after a
    cursor", each ordered by the keyset with the page size, every filter and the cursor as
    bound parameters. Building a SQLAlchemy statement costs more Python time than running its
    cached compiled form, so a list endpoint builds none per request; the page is read straight
    through the driver (`RecordReader`)."""

    first: Select[*tuple[Any, ...]]
    after: Select[*tuple[Any, ...]]
    keyset: Keyset
    _compiled: dict[tuple[str, bool], DriverQuery] = field(default_factory=dict)

    @classmethod
    def build(
        cls, base: Select[*tuple[Any, ...]], keyset: Keyset, *, descending: bool = False
    ) -> KeysetQuery:
        columns = keyset.columns
        names = tuple(f"cursor_{index}" for index in range(len(columns)))
        cursor = tuple_(
            *(
                bindparam(name, type_=column.type)
                for name, column in zip(names, columns, strict=True)
            )
        )
        key = tuple_(*columns)
        ordering = [column.desc() if descending else column.asc() for column in columns]
        limit = bindparam("page_limit", type_=Integer)
        return cls(
            first=base.order_by(*ordering).limit(limit),
            after=base.where(key < cursor if descending else key > cursor)
            .order_by(*ordering)
            .limit(limit),
            keyset=keyset,
        )

    @cached_property
    def key_names(self) -> tuple[str, ...]:
        return tuple(_column_name(column) for column in self.keyset.columns)

    def _query(self, reader: RecordReader, after_cursor: bool) -> DriverQuery:
        dialect = reader.dialect
        key = (dialect.name, after_cursor)
        compiled = self._compiled.get(key)
        if compiled is None:
            statement = self.after if after_cursor else self.first
            compiled = self._compiled[key] = DriverQuery.compile(statement, dialect)
        return compiled

    async def page(
        self, source: AsyncSession | RecordReader, params: PageParams, filters: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of rows (column name -> value) and the next cursor, read on the request's
        session or on a read-only `ReadTransaction`."""
        reader = as_reader(source)
        values = {**filters, "page_limit": params.limit + 1}
        if params.cursor:
            decoded = self.keyset.decode(params.cursor)
            values.update({f"cursor_{index}": value for index, value in enumerate(decoded)})
        records = await reader.fetch(self._query(reader, bool(params.cursor)), values)
        rows = [dict(record) for record in records[: params.limit]]
        if len(records) <= params.limit:
            return rows, None
        last = rows[-1]
        return rows, self.keyset.encode([last[name] for name in self.key_names])


def _column_name(column: Column) -> str:
    name = getattr(column, "key", None) or getattr(column, "name", None)
    if not isinstance(name, str):
        raise TypeError("key columns must be named")
    return name
