"""The upload store (the BLoC analogue): events in, immutable per-upload states out.
A Qt-free zone (no I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from desktop.domain.errors import IllegalTransition
from desktop.domain.events import UploadEvent
from desktop.domain.states import UploadId, UploadState
from desktop.domain.transitions import reduce

__all__ = [
    "LoggingObserver",
    "StoreClosed",
    "StoreObserver",
    "Transition",
    "UploadStore",
]

log = logging.getLogger(__name__)

Subscriber = Callable[[UploadState], None]


@dataclass(frozen=True, slots=True)
class Transition:
    current: UploadState | None
    event: UploadEvent
    next: UploadState


class StoreObserver(Protocol):
    def on_transition(self, transition: Transition) -> None: ...

    def on_error(self, event: UploadEvent, error: IllegalTransition) -> None: ...


class StoreClosed(RuntimeError):
    """``dispatch`` after ``close``."""


class UploadStore:
    """Holds one state per upload. Subscribers hear each changed state (never an unchanged one)."""

    def __init__(self, observer: StoreObserver | None = None) -> None:
        self._states: dict[UploadId, UploadState] = {}
        self._subscribers: list[Subscriber] = []
        self._observer = observer
        self._closed = False

    def dispatch(self, event: UploadEvent) -> UploadState:
        """Apply ``event``; returns the new state.

        Raises:
            IllegalTransition: the event is not legal in the upload's current state.
            StoreClosed: the store was closed.
        """
        if self._closed:
            raise StoreClosed(f"can't {type(event).__name__}: the store is closed")
        current = self._states.get(event.upload_id)
        try:
            new = reduce(current, event)
        except IllegalTransition as error:
            if self._observer is not None:
                self._observer.on_error(event, error)
            raise
        if new == current:
            return new
        self._states[event.upload_id] = new
        if self._observer is not None:
            self._observer.on_transition(Transition(current, event, new))
        for subscriber in list(self._subscribers):
            subscriber(new)
        return new

    def get(self, upload_id: UploadId) -> UploadState | None:
        return self._states.get(upload_id)

    def snapshot(self) -> Mapping[UploadId, UploadState]:
        """A read-only copy: later dispatches do not change it."""
        return MappingProxyType(dict(self._states))

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every changed state; returns the function that unsubscribes."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def close(self) -> None:
        self._closed = True
        self._subscribers.clear()


class LoggingObserver:
    """One structured log line per transition, like bloc's AppBlocObserver."""

    def on_transition(self, transition: Transition) -> None:
        log.debug(
            "upload %s: %s",
            transition.next.upload_id,
            type(transition.event).__name__,
            extra={
                "upload_id": str(transition.next.upload_id),
                "event": type(transition.event).__name__,
                "status_from": transition.current.status.value if transition.current else None,
                "status_to": transition.next.status.value,
            },
        )

    def on_error(self, event: UploadEvent, error: IllegalTransition) -> None:
        log.error("illegal transition: %s", error, extra={"upload_id": str(event.upload_id)})
