"""`kill -USR1` on a server prints what every task waits on, down to the innermost await."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from garment.platform import diagnostics


async def waits_for_the_pool(event: asyncio.Event) -> None:
    await event.wait()


async def handles_a_request(event: asyncio.Event) -> None:
    await waits_for_the_pool(event)


async def test_the_report_names_every_frame_a_task_is_suspended_in() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(handles_a_request(event), name="request-42")
    await asyncio.sleep(0)
    try:
        report = diagnostics.task_report()
    finally:
        event.set()
        await task
    section = report.split("--- request-42\n", 1)[1].split("---", 1)[0]
    assert "handles_a_request" in section
    assert "waits_for_the_pool" in section  # the innermost frame, not only the outermost
    assert "Event.wait" in section


async def test_sigusr1_writes_the_report_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    loop = asyncio.get_running_loop()
    diagnostics.install_task_dump(loop)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.sleep(0.05)
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
    assert "asyncio tasks at" in capfd.readouterr().err
