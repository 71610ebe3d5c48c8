"""Dependencies shared by every router: the runtime and the request's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from garment.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated["Runtime", Depends(get_runtime)]


async def central_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's central transaction: committed after the handler returns, before the
    response is sent (function scope), rolled back when anything raises."""
    runtime = get_runtime(request)
    async with runtime.central.transaction() as session:
        yield session


CentralSession = Annotated[AsyncSession, Depends(central_session, scope="function")]
