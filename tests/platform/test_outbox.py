"""The outbox: events exist iff their transaction committed, and are delivered at least once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from garment.platform.db import Database, create_engine
from garment.platform.dbsetup import Targets
from garment.platform.events import (
    DomainEvent,
    EventRegistry,
    ListenerContext,
    OutboxRelay,
    RelayOptions,
    outbox_backlog,
    publish,
)
from garment.platform.migrations import migrate_central
from tests.conftest import LayoutFactory


class OrderShipped(DomainEvent):
    event_name = "test.OrderShipped"
    order_id: uuid.UUID


@dataclass
class Recorder:
    calls: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    failures_left: dict[str, int] = field(default_factory=dict)

    def record(self, listener: str, event: OrderShipped) -> None:
        if self.failures_left.get(listener, 0) > 0:
            self.failures_left[listener] -= 1
            self.calls.setdefault(f"{listener}:failed", []).append(event.order_id)
            raise RuntimeError(f"{listener} is down")
        self.calls.setdefault(listener, []).append(event.order_id)


def registry_for(recorder: Recorder) -> EventRegistry:
    registry = EventRegistry()

    @registry.listener(OrderShipped, name="test.notify_customer")
    async def notify(event: OrderShipped, context: ListenerContext) -> None:
        recorder.record("notify", event)

    @registry.listener(OrderShipped, name="test.update_stats")
    async def stats(event: OrderShipped, context: ListenerContext) -> None:
        await context.session.execute(text("SELECT 1"))
        recorder.record("stats", event)

    return registry


FAST = RelayOptions(base_backoff_seconds=0.0, lease_seconds=1, max_attempts=5, poll_seconds=30)


@pytest.fixture(scope="module")
def central_target(layout_factory: LayoutFactory) -> Targets:
    _, targets = layout_factory("go")
    migrate_central(targets.central)
    return targets


@pytest.fixture
async def database(central_target: Targets) -> AsyncIterator[Database]:
    db = Database("central", create_engine(central_target.central.app_url))
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM outbox_events"))
    try:
        yield db
    finally:
        await db.dispose()


async def publish_order(database: Database) -> uuid.UUID:
    order_id = uuid.uuid4()
    async with database.transaction() as session:
        await publish(session, OrderShipped(order_id=order_id))
    return order_id


async def test_rolled_back_transaction_leaves_no_event(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await publish(session, OrderShipped(order_id=uuid.uuid4()))
            raise RuntimeError("business rule failed")
    async with database.transaction() as session:
        assert (await outbox_backlog(session))["pending"] == 0


async def test_committed_event_is_delivered_once_to_each_listener(database: Database) -> None:
    recorder = Recorder()
    relay = OutboxRelay(database, registry_for(recorder), options=FAST)
    order_id = await publish_order(database)
    assert await relay.drain() == 1
    assert await relay.drain() == 0
    assert recorder.calls == {"notify": [order_id], "stats": [order_id]}


async def test_event_survives_a_crash_between_commit_and_relay(
    central_target: Targets, database: Database
) -> None:
    # Process A commits an event and dies before its relay runs.
    crashed = Database("central", create_engine(central_target.central.app_url))
    order_id = await publish_order(crashed)
    await crashed.engine.dispose()
    # Process B starts later; its relay finds and delivers the event.
    recorder = Recorder()
    assert await OutboxRelay(database, registry_for(recorder), options=FAST).drain() == 1
    assert recorder.calls == {"notify": [order_id], "stats": [order_id]}


async def test_failing_listener_is_retried_without_rerunning_the_others(
    database: Database,
) -> None:
    recorder = Recorder(failures_left={"notify": 2})
    relay = OutboxRelay(database, registry_for(recorder), options=FAST)
    order_id = await publish_order(database)
    await relay.drain()
    assert recorder.calls["notify:failed"] == [order_id, order_id]
    assert recorder.calls["notify"] == [order_id]
    assert recorder.calls["stats"] == [order_id]  # delivered once, never re-run
    async with database.transaction() as session:
        row = (
            await session.execute(
                text("SELECT attempts, delivered_at IS NOT NULL AS done FROM outbox_events")
            )
        ).one()
        deliveries: dict[str, int] = dict(
            (await session.execute(text("SELECT listener, attempts FROM outbox_deliveries"))).all()
        )
    assert row.done and row.attempts == 3
    assert deliveries == {"test.notify_customer": 3, "test.update_stats": 1}


async def test_event_claimed_by_a_dead_relay_is_delivered_after_its_lease(
    database: Database,
) -> None:
    recorder = Recorder()
    order_id = await publish_order(database)
    dying = OutboxRelay(database, registry_for(Recorder()), options=FAST)
    claimed = await dying._claim()  # claims, then "dies" before delivering
    assert [event.payload["order_id"] for event in claimed] == [str(order_id)]

    survivor = OutboxRelay(database, registry_for(recorder), options=FAST)
    assert await survivor.drain() == 0  # the lease still protects the claim
    await asyncio.sleep(1.2)
    assert await survivor.drain() == 1
    assert recorder.calls["notify"] == [order_id]


async def test_an_events_turn_renews_its_lease_and_names_who_has_it(database: Database) -> None:
    relay = OutboxRelay(database, registry_for(Recorder()), options=replace(FAST, lease_seconds=30))
    await publish_order(database)
    [event] = await relay._claim()
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE outbox_events SET locked_until = now() WHERE id = :id"), {"id": event.id}
        )
        await session.execute(
            text(
                "INSERT INTO outbox_deliveries (event_id, listener, status) VALUES "
                "(:e, 'test.update_stats', 'delivered'), (:e, 'test.notify_customer', 'failed')"
            ),
            {"e": event.event_id},
        )
    assert await relay._take_turn(event) == {"test.update_stats"}
    async with database.transaction() as session:
        left = (
            await session.execute(
                text("SELECT locked_until - now() FROM outbox_events WHERE id = :id"),
                {"id": event.id},
            )
        ).scalar_one()
    assert left > timedelta(seconds=25)


async def test_event_is_parked_as_dead_after_max_attempts(database: Database) -> None:
    recorder = Recorder(failures_left={"notify": 99})
    relay = OutboxRelay(database, registry_for(recorder), options=FAST)
    await publish_order(database)
    await relay.drain()
    assert len(recorder.calls["notify:failed"]) == FAST.max_attempts
    async with database.transaction() as session:
        assert await outbox_backlog(session) == {"pending": 0, "dead": 1}
        error = (await session.execute(text("SELECT last_error FROM outbox_events"))).scalar()
    assert "notify is down" in str(error)


async def test_commit_nudges_a_running_relay(database: Database) -> None:
    recorder = Recorder()
    relay = OutboxRelay(database, registry_for(recorder), options=FAST)  # polls every 30 s
    database.after_commit_hooks.append(relay.after_commit)
    task = asyncio.create_task(relay.run_forever())
    try:
        await asyncio.sleep(0.1)
        order_id = await publish_order(database)
        for _ in range(50):
            if recorder.calls.get("stats"):
                break
            await asyncio.sleep(0.05)
        assert recorder.calls.get("stats") == [order_id]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
