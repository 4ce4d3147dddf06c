"""A long run of qasync callbacks leaves None's reference count alone (PySide6 6.12.0 did not)."""

from __future__ import annotations

import asyncio
import sys

import qasync
from pytestqt.qtbot import QtBot

from tests.helpers.fakes import yield_to_loop


def test_scheduling_many_callbacks_does_not_drain_nones_refcount(
    qtbot: QtBot, qloop: qasync.QEventLoop
) -> None:
    done = asyncio.Event()
    before = sys.getrefcount(None)

    async def churn() -> None:
        for _ in range(5000):
            await yield_to_loop()  # one qasync timer started and killed each time
        done.set()

    task = qloop.create_task(churn())
    qtbot.waitUntil(task.done, timeout=30_000)
    assert done.is_set()
    assert sys.getrefcount(None) >= before - 100  # 6.12.0 lost about one per callback
