"""The legal moves between upload statuses, in one table, and the pure reducer. A Qt-free zone."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import assert_never

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
from desktop.domain.states import UploadState, UploadStatus

__all__ = ["LEGAL_TRANSITIONS", "reduce"]

S = UploadStatus

LEGAL_TRANSITIONS: Mapping[UploadStatus, frozenset[UploadStatus]] = {
    S.QUEUED:       frozenset({S.UPLOADING, S.CANCELLED}),
    S.UPLOADING:    frozenset({S.UPLOADING, S.REGISTERING, S.FAILED, S.CANCELLED}),
    S.REGISTERING:  frozenset({S.DONE, S.ROLLING_BACK}),
    S.ROLLING_BACK: frozenset({S.ROLLED_BACK, S.ORPHANED}),
    S.FAILED:       frozenset({S.QUEUED}),
    S.ROLLED_BACK:  frozenset({S.QUEUED}),
    S.CANCELLED:    frozenset({S.QUEUED}),
    S.DONE:         frozenset(),
    S.ORPHANED:     frozenset(),
}  # fmt: skip


def _event_name(event: UploadEvent) -> str:
    return type(event).__name__


def _move(
    state: UploadState, event: UploadEvent, status: UploadStatus, **changes: object
) -> UploadState:
    if status not in LEGAL_TRANSITIONS[state.status]:
        raise IllegalTransition(
            f"can't {_event_name(event)} while {state.status.value}", upload_id=state.upload_id
        )
    return dataclasses.replace(state, status=status, **changes)  # type: ignore[arg-type]  # fields checked by dataclasses


def _initial(event: UploadQueued) -> UploadState:
    return UploadState(
        upload_id=event.upload_id,
        document_id=event.document_id,
        file_name=event.file_name,
        object_path=event.object_path,
        content_type=event.content_type,
        size_bytes=event.size_bytes,
    )


def reduce(state: UploadState | None, event: UploadEvent) -> UploadState:
    """The state after ``event`` (pure); ``IllegalTransition`` for a move not in the table."""
    if state is None:
        if isinstance(event, UploadQueued):
            return _initial(event)
        raise IllegalTransition(
            f"can't {_event_name(event)} an unknown upload", upload_id=event.upload_id
        )
    match event:
        case UploadStarted():
            return _move(state, event, S.UPLOADING, bytes_sent=0, error_message=None)
        case UploadProgressed(bytes_sent=bytes_sent):
            if state.status is not S.UPLOADING:
                return _move(state, event, S.UPLOADING)
            return dataclasses.replace(state, bytes_sent=min(max(bytes_sent, 0), state.size_bytes))
        case UploadObjectStored(sha256=sha256):
            return _move(state, event, S.REGISTERING, bytes_sent=state.size_bytes, sha256=sha256)
        case UploadRowInserted():
            return _move(state, event, S.DONE)
        case UploadFailed(reason=reason, is_retryable=is_retryable):
            return _move(state, event, S.FAILED, error_message=reason, is_retryable=is_retryable)
        case UploadRowInsertFailed(reason=reason):
            return _move(state, event, S.ROLLING_BACK, error_message=reason, is_retryable=True)
        case UploadRolledBack():
            return _move(state, event, S.ROLLED_BACK)
        case UploadRollbackFailed(reason=reason):
            return _move(state, event, S.ORPHANED, error_message=reason, is_retryable=False)
        case UploadCancelRequested():
            return _move(state, event, S.CANCELLED, error_message=None, is_retryable=True)
        case UploadRetryRequested():
            return _move(
                state, event, S.QUEUED, bytes_sent=0, error_message=None, attempt=state.attempt + 1
            )
        case UploadQueued():
            raise IllegalTransition(
                f"can't UploadQueued while {state.status.value}", upload_id=state.upload_id
            )
        case _:  # pragma: no cover - mypy proves every event is handled
            assert_never(event)
