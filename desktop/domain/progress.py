"""Progress arithmetic: dispatch throttling, throughput and the aggregate view.
A Qt-free zone (no I/O): time comes from an injected clock."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from desktop.domain.states import UploadId, UploadState, UploadStatus

__all__ = [
    "MAX_PROGRESS_EVENTS_PER_S",
    "ProgressThrottle",
    "ThroughputMeter",
    "UploadSummary",
    "summarize",
]

MAX_PROGRESS_EVENTS_PER_S = 10


class ProgressThrottle:
    """Lets through at most one progress report per upload per interval (and always the last)."""

    def __init__(
        self, clock: Callable[[], float], max_per_s: float = MAX_PROGRESS_EVENTS_PER_S
    ) -> None:
        self._clock = clock
        self._interval_s = 1.0 / max_per_s
        self._last: dict[UploadId, float] = {}

    def should_report(self, upload_id: UploadId, bytes_sent: int, size_bytes: int) -> bool:
        now = self._clock()
        last = self._last.get(upload_id)
        if bytes_sent >= size_bytes or last is None or now - last >= self._interval_s:
            self._last[upload_id] = now
            return True
        return False

    def forget(self, upload_id: UploadId) -> None:
        self._last.pop(upload_id, None)


class ThroughputMeter:
    """Bytes per second over a sliding window of (time, total bytes) samples."""

    def __init__(self, clock: Callable[[], float], window_s: float = 5.0) -> None:
        self._clock = clock
        self._window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def record(self, total_bytes_done: int) -> None:
        now = self._clock()
        self._samples.append((now, total_bytes_done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window_s:
            self._samples.popleft()

    def bytes_per_s(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass(frozen=True, slots=True)
class UploadSummary:
    """The aggregate view: failed uploads are counted apart and never count as progress."""

    total_bytes: int
    bytes_done: int
    counts: dict[UploadStatus, int]
    failed: int
    insert_failures: int
    bytes_per_s: float = 0.0

    @property
    def fraction_done(self) -> float:
        """Progress over the uploads that can still complete; below 1.0 while any failed."""
        if self.total_bytes == 0:
            return 0.0 if self.failed else 1.0
        fraction = self.bytes_done / self.total_bytes
        return min(fraction, 0.999) if self.failed else fraction

    @property
    def eta_s(self) -> float | None:
        remaining = self.total_bytes - self.bytes_done
        if remaining <= 0:
            return 0.0
        return remaining / self.bytes_per_s if self.bytes_per_s > 0 else None


_FAILED = {
    UploadStatus.FAILED,
    UploadStatus.ROLLED_BACK,
    UploadStatus.ORPHANED,
    UploadStatus.ROLLING_BACK,
}
_INSERT_FAILED = {UploadStatus.ROLLING_BACK, UploadStatus.ROLLED_BACK, UploadStatus.ORPHANED}


def summarize(states: Iterable[UploadState], bytes_per_s: float = 0.0) -> UploadSummary:
    total = done = failed = insert_failures = 0
    counts: Counter[UploadStatus] = Counter()
    for state in states:
        counts[state.status] += 1
        if state.status is UploadStatus.CANCELLED:
            continue
        total += state.size_bytes
        if state.status in _FAILED:
            failed += 1
            insert_failures += state.status in _INSERT_FAILED
        else:
            done += state.bytes_sent if state.status is not UploadStatus.DONE else state.size_bytes
    return UploadSummary(
        total_bytes=total,
        bytes_done=done,
        counts=dict(counts),
        failed=failed,
        insert_failures=insert_failures,
        bytes_per_s=bytes_per_s,
    )
