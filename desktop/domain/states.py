"""The state of one upload, keyed by its client-generated UUID. A Qt-free zone (no I/O)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum
from typing import NewType

__all__ = ["DocumentId", "UploadId", "UploadState", "UploadStatus", "new_upload_id"]

UploadId = NewType("UploadId", uuid.UUID)
DocumentId = NewType("DocumentId", uuid.UUID)


def new_upload_id() -> UploadId:
    return UploadId(uuid.uuid4())


class UploadStatus(Enum):
    QUEUED = "queued"
    UPLOADING = "uploading"
    REGISTERING = "registering"  # the object is stored; the metadata row is being inserted
    DONE = "done"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"  # the insert failed for good; deleting the object
    ROLLED_BACK = "rolled_back"
    ORPHANED = "orphaned"  # rollback gave up; an incident was logged for reconciliation
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        return self in _ACTIVE


_TERMINAL = frozenset(
    {
        UploadStatus.DONE,
        UploadStatus.FAILED,
        UploadStatus.ROLLED_BACK,
        UploadStatus.ORPHANED,
        UploadStatus.CANCELLED,
    }
)
_ACTIVE = frozenset({UploadStatus.UPLOADING, UploadStatus.REGISTERING, UploadStatus.ROLLING_BACK})


@dataclass(frozen=True, slots=True)
class UploadState:
    """Everything the UI shows about one upload. Immutable: every change is a new state."""

    upload_id: UploadId
    document_id: DocumentId
    file_name: str
    object_path: str
    content_type: str
    size_bytes: int
    status: UploadStatus = UploadStatus.QUEUED
    bytes_sent: int = 0
    sha256: str | None = None
    error_message: str | None = None
    is_retryable: bool = False
    attempt: int = 1
