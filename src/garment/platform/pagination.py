"""Cursor (keyset) pagination: stable under inserts, O(limit) at any depth.

A cursor is an opaque base64url token holding the sort key of the last row returned. Lists answer
`{"data": [...], "meta": {"next_cursor": "...", "limit": 20}}`; `next_cursor` is null on the
last page.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Integer, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from garment.platform.db import DriverQuery, fetch_records
from garment.platform.errors import AppError, invalid
from garment.platform.i18n import Message

T = TypeVar("T")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


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


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`meta.next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


Pagination = Annotated[PageParams, Depends(page_params)]


def _encode_value(value: Any) -> list[Any]:
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["uuid", str(value)]
    if isinstance(value, int | str | float) or value is None:
        return ["v", value]
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _decode_value(item: Any) -> Any:
    tag, value = item
    if tag == "dt":
        return datetime.fromisoformat(value)
    if tag == "uuid":
        return uuid.UUID(value)
    if tag == "v":
        return value
    raise ValueError(tag)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, expected_length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        items = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = [_decode_value(item) for item in items]
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise invalid_cursor() from exc
    if len(values) != expected_length:
        raise invalid_cursor()
    return values


CURSOR_INVALID = Message(
    "Cursor tidak valid; pakai `meta.next_cursor` dari halaman sebelumnya.",
    "Invalid cursor; pass `meta.next_cursor` of the previous page.",
)


def invalid_cursor() -> AppError:
    return invalid("query.cursor", CURSOR_INVALID)


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    *,
    key_columns: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    params: PageParams,
    descending: bool = True,
) -> tuple[list[Any], str | None]:
    """Run `statement` for one page ordered by `key_columns` (unique together, e.g.
    `(created_at, id)`); returns the rows (scalars when one entity is selected) and the
    next cursor."""
    if params.cursor:
        values = decode_cursor(params.cursor, len(key_columns))
        key = tuple_(*key_columns)
        statement = statement.where(key < tuple_(*values) if descending else key > tuple_(*values))
    ordering = [column.desc() if descending else column.asc() for column in key_columns]
    statement = statement.order_by(*ordering).limit(params.limit + 1)
    result = await session.execute(statement)
    single = len(statement.column_descriptions) == 1
    rows = list(result.scalars().all()) if single else list(result)
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, encode_cursor([_key_of(last, column) for column in key_columns])


def _key_of(row: Any, column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> Any:
    name = getattr(column, "key", None) or getattr(column, "name", None)
    if name is None:
        raise TypeError("key columns must be named")
    if hasattr(row, "_mapping"):
        return row._mapping[name]
    return getattr(row, name)


@dataclass
class KeysetQuery:
    """A list query whose statements are built once (hot lists): the first page and "after a
    cursor", each ordered by `key_columns` (unique together) with the page size, every filter
    and the cursor as bound parameters. Building a SQLAlchemy statement costs more Python time
    than running its cached compiled form, so a list endpoint builds none per request; the page
    is read straight through the driver on the session's transaction (`fetch_records`)."""

    first: Select[*tuple[Any, ...]]
    after: Select[*tuple[Any, ...]]
    key_names: tuple[str, ...]
    _compiled: dict[tuple[str, bool], DriverQuery] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        base: Select[*tuple[Any, ...]],
        key_columns: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
        *,
        descending: bool = False,
    ) -> KeysetQuery:
        names = tuple(f"cursor_{index}" for index in range(len(key_columns)))
        cursor = tuple_(
            *(
                bindparam(name, type_=column.type)
                for name, column in zip(names, key_columns, strict=True)
            )
        )
        key = tuple_(*key_columns)
        ordering = [column.desc() if descending else column.asc() for column in key_columns]
        limit = bindparam("page_limit", type_=Integer)
        return cls(
            first=base.order_by(*ordering).limit(limit),
            after=base.where(key < cursor if descending else key > cursor)
            .order_by(*ordering)
            .limit(limit),
            key_names=tuple(_column_name(column) for column in key_columns),
        )

    def _query(self, session: AsyncSession, after_cursor: bool) -> DriverQuery:
        dialect = session.get_bind().dialect
        key = (dialect.name, after_cursor)
        compiled = self._compiled.get(key)
        if compiled is None:
            statement = self.after if after_cursor else self.first
            compiled = self._compiled[key] = DriverQuery.compile(statement, dialect)
        return compiled

    async def page(
        self, session: AsyncSession, params: PageParams, filters: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of rows (column name -> value) and the next cursor."""
        values = {**filters, "page_limit": params.limit + 1}
        if params.cursor:
            decoded = decode_cursor(params.cursor, len(self.key_names))
            values.update({f"cursor_{index}": value for index, value in enumerate(decoded)})
        records = await fetch_records(session, self._query(session, bool(params.cursor)), values)
        rows = [dict(record) for record in records[: params.limit]]
        if len(records) <= params.limit:
            return rows, None
        last = rows[-1]
        return rows, encode_cursor([last[name] for name in self.key_names])


def _column_name(column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> str:
    name = getattr(column, "key", None) or getattr(column, "name", None)
    if not isinstance(name, str):
        raise TypeError("key columns must be named")
    return name
