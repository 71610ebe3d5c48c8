"""`kill -USR1 <pid>` on a server or worker prints every asyncio task with its stack to stderr:
what each request, job and listener is waiting on when a process seems stuck (incident
playbook "the API stops answering", chapter 22). Reading task stacks is cheap and changes
nothing, so it is safe on a production process."""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from types import FrameType
from typing import Any

DUMP_SIGNAL = signal.SIGUSR1


def _await_chain(awaitable: Any) -> Iterator[FrameType]:
    """The frames of a suspended coroutine and of everything it awaits, outermost first
    (`Task.print_stack` shows only the outermost one)."""
    seen = 0
    while awaitable is not None and seen < 200:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is not None:
            yield frame
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
        seen += 1


def task_report() -> str:
    """Every task of the running loop, each with the frames it is suspended in."""
    out = io.StringIO()
    tasks = sorted(asyncio.all_tasks(), key=lambda task: task.get_name())
    out.write(f"=== {len(tasks)} asyncio tasks at {datetime.now(UTC).isoformat()} ===\n")
    for task in tasks:
        out.write(f"--- {task.get_name()}\n")
        for frame in _await_chain(task.get_coro()):
            code = frame.f_code
            out.write(f"    {code.co_filename}:{frame.f_lineno} {code.co_qualname}\n")
    out.write("=== end of tasks ===\n")
    return out.getvalue()


def _dump_tasks() -> None:
    sys.stderr.write(task_report())
    sys.stderr.flush()


def install_task_dump(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Answer SIGUSR1 with a task report; a no-op where signals cannot be handled (Windows,
    a loop outside the main thread)."""
    target = loop or asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        target.add_signal_handler(DUMP_SIGNAL, _dump_tasks)
