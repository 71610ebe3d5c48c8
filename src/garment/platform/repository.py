"""The repository base: the queries of one aggregate, behind a small typed surface.

Each context's `repository.py` subclasses `Repository[Model]` for the tables it owns and adds
the look-ups its use cases need, loaded up front (relationships are `lazy="raise"`, so nothing is
fetched behind a service's back). A repository wraps the caller's session: it never commits and
never opens a transaction of its own; the unit of work (request, job, listener) owns that.

    class TenantRepository(Repository[Tenant]):
        model = Tenant

        async def by_slug(self, slug: str) -> Tenant | None:
            return await self.one_or_none(self.select().where(Tenant.slug == slug))

    tenant = await TenantRepository(session).get(tenant_id, for_update=True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.interfaces import ORMOption

from garment.platform.db import causes
from garment.platform.pagination import Keyset, PageParams, paginate

UNIQUE_VIOLATION = "23505"

M = TypeVar("M")


def affected_rows(result: object) -> int:
    """How many rows an INSERT, UPDATE or DELETE changed (0 when the driver cannot tell)."""
    return int(getattr(result, "rowcount", 0) or 0)


class Repository(Generic[M]):
    """Queries over one model, in the caller's session."""

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def select(self) -> Select[M]:
        """The base statement every list of this repository starts from."""
        return select(self.model)

    async def get(
        self,
        identity: Any,
        *,
        options: Sequence[ORMOption] = (),
        for_update: bool = False,
    ) -> M | None:
        """The row with this primary key (a tuple for composite keys), optionally locked."""
        found: M | None = await self.session.get(
            self.model, identity, options=options, with_for_update=for_update or None
        )
        return found

    async def one_or_none(
        self, statement: Select[M], parameters: Mapping[str, Any] | None = None
    ) -> M | None:
        """The one row `statement` finds, or None; `parameters` bind a statement built once."""
        return (await self.session.execute(statement, parameters)).scalar_one_or_none()

    async def all(self, statement: Select[M]) -> list[M]:
        return list((await self.session.execute(statement)).scalars().all())

    async def count(self, statement: Select[Any] | None = None) -> int:
        """How many rows `statement` (default: the whole table) would return."""
        base = statement if statement is not None else self.select()
        counted = select(func.count()).select_from(base.order_by(None).subquery())
        return int((await self.session.execute(counted)).scalar_one())

    async def page(
        self,
        statement: Select[M],
        *,
        keyset: Keyset,
        params: PageParams,
        descending: bool = True,
    ) -> tuple[list[M], str | None]:
        """One cursor page of `statement` ordered by the keyset's columns (unique together)."""
        rows, cursor = await paginate(
            self.session, statement, keyset=keyset, params=params, descending=descending
        )
        return list(rows), cursor

    def add(self, instance: M) -> M:
        self.session.add(instance)
        return instance

    async def create(self, instance: M) -> M:
        """Add and flush, so generated columns and constraint violations surface now."""
        self.session.add(instance)
        await self.session.flush()
        return instance

    async def create_unique(self, instance: M, refusal: Callable[[], Exception]) -> M:
        """`create` for a row with a natural unique key checked beforehand: a concurrent twin
        that got in between the check and the insert is `refusal()` (a field error), not a
        500. The savepoint keeps the rest of the transaction usable."""
        try:
            async with self.session.begin_nested():
                self.session.add(instance)
                await self.session.flush()
        except IntegrityError as error:
            if not any(getattr(e, "sqlstate", None) == UNIQUE_VIOLATION for e in causes(error)):
                raise
            raise refusal() from error
        return instance

    async def delete(self, instance: M) -> None:
        await self.session.delete(instance)

    async def flush(self) -> None:
        await self.session.flush()
