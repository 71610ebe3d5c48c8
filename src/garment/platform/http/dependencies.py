"""Dependencies shared by every router: the process's services and the request's unit of work.

The composition root (`garment.runtime.Runtime`) is stored on the application; each context's
`dependencies.py` offers its own services from it with their real types (`Auth`, `Tenancy`),
so this module never needs to know what the root holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from garment.config import Settings
from garment.platform.db import Database


def app_services(request: Request) -> Any:
    """The object holding every long-lived service of this process (the Runtime)."""
    return request.app.state.runtime


async def settings_of(request: Request) -> Settings:
    return cast(Settings, app_services(request).settings)


AppSettings = Annotated[Settings, Depends(settings_of)]


async def central_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's central transaction: committed after the handler returns, before the
    response is sent (function scope), rolled back when anything raises. No connection is
    taken until the first statement runs."""
    database = cast(Database, app_services(request).central)
    async with database.transaction() as session:
        yield session


CentralSession = Annotated[AsyncSession, Depends(central_session, scope="function")]
