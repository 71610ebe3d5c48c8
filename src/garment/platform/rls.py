"""Row-level security for tenant tables: the one policy every tenant table carries.

`tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)` for USING and
WITH CHECK. The sub-select makes PostgreSQL evaluate the setting once per statement; `nullif`
turns a reused connection whose setting reads '' into NULL, which matches no row (fail closed);
`true` as the second argument of current_setting means "missing is NULL", not an error.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


SET_TENANT_SQL = text(f"SELECT set_config('{TENANT_SETTING}', :tenant_id, true)")


async def bind_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Bind the session's transaction to one tenant (local to the transaction)."""
    await session.execute(SET_TENANT_SQL, {"tenant_id": str(tenant_id)})
