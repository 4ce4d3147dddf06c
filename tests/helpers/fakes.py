"""Hand-written fakes with real behaviour (no mocks)."""

from __future__ import annotations

import asyncio

from desktop.domain.errors import IllegalTransition
from desktop.domain.events import UploadEvent
from desktop.domain.store import Transition


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """An injected sleep that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await yield_to_loop()


async def yield_to_loop() -> None:
    """Let every other ready callback run once (what ``sleep(0)`` does), without waiting."""
    loop = asyncio.get_running_loop()
    turn: asyncio.Future[None] = loop.create_future()
    loop.call_soon(turn.set_result, None)
    await turn


class RecordingObserver:
    def __init__(self) -> None:
        self.transitions: list[Transition] = []
        self.errors: list[tuple[UploadEvent, IllegalTransition]] = []

    def on_transition(self, transition: Transition) -> None:
        self.transitions.append(transition)

    def on_error(self, event: UploadEvent, error: IllegalTransition) -> None:
        self.errors.append((event, error))
