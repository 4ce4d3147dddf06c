"""The upload store and its transition table: table-driven, pure, no loop and no Qt."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.domain.errors import IllegalTransition
from desktop.domain.events import (
    UploadCancelRequested,
    UploadEvent,
    UploadFailed,
    UploadObjectStored,
    UploadProgressed,
    UploadQueued,
    UploadRetryRequested,
    UploadRollbackFailed,
    UploadRolledBack,
    UploadRowInserted,
    UploadRowInsertFailed,
    UploadStarted,
)
from desktop.domain.progress import ProgressThrottle, ThroughputMeter, summarize
from desktop.domain.states import DocumentId, UploadId, UploadState, UploadStatus
from desktop.domain.store import LoggingObserver, StoreClosed, UploadStore
from desktop.domain.transitions import LEGAL_TRANSITIONS, reduce
from tests.helpers.fakes import FakeClock, RecordingObserver

S = UploadStatus
DOC = DocumentId(uuid.UUID(int=1))


def uid(n: int) -> UploadId:
    return UploadId(uuid.UUID(int=100 + n))


def queued(n: int = 0, size: int = 100) -> UploadQueued:
    return UploadQueued(uid(n), DOC, f"f{n}.txt", f"{DOC}/{uid(n)}/f{n}.txt", "text/plain", size)


def expect_states(
    seed: UploadState | None, events: Sequence[UploadEvent], expected: Sequence[S]
) -> UploadState:
    """bloc's blocTest, in one line: seed + events gives these statuses, in order."""
    state = seed
    seen = []
    for event in events:
        state = reduce(state, event)
        seen.append(state.status)
    assert seen == list(expected)
    assert state is not None
    return state


