"""Optimistic concurrency for updatable rows: an integer `version`, `ETag: "<version>"` on
responses, `If-Match: "<version>"` on updates, and a conditional UPDATE that refuses a stale one.

A model opts in with the `Versioned` mixin: the column starts at 1 and SQLAlchemy's
`version_id_col` makes every flushed UPDATE of the row `... WHERE version = :loaded` and bumps
it, so two writers that both loaded version 3 cannot both win: the second UPDATE matches no row.
`apply_changes` checks the caller's `If-Match` first (nothing is written on a stale version) and
turns the lost race into the same `409 CONFLICT`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Integer, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from garment.platform.errors import CONFLICT, AppError

# `"7"`, `W/"7"` (a weak tag compares equal for our purposes: a version is the whole state).
IF_MATCH_PATTERN = r'^(?:W/)?"[1-9][0-9]{0,17}"$'
_IF_MATCH = re.compile(IF_MATCH_PATTERN)


class Versioned:
    """Mixin: `version` (1, 2, ...) maintained by SQLAlchemy on every UPDATE of the row."""

    version: Mapped[int] = mapped_column(Integer, server_default=text("1"), default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def etag(version: int) -> str:
    """The `ETag` value of a row at `version` (strong: If-Match compares strongly)."""
    return f'"{version}"'


NO_VERSION = 0  # what an If-Match naming no version compares as: never current


def parse_if_match(value: str | None) -> int | None:
    """The version an `If-Match` header names (`"3"`, `W/"3"`); None when absent. Any other
    value names no version of the resource, so the precondition fails (409 at the check), as
    RFC 9110 has it for an entity tag that matches nothing."""
    if value is None:
        return None
    stripped = value.strip(" \t")
    if not _IF_MATCH.fullmatch(stripped):
        return NO_VERSION
    return int(stripped.removeprefix("W/").strip('"'))


def stale(current: int | None) -> AppError:
    extra: dict[str, Any] = {"reason": "version_mismatch"}
    if current is not None:
        extra["current_version"] = current
    return AppError(CONFLICT, extra=extra)


def check_version(entity: Versioned, expected: int | None) -> None:
    """409 CONFLICT when the caller's If-Match names another version than the loaded row's."""
    if expected is not None and entity.version != expected:
        raise stale(entity.version)


def present_changes(model: type[Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` without a null for a column that always has a value: in a PATCH that null
    means "unchanged" (it would otherwise reach the NOT NULL constraint as a 500)."""
    columns = sa_inspect(model).columns
    return {
        name: value
        for name, value in changes.items()
        if value is not None or name not in columns or columns[name].nullable
    }


async def apply_changes(
    session: AsyncSession, entity: Versioned, expected: int | None, changes: Mapping[str, Any]
) -> bool:
    """Check If-Match, set `changes` on the entity and flush the conditional UPDATE now, so a
    concurrent writer's win surfaces as 409 here and never at commit. Returns whether any value
    changed (an unchanged row keeps its version)."""
    check_version(entity, expected)
    changed = False
    for name, value in present_changes(type(entity), changes).items():
        if getattr(entity, name) != value:
            setattr(entity, name, value)
            changed = True
    if changed:
        try:
            await session.flush()
        except StaleDataError as exc:
            raise stale(None) from exc
    return changed
