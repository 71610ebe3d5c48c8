"""Background loops that survive their failures, and a record of them other processes can read.

A process's long-running loops (the job worker, the outbox relay) run under a `Supervisor`: a
loop that raises or returns is restarted with exponential backoff (0.5 s doubling to 30 s, reset
after a minute of healthy running), so a central database blip does not leave a server without
its worker until someone restarts it. Each loop reports progress (`Supervisor.progress(name)`);
liveness, last progress and restarts are Prometheus metrics, and every few seconds the process
writes them to `process_heartbeats` in central, so `/readyz` of any process and `garment doctor`
see whether a job worker is alive anywhere (incident playbook 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Index, String, delete, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from garment.platform.db import CentralBase, Database
from garment.platform.metrics import BACKGROUND_ALIVE, BACKGROUND_PROGRESS, BACKGROUND_RESTARTS

logger = structlog.get_logger(__name__)

FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0
HEARTBEAT_SECONDS = 10.0
# A process that has not written for this long is gone (crashed, killed, partitioned).
HEARTBEAT_STALE_SECONDS = 3 * HEARTBEAT_SECONDS
FORGET_AFTER = timedelta(days=1)
JOB_WORKER = "job-worker"
OUTBOX_RELAY = "outbox-relay"

LoopFactory = Callable[[], Awaitable[None]]


class ProcessHeartbeat(CentralBase):
    """The last word of each server or worker process about its background loops."""

    __tablename__ = "process_heartbeats"
    __table_args__ = (Index("ix_process_heartbeats_seen_at", "seen_at"),)

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid:start
    role: Mapped[str] = mapped_column(String(32))
    loops: Mapped[dict[str, Any]] = mapped_column(JSONB)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]


@dataclass
class LoopState:
    name: str
    factory: LoopFactory
    task: asyncio.Task[None] | None = None
    alive: bool = False
    restarts: int = 0
    last_progress: float | None = None  # unix time
    last_error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, Any]:
        return {
            "alive": self.alive,
            "restarts": self.restarts,
            "last_progress": self.last_progress,
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    process_id: str
    role: str
    loops: dict[str, Any]
    seen_at: datetime

    def runs_alive(self, loop: str) -> bool:
        return bool(self.loops.get(loop, {}).get("alive"))


class Supervisor:
    def __init__(self, database: Database, role: str) -> None:
        self.database = database
        self.role = role
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}"
        self.started_at = datetime.now(UTC)
        self._loops: dict[str, LoopState] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()  # a loop went up or down: beat now, not in 10 s
        self._stopping = False

    # --- loops -----------------------------------------------------------------------------

    def start(self, name: str, factory: LoopFactory) -> None:
        """Run `factory()` as a supervised loop named `name` (restarted when it ends)."""
        state = LoopState(name, factory)
        self._loops[name] = state
        state.task = asyncio.create_task(self._run(state), name=name)
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat_forever(), name="heartbeat")

    def progress(self, name: str) -> None:
        """A loop finished a unit of work (a job, a relay cycle)."""
        state = self._loops.get(name)
        now = time.time()
        if state is not None:
            state.last_progress = now
        BACKGROUND_PROGRESS.labels(name).set(now)

    def loops(self) -> dict[str, dict[str, Any]]:
        return {name: state.snapshot() for name, state in self._loops.items()}

    async def _run(self, state: LoopState) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while not self._stopping:
            state.alive, state.started = True, time.monotonic()
            self._changed.set()
            BACKGROUND_ALIVE.labels(state.name).set(1)
            self.progress(state.name)
            try:
                await state.factory()
                state.last_error = "returned"
                logger.error("background.stopped", task=state.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                state.last_error = f"{type(exc).__name__}: {exc}"[:500]
                logger.exception("background.crashed", task=state.name)
            finally:
                state.alive = False
                self._changed.set()
                BACKGROUND_ALIVE.labels(state.name).set(0)
            if time.monotonic() - state.started >= HEALTHY_AFTER_SECONDS:
                backoff = FIRST_BACKOFF_SECONDS
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            state.restarts += 1
            BACKGROUND_RESTARTS.labels(state.name).inc()
            logger.warning("background.restarting", task=state.name, restarts=state.restarts)

    async def stop(self) -> None:
        self._stopping = True
        tasks = [state.task for state in self._loops.values() if state.task is not None]
        if self._heartbeat is not None:
            tasks.append(self._heartbeat)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._heartbeat = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._forget_self(), timeout=2)
        for state in self._loops.values():
            BACKGROUND_ALIVE.labels(state.name).set(0)

    # --- the record in central ----------------------------------------------------------------

    async def _beat_forever(self) -> None:
        """Beat every HEARTBEAT_SECONDS, and at once when a loop goes up or down, so what
        `doctor` reads is never a state the process has already left. While central is down,
        retry every second: the first beat after it returns ends the outage for `doctor`."""
        while True:
            self._changed.clear()
            wait = HEARTBEAT_SECONDS
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down: the loops notice on their own
                logger.warning("background.heartbeat_failed", error=type(exc).__name__)
                wait = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=wait)

    async def beat(self) -> None:
        now = datetime.now(UTC)
        async with self.database.transaction() as session:
            statement = insert(ProcessHeartbeat).values(
                process_id=self.process_id,
                role=self.role,
                loops=self.loops(),
                started_at=self.started_at,
                seen_at=now,
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[ProcessHeartbeat.process_id],
                    set_={"loops": statement.excluded.loops, "seen_at": now},
                )
            )
            await session.execute(
                delete(ProcessHeartbeat).where(ProcessHeartbeat.seen_at < now - FORGET_AFTER)
            )

    async def _forget_self(self) -> None:
        async with self.database.transaction() as session:
            await session.execute(
                delete(ProcessHeartbeat).where(ProcessHeartbeat.process_id == self.process_id)
            )


async def live_processes(session: AsyncSession) -> list[ProcessStatus]:
    """Processes that wrote a heartbeat recently, newest first."""
    cutoff = datetime.now(UTC) - timedelta(seconds=HEARTBEAT_STALE_SECONDS)
    rows = (
        await session.execute(
            select(ProcessHeartbeat)
            .where(ProcessHeartbeat.seen_at >= cutoff)
            .order_by(ProcessHeartbeat.seen_at.desc())
        )
    ).scalars()
    return [ProcessStatus(r.process_id, r.role, dict(r.loops), r.seen_at) for r in rows]


OLDEST_QUEUED_SQL = text(
    "SELECT coalesce(extract(epoch FROM now() - min(execute_after)), 0) FROM pgqueuer "
    "WHERE status = 'queued' AND execute_after <= now()"
)


async def oldest_queued_job_seconds(session: AsyncSession) -> float:
    """How long the oldest job that is due has waited for a worker (0 when none waits)."""
    return float((await session.execute(OLDEST_QUEUED_SQL)).scalar_one())
