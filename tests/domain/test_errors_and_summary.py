"""The error hierarchy and the remaining corners of the summary arithmetic."""

from __future__ import annotations

import logging
import uuid

import pytest

from desktop.domain.errors import (
    AuthError,
    IllegalTransition,
    MetadataError,
    RollbackError,
    ServiceError,
    SignedUrlExpired,
    StorageError,
    UploaderError,
    ValidationError,
)
from desktop.domain.events import UploadRowInserted
from desktop.domain.progress import ThroughputMeter, UploadSummary
from desktop.domain.states import UploadStatus, new_upload_id
from desktop.domain.store import LoggingObserver, UploadStore
from tests.helpers.fakes import FakeClock


def test_hierarchy() -> None:
    for kind in (ValidationError, ServiceError, RollbackError, IllegalTransition):
        assert issubclass(kind, UploaderError)
    for kind in (StorageError, MetadataError, AuthError):
        assert issubclass(kind, ServiceError)
    assert issubclass(SignedUrlExpired, StorageError)


@pytest.mark.parametrize(
    ("status", "transient"),
    [(None, True), (500, True), (503, True), (429, True), (409, False), (404, False)],
    ids=["network", "500", "503", "429", "409", "404"],
)
def test_transient_errors(status: int | None, transient: bool) -> None:
    assert StorageError("x", status=status, code="c").is_transient is transient


def test_error_text_and_fields() -> None:
    upload_id = uuid.uuid4()
    error = MetadataError(
        "duplicate", status=409, code="23505", details="Key (id)", hint=None, upload_id=upload_id
    )
    assert str(error) == "duplicate (23505, 409)"
    assert (error.details, error.hint, error.upload_id) == ("Key (id)", None, upload_id)
    assert str(StorageError("down", status=None, code="network")) == "down (network, network)"
    assert ValidationError("too big").message == "too big"


def test_summary_corners() -> None:
    empty_failed = UploadSummary(
        total_bytes=0, bytes_done=0, counts={}, failed=1, insert_failures=0
    )
    assert empty_failed.fraction_done == 0.0
    stalled = UploadSummary(total_bytes=10, bytes_done=5, counts={}, failed=0, insert_failures=0)
    assert stalled.eta_s is None
    finished = UploadSummary(total_bytes=10, bytes_done=10, counts={}, failed=0, insert_failures=0)
    assert (finished.eta_s, finished.fraction_done) == (0.0, 1.0)
    clock = FakeClock()
    meter = ThroughputMeter(clock)
    meter.record(0)
    meter.record(100)  # no time has passed
    assert meter.bytes_per_s() == 0.0
    for _ in range(5):
        clock.advance(10)  # older samples fall out of the window
        meter.record(100)
    assert meter.bytes_per_s() == 0.0


def test_cancelled_uploads_are_left_out_of_the_totals() -> None:
    from desktop.domain.events import UploadCancelRequested, UploadQueued
    from desktop.domain.progress import summarize
    from desktop.domain.states import DocumentId

    store = UploadStore()
    upload_id = new_upload_id()
    store.dispatch(UploadQueued(upload_id, DocumentId(uuid.uuid4()), "f", "p", "text/plain", 10))
    store.dispatch(UploadCancelRequested(upload_id))
    summary = summarize(store.snapshot().values())
    assert (summary.total_bytes, summary.counts) == (0, {UploadStatus.CANCELLED: 1})


def test_status_kinds_and_ids() -> None:
    assert new_upload_id() != new_upload_id()
    assert UploadStatus.UPLOADING.is_active
    assert not UploadStatus.DONE.is_active
    assert UploadStatus.DONE.is_terminal


@pytest.mark.allow_warning_logs
def test_logging_observer_reports_illegal_transitions(caplog: pytest.LogCaptureFixture) -> None:
    store = UploadStore(LoggingObserver())
    unsubscribe = store.subscribe(lambda state: None)
    unsubscribe()
    unsubscribe()  # twice is harmless
    with caplog.at_level(logging.ERROR), pytest.raises(IllegalTransition):
        store.dispatch(UploadRowInserted(new_upload_id()))
    assert "illegal transition" in caplog.text
    caplog.clear()
