"""Waiting on a condition with a deadline (never a bare sleep)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

POLL_S = 0.02


def wait_until(
    condition: Callable[[], bool], *, timeout_s: float = 20.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        pause.wait(POLL_S)
