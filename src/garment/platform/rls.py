"""Row-level security for tenant tables: the one policy every tenant table carries.

`tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)` for USING and
WITH CHECK. The sub-select makes PostgreSQL evaluate the setting once per statement; `nullif`
turns a reused connection whose setting reads '' into NULL, which matches no row (fail closed);
`true` as the second argument of current_setting means "missing is NULL", not an error.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

TENANT_SETTING = "app.tenant_id"
POLICY_NAME = "tenant_isolation"
POLICY_EXPRESSION = "tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)"


def enable_tenant_rls(table: str) -> list[str]:
    """DDL that puts `table` behind the tenant wall (idempotent when re-run on a fresh table)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING ({POLICY_EXPRESSION}) "
        f"WITH CHECK ({POLICY_EXPRESSION})",
    ]


TENANT_INFO_KEY = "garment.tenant_id"


class TenantBindingConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that sends the tenant binding in the same round trip as the
    transaction's BEGIN (`BEGIN ...; SELECT set_config('app.tenant_id', '<id>', true)`, one
    simple-query message), instead of a separate statement before the first query."""

    __slots__ = ("_garment_bind_sql",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._garment_bind_sql: str | None = None

    def bind_next_transaction(self, tenant_id: uuid.UUID | None) -> None:
        if tenant_id is None:
            self._garment_bind_sql = None
            return
        # A UUID renders as 36 hex digits and dashes: safe to inline, nothing else gets here
        # (anything but a plain UUID is parsed as one first, so it cannot smuggle text in).
        exact = type(tenant_id) is uuid.UUID
        value = str(tenant_id) if exact else str(uuid.UUID(str(tenant_id)))
        self._garment_bind_sql = f"SELECT set_config('{TENANT_SETTING}', '{value}', true);"

    # The signature is asyncpg's own (its `timeout`), so the override is transparent.
    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109
        bind = self._garment_bind_sql
        if bind is not None and not args and query.startswith("BEGIN"):
            self._garment_bind_sql = None
            query = f"{query}{bind}"
        result: str = await super().execute(query, *args, timeout=timeout)
        return result


def bind_driver_to_tenant(driver: Any, tenant_id: uuid.UUID | None) -> None:
    """Tell a driver connection which tenant (if any) its next transaction binds to; a
    connection of a pool without the binding (central) is left alone."""
    # Not `isinstance`: asyncpg's connection metaclass answers it for any asyncpg connection.
    if TenantBindingConnection in type(driver).__mro__:
        driver.bind_next_transaction(tenant_id)


class TenantBoundSession(Session):
    """The ORM session of cluster databases: when a transaction begins on a connection, the
    connection is told which tenant (if any) to bind the transaction to."""


@event.listens_for(TenantBoundSession, "after_begin")
def _bind_connection(session: Session, _transaction: Any, connection: Connection) -> None:
    bind_driver_to_tenant(
        connection.connection.driver_connection, session.info.get(TENANT_INFO_KEY)
    )


def bind_session_to_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Every transaction this session opens is bound to `tenant_id` (local to the
    transaction: `set_config(..., true)`), so a pooled connection never carries it on."""
    session.info[TENANT_INFO_KEY] = tenant_id
