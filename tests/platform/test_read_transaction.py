"""The read-only transaction of hot GET lists (`ReadTransaction`, `TenantReader`): bound to its
tenant, read-only, lazy, and it gives its connection back whatever happens."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from garment.platform.db import DriverQuery
from garment.runtime import Runtime

SETTING = DriverQuery("SELECT current_setting('app.tenant_id', true) AS tenant", ())
READ_ONLY = DriverQuery("SELECT current_setting('transaction_read_only') AS read_only", ())
WRITE = DriverQuery("CREATE TEMPORARY TABLE read_transaction_probe (a int)", ())
PARAMETER = DriverQuery("SELECT $1::int + 1 AS answer", ("value",))


def checked_out(runtime: Runtime, key: str = "default") -> int:
    pool = runtime.cluster_manager.database(key).engine.pool
    return int(pool.checkedout())  # type: ignore[attr-defined]


async def test_a_read_is_bound_to_its_tenant_and_the_binding_dies_with_it(
    runtime: Runtime,
) -> None:
    tenant_id = uuid.uuid4()
    manager = runtime.cluster_manager
    async with manager.tenant_reader("default", tenant_id) as reader:
        rows = await reader.fetch(SETTING, {})
        assert rows[0]["tenant"] == str(tenant_id)
        # The binding holds for every statement of the transaction, parameters pass through.
        assert (await reader.fetch(PARAMETER, {"value": 41}))[0]["answer"] == 42
    async with manager.transaction("default") as session:
        leftover = (await session.connection()).exec_driver_sql(
            "SELECT current_setting('app.tenant_id', true)"
        )
        assert (await leftover).scalar_one() in (None, "")


async def test_a_reader_cannot_write(runtime: Runtime) -> None:
    async with runtime.cluster_manager.tenant_reader("default", uuid.uuid4()) as reader:
        assert (await reader.fetch(READ_ONLY, {}))[0]["read_only"] == "on"
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await reader.fetch(WRITE, {})


async def test_no_connection_is_taken_until_the_first_read(runtime: Runtime) -> None:
    before = checked_out(runtime)
    async with runtime.cluster_manager.tenant_reader("default", uuid.uuid4()) as reader:
        assert checked_out(runtime) == before
        await reader.fetch(SETTING, {})
        assert checked_out(runtime) == before + 1
    assert checked_out(runtime) == before


async def test_the_connection_comes_back_after_a_failing_statement_and_an_error(
    runtime: Runtime,
) -> None:
    before = checked_out(runtime)
    with pytest.raises(asyncpg.UndefinedTableError):
        async with runtime.cluster_manager.tenant_reader("default", uuid.uuid4()) as reader:
            await reader.fetch(DriverQuery("SELECT * FROM no_such_table", ()), {})
    assert checked_out(runtime) == before
    with pytest.raises(RuntimeError, match="handler failed"):
        async with runtime.cluster_manager.tenant_reader("default", uuid.uuid4()) as reader:
            await reader.fetch(SETTING, {})
            raise RuntimeError("handler failed")
    assert checked_out(runtime) == before
    # The connection handed back is clean: the next reader on it works.
    async with runtime.cluster_manager.tenant_reader("default", uuid.uuid4()) as reader:
        assert (await reader.fetch(PARAMETER, {"value": 1}))[0]["answer"] == 2


# --- statements alone on a driver connection (`Database.statements`, the refresh rotation) -----

# An activity row with the marker as its request id: a table the application role may write.
INSERT_MARKER = DriverQuery(
    "INSERT INTO auth_activities (type, request_id) VALUES ('write_probe', $1)", ("marker",)
)
FIND_MARKER = DriverQuery(
    "SELECT count(*) AS found FROM auth_activities WHERE request_id = $1", ("marker",)
)


async def markers(runtime: Runtime, marker: str) -> int:
    async with runtime.central.read_transaction() as reader:
        return int((await reader.fetch(FIND_MARKER, {"marker": marker}))[0]["found"])


async def test_statements_alone_commit_one_by_one_and_the_connection_goes_back(
    runtime: Runtime,
) -> None:
    central = runtime.central
    pool = central.engine.pool
    before = int(pool.checkedout())  # type: ignore[attr-defined]
    kept, failed = f"probe-{uuid.uuid4().hex}", f"probe-{uuid.uuid4().hex}"

    with pytest.raises(RuntimeError):
        async with central.statements() as statements:
            # A central connection is a plain asyncpg one: no tenant binding to send.
            setting = await statements.fetchrow(SETTING, {})
            assert setting is not None and setting["tenant"] in (None, "")
            await statements.execute(INSERT_MARKER, {"marker": kept})
            # No transaction block: the statement is committed as soon as it has run.
            assert await markers(runtime, kept) == 1
            raise RuntimeError("refused after writing")
    assert await markers(runtime, kept) == 1
    assert int(pool.checkedout()) == before  # type: ignore[attr-defined]

    # A failing statement keeps nothing of itself, and the connection stays usable.
    async with central.statements() as statements:
        with pytest.raises(asyncpg.PostgresError):
            await statements.execute(
                DriverQuery(
                    "INSERT INTO auth_activities (type, request_id) VALUES ('write_probe', $1),"
                    " (NULL, $1)",
                    ("marker",),
                ),
                {"marker": failed},
            )
        answer = await statements.fetchrow(PARAMETER, {"value": 1})
        assert answer is not None and answer["answer"] == 2
    assert await markers(runtime, failed) == 0
    assert int(pool.checkedout()) == before  # type: ignore[attr-defined]
