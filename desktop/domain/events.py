"""Events: what happened to an upload, named in the past tense. A Qt-free zone (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from desktop.domain.states import DocumentId, UploadId

__all__ = [
    "UploadCancelRequested",
    "UploadEvent",
    "UploadFailed",
    "UploadObjectStored",
    "UploadProgressed",
    "UploadQueued",
    "UploadRetryRequested",
    "UploadRolledBack",
    "UploadRollbackFailed",
    "UploadRowInsertFailed",
    "UploadRowInserted",
    "UploadStarted",
]


@dataclass(frozen=True, slots=True)
class UploadQueued:
    upload_id: UploadId
    document_id: DocumentId
    file_name: str
    object_path: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class UploadStarted:
    upload_id: UploadId


@dataclass(frozen=True, slots=True)
class UploadProgressed:
    upload_id: UploadId
    bytes_sent: int


@dataclass(frozen=True, slots=True)
class UploadObjectStored:
    upload_id: UploadId
    sha256: str


@dataclass(frozen=True, slots=True)
class UploadRowInserted:
    upload_id: UploadId


@dataclass(frozen=True, slots=True)
class UploadFailed:
    """The object could not be stored (before any row existed)."""

    upload_id: UploadId
    reason: str
    is_retryable: bool


@dataclass(frozen=True, slots=True)
class UploadRowInsertFailed:
    """The metadata insert failed for good after the object was stored: roll back."""

    upload_id: UploadId
    reason: str


@dataclass(frozen=True, slots=True)
class UploadRolledBack:
    upload_id: UploadId


@dataclass(frozen=True, slots=True)
class UploadRollbackFailed:
    upload_id: UploadId
    reason: str


@dataclass(frozen=True, slots=True)
class UploadCancelRequested:
    upload_id: UploadId


@dataclass(frozen=True, slots=True)
class UploadRetryRequested:
    upload_id: UploadId


UploadEvent = (
    UploadQueued
    | UploadStarted
    | UploadProgressed
    | UploadObjectStored
    | UploadRowInserted
    | UploadFailed
    | UploadRowInsertFailed
    | UploadRolledBack
    | UploadRollbackFailed
    | UploadCancelRequested
    | UploadRetryRequested
)