U = uid(0)
CASES = [
    ("happy path", [queued(), UploadStarted(U), UploadProgressed(U, 50), UploadObjectStored(U, "ab"), UploadRowInserted(U)],
     [S.QUEUED, S.UPLOADING, S.UPLOADING, S.REGISTERING, S.DONE]),
    ("rolled back", [queued(), UploadStarted(U), UploadObjectStored(U, "ab"), UploadRowInsertFailed(U, "fk"), UploadRolledBack(U)],
     [S.QUEUED, S.UPLOADING, S.REGISTERING, S.ROLLING_BACK, S.ROLLED_BACK]),
    ("orphaned", [queued(), UploadStarted(U), UploadObjectStored(U, "ab"), UploadRowInsertFailed(U, "x"), UploadRollbackFailed(U, "y")],
     [S.QUEUED, S.UPLOADING, S.REGISTERING, S.ROLLING_BACK, S.ORPHANED]),
    ("failed then retried", [queued(), UploadStarted(U), UploadFailed(U, "503", True), UploadRetryRequested(U), UploadStarted(U)],
     [S.QUEUED, S.UPLOADING, S.FAILED, S.QUEUED, S.UPLOADING]),
    ("cancelled while queued", [queued(), UploadCancelRequested(U), UploadRetryRequested(U)],
     [S.QUEUED, S.CANCELLED, S.QUEUED]),
    ("cancelled while uploading", [queued(), UploadStarted(U), UploadCancelRequested(U)],
     [S.QUEUED, S.UPLOADING, S.CANCELLED]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("events", "expected"), [(e, x) for _, e, x in CASES], ids=[n for n, _, _ in CASES]
)
def test_legal_sequences(events: list[UploadEvent], expected: list[S]) -> None:
    expect_states(None, events, expected)


ILLEGAL = [
    ("insert before upload", [queued(), UploadRowInserted(U)], "can't UploadRowInserted while queued"),
    ("cancel after stored", [queued(), UploadStarted(U), UploadObjectStored(U, "a"), UploadCancelRequested(U)], "can't UploadCancelRequested while registering"),
    ("retry when done", [queued(), UploadStarted(U), UploadObjectStored(U, "a"), UploadRowInserted(U), UploadRetryRequested(U)], "can't UploadRetryRequested while done"),
    ("queued twice", [queued(), queued()], "can't UploadQueued while queued"),
    ("unknown upload", [UploadStarted(U)], "can't UploadStarted an unknown upload"),
    ("progress after done", [queued(), UploadStarted(U), UploadObjectStored(U, "a"), UploadRowInserted(U), UploadProgressed(U, 1)], "can't UploadProgressed while done"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("events", "message"), [(e, m) for _, e, m in ILLEGAL], ids=[n for n, _, _ in ILLEGAL]
)
def test_illegal_transitions_raise(events: list[UploadEvent], message: str) -> None:
    state = None
    for event in events[:-1]:
        state = reduce(state, event)
    with pytest.raises(IllegalTransition, match=message) as raised:
        reduce(state, events[-1])
    assert raised.value.upload_id == U


def test_progress_is_clamped_and_stored_means_all_bytes() -> None:
    state = expect_states(
        None,
        [queued(size=100), UploadStarted(U), UploadProgressed(U, 500)],
        [S.QUEUED, S.UPLOADING, S.UPLOADING],
    )
    assert state.bytes_sent == 100
    stored = reduce(reduce(state, UploadProgressed(U, -5)), UploadObjectStored(U, "sha"))
    assert (stored.bytes_sent, stored.sha256) == (100, "sha")


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(LEGAL_TRANSITIONS) == set(UploadStatus)
    assert all(
        status.is_terminal
        for status in UploadStatus
        if not LEGAL_TRANSITIONS[status] or status in {S.FAILED, S.CANCELLED, S.ROLLED_BACK}
    )


def test_store_notifies_only_changes_and_refuses_after_close() -> None:
    observer = RecordingObserver()
    store = UploadStore(observer)
    heard: list[UploadState] = []
    unsubscribe = store.subscribe(heard.append)
    store.dispatch(queued(size=10))
    store.dispatch(UploadStarted(U))
    store.dispatch(UploadProgressed(U, 0))  # same state: no notification
    store.dispatch(UploadProgressed(U, 5))
    assert [s.bytes_sent for s in heard] == [0, 0, 5]
    assert [type(t.event).__name__ for t in observer.transitions] == [
        "UploadQueued",
        "UploadStarted",
        "UploadProgressed",
    ]
    snapshot = store.snapshot()
    with pytest.raises(IllegalTransition):
        store.dispatch(UploadRowInserted(U))
    assert len(observer.errors) == 1
    unsubscribe()
    store.dispatch(UploadProgressed(U, 6))
    assert len(heard) == 3
    assert snapshot[U].bytes_sent == 5
    with pytest.raises(TypeError):
        snapshot[U] = snapshot[U]  # type: ignore[index]
    store.close()
    with pytest.raises(StoreClosed):
        store.dispatch(UploadProgressed(U, 7))
    assert store.get(U) is not None


def test_logging_observer_writes_one_line_per_transition(caplog: pytest.LogCaptureFixture) -> None:
    store = UploadStore(LoggingObserver())
    with caplog.at_level("DEBUG", logger="desktop.domain.store"):
        store.dispatch(queued())
        store.dispatch(UploadStarted(U))
    assert [(r.event, r.status_from, r.status_to) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("UploadQueued", None, "queued"),
        ("UploadStarted", "queued", "uploading"),
    ]


def test_progress_throttle_allows_ten_per_second_and_always_the_last() -> None:
    clock = FakeClock()
    throttle = ProgressThrottle(clock)
    allowed = []
    for step in range(100):  # 100 reports over one second
        allowed.append(throttle.should_report(U, step, 1000))
        clock.advance(0.01)
    assert sum(allowed) == 10
    assert throttle.should_report(U, 1000, 1000)
    throttle.forget(U)
    assert throttle.should_report(U, 1, 1000)


def test_summary_counts_failures_apart_and_never_reaches_100_percent_with_one_failed() -> None:
    store = UploadStore()
    for n in range(3):
        store.dispatch(queued(n, size=100))
        store.dispatch(UploadStarted(uid(n)))
    store.dispatch(UploadObjectStored(uid(0), "a"))
    store.dispatch(UploadRowInserted(uid(0)))
    store.dispatch(UploadObjectStored(uid(1), "b"))
    store.dispatch(UploadRowInsertFailed(uid(1), "insert failed"))
    store.dispatch(UploadProgressed(uid(2), 40))
    summary = summarize(store.snapshot().values(), bytes_per_s=20.0)
    assert (summary.total_bytes, summary.bytes_done, summary.failed, summary.insert_failures) == (
        300,
        140,
        1,
        1,
    )
    assert summary.counts == {S.DONE: 1, S.ROLLING_BACK: 1, S.UPLOADING: 1}
    assert summary.eta_s == pytest.approx(8.0)
    store.dispatch(UploadProgressed(uid(2), 100))
    store.dispatch(UploadObjectStored(uid(2), "c"))
    store.dispatch(UploadRowInserted(uid(2)))
    assert summarize(store.snapshot().values()).fraction_done < 1.0
    assert summarize([]).fraction_done == 1.0


def test_throughput_meter_uses_the_window() -> None:
    clock = FakeClock()
    meter = ThroughputMeter(clock, window_s=5)
    assert meter.bytes_per_s() == 0.0
    for total in (0, 100, 200, 300):
        meter.record(total)
        clock.advance(1)
    assert meter.bytes_per_s() == pytest.approx(100.0)


EVENT_KINDS = [
    "start",
    "progress",
    "stored",
    "inserted",
    "failed",
    "insert_failed",
    "rolled_back",
    "rollback_failed",
    "cancel",
    "retry",
]


def make_event(kind: str, upload_id: UploadId, amount: int) -> UploadEvent:
    makers: dict[str, Callable[[], UploadEvent]] = {
        "start": lambda: UploadStarted(upload_id),
        "progress": lambda: UploadProgressed(upload_id, amount),
        "stored": lambda: UploadObjectStored(upload_id, f"sha-{upload_id}"),
        "inserted": lambda: UploadRowInserted(upload_id),
        "failed": lambda: UploadFailed(upload_id, f"failed {upload_id}", True),
        "insert_failed": lambda: UploadRowInsertFailed(upload_id, f"insert {upload_id}"),
        "rolled_back": lambda: UploadRolledBack(upload_id),
        "rollback_failed": lambda: UploadRollbackFailed(upload_id, f"orphan {upload_id}"),
        "cancel": lambda: UploadCancelRequested(upload_id),
        "retry": lambda: UploadRetryRequested(upload_id),
    }
    return makers[kind]()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from(EVENT_KINDS), st.integers(0, 200)), max_size=80
    )
)
def test_interleaved_events_never_mix_uploads_or_reach_illegal_states(
    steps: list[tuple[int, str, int]],
) -> None:
    store = UploadStore()
    for n in range(5):
        store.dispatch(queued(n, size=100))
    for n, kind, amount in steps:
        before = store.snapshot()
        event = make_event(kind, uid(n), amount)
        try:
            store.dispatch(event)
        except IllegalTransition:
            assert store.snapshot() == before  # a refused event changes nothing
            continue
        after = store.snapshot()
        for other in range(5):
            if other != n:
                assert after[uid(other)] == before[uid(other)]
        state = after[uid(n)]
        assert (
            state.status in LEGAL_TRANSITIONS[before[uid(n)].status]
            or state.status == before[uid(n)].status
        )
        assert state.upload_id == uid(n)
        assert state.object_path.split("/")[1] == str(uid(n))
        assert 0 <= state.bytes_sent <= state.size_bytes
        if state.error_message is not None:
            assert str(uid(n)) in state.error_message
        if state.sha256 is not None:
            assert state.sha256 == f"sha-{uid(n)}"
