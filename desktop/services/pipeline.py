"""The upload pipeline: validate → journal → upload the object → insert the row → done, with
retried rollback and orphan incidents when the insert fails. A Qt-free zone.

Each upload is its own asyncio task reporting typed events to the store; a semaphore bounds how
many transfers run at once. The row insert that follows a transfer holds no slot, so the next
transfer starts meanwhile and rows of uploads finishing together go to the server as one bulk
insert (``RowBatcher``). With a limit of 1 (the sequential fallback) an upload keeps its slot until
its row is in: one whole upload at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.domain.errors import MetadataError, ServiceError, StorageError
from desktop.domain.events import (
    UploadCancelRequested,
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
from desktop.domain.progress import ProgressThrottle
from desktop.domain.states import DocumentId, UploadId, UploadState, UploadStatus, new_upload_id
from desktop.domain.store import UploadStore
from desktop.services.incidents import IncidentLog, IncidentType
from desktop.services.journal import Journal, JournalKind, Step
from desktop.services.rest_api import RestApi
from desktop.services.retry import ROLLBACK_ATTEMPTS, Sleep, rollback_retrying, transient_retrying
from desktop.services.row_batcher import CONCURRENT_LINGER_S, RowBatcher
from desktop.services.schema import ATTACHMENTS_TABLE
from desktop.services.storage_api import StorageApi, StoredFile
from desktop.services.validation import Candidate

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "UploadLimits",
    "UploadPipeline",
    "concurrency_limit",
]

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 3
MAX_CONCURRENCY = 5


def concurrency_limit(concurrency: int, *, sequential: bool) -> int:
    """The number of uploads allowed in flight: 1 under the sequential fallback flag, else 1–5."""
    if sequential:
        return 1
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}")
    return concurrency


@dataclass(frozen=True, slots=True)
class UploadLimits:
    concurrency: int = DEFAULT_CONCURRENCY
    sequential: bool = False

    @property
    def in_flight(self) -> int:
        return concurrency_limit(self.concurrency, sequential=self.sequential)


class UploadPipeline:
    """Runs uploads for the store. Public surface: ``submit``, ``cancel``, ``retry``, ``wait_idle``,
    ``aclose``; everything that happens is reported to the store as events."""

    def __init__(
        self,
        storage: StorageApi,
        rest: RestApi,
        store: UploadStore,
        journal: Journal,
        incidents: IncidentLog,
        *,
        bucket: str,
        limits: UploadLimits = UploadLimits(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._storage = storage
        self._store = store
        self._journal = journal
        self._incidents = incidents
        self._bucket = bucket
        self._slots = asyncio.Semaphore(limits.in_flight)
        # The fallback flag means one whole upload at a time, its row included.
        self._sequential = limits.in_flight == 1
        self._rows = RowBatcher(
            rest, ATTACHMENTS_TABLE, sleep=sleep,
            linger_s=0.0 if self._sequential else CONCURRENT_LINGER_S,
        )  # fmt: skip
        self._sleep = sleep
        self._throttle = ProgressThrottle(clock)
        self._paths: dict[UploadId, Path] = {}
        self._tasks: dict[UploadId, asyncio.Task[None]] = {}
        self._cancel_requested: set[UploadId] = set()

    @property
    def bucket(self) -> str:
        return self._bucket

    def submit(self, document_id: DocumentId, candidates: Sequence[Candidate]) -> list[UploadId]:
        """Queue validated files; each becomes a row in the store at once and starts when a slot
        frees up."""
        upload_ids = []
        for candidate in candidates:
            upload_id = new_upload_id()
            self._paths[upload_id] = candidate.path
            self._store.dispatch(
                UploadQueued(
                    upload_id=upload_id,
                    document_id=document_id,
                    file_name=candidate.file_name,
                    object_path=f"{document_id}/{upload_id}/{candidate.safe_name}",
                    content_type=candidate.content_type,
                    size_bytes=candidate.size_bytes,
                )
            )
            self._start(upload_id)
            upload_ids.append(upload_id)
        return upload_ids

    def cancel(self, upload_id: UploadId) -> bool:
        """Abort a queued or uploading transfer; its object (if any) is removed."""
        state = self._store.get(upload_id)
        task = self._tasks.get(upload_id)
        if state is None or task is None or task.done():
            return False
        if state.status not in {UploadStatus.QUEUED, UploadStatus.UPLOADING}:
            return False  # the object is stored; finishing (or rolling back) is safer than stopping
        self._cancel_requested.add(upload_id)
        task.cancel()
        return True

    def retry(self, upload_id: UploadId) -> bool:
        """Run a failed, rolled-back or cancelled upload again, with the same UUID."""
        state = self._store.get(upload_id)
        if state is None or upload_id not in self._paths:
            return False
        if state.status not in {
            UploadStatus.FAILED,
            UploadStatus.ROLLED_BACK,
            UploadStatus.CANCELLED,
        }:
            return False
        self._store.dispatch(UploadRetryRequested(upload_id))
        self._start(upload_id)
        return True

    async def wait_idle(self) -> None:
        """Wait until no upload task is running."""
        while pending := [task for task in self._tasks.values() if not task.done()]:
            await asyncio.wait(pending)
        await self._rows.wait_idle()

    async def aclose(self) -> None:
        """Stop every task; unfinished work stays in the journal for the next start."""
        for task in self._tasks.values():
            task.cancel()
        await self._rows.aclose()
        await self.wait_idle()

    # One upload

    def _start(self, upload_id: UploadId) -> None:
        self._tasks[upload_id] = asyncio.get_running_loop().create_task(
            self._run(upload_id), name=f"upload-{upload_id}"
        )

    async def _run(self, upload_id: UploadId) -> None:
        try:
            async with self._slots:
                stored = await self._transfer(upload_id)
                if stored is not None and self._sequential:
                    await self._register(upload_id, stored)
                    return
            if stored is not None:
                await self._register(upload_id, stored)
        except asyncio.CancelledError:
            if upload_id in self._cancel_requested:
                self._cancel_requested.discard(upload_id)
                await asyncio.shield(self._clean_up_cancelled(upload_id))
                return
            raise
        finally:
            self._throttle.forget(upload_id)

    def _state(self, upload_id: UploadId) -> UploadState:
        state = self._store.get(upload_id)
        assert state is not None, "a task runs only for a queued upload"
        return state

    async def _transfer(self, upload_id: UploadId) -> StoredFile | None:
        """The object upload; None when it failed (the upload is then in its final state)."""
        state = self._state(upload_id)
        self._journal.record(
            str(upload_id),
            JournalKind.UPLOAD,
            bucket=self._bucket,
            object_path=state.object_path,
            document_id=str(state.document_id),
        )
        self._store.dispatch(UploadStarted(upload_id))
        try:
            stored = await self._store_object(state)
        except (ServiceError, OSError) as error:
            await self._discard_object(state)
            self._journal.mark(str(upload_id), Step.FAILED)
            retryable = (
                not isinstance(error, ServiceError)
                or error.is_transient
                or error.status in {401, 403}
            )
            self._store.dispatch(UploadFailed(upload_id, _reason(error), is_retryable=retryable))
            return None
        self._journal.mark(str(upload_id), Step.OBJECT_STORED)
        self._store.dispatch(UploadObjectStored(upload_id, stored.sha256))
        return stored

    async def _register(self, upload_id: UploadId, stored: StoredFile) -> None:
        state = self._state(upload_id)
        try:
            await self._insert_row(state, stored)
        except MetadataError as error:
            await self._roll_back(state, error)
            return
        self._journal.mark(str(upload_id), Step.DONE)
        self._store.dispatch(UploadRowInserted(upload_id))

    def _progress(self, state: UploadState) -> Callable[[int], None]:
        def report(bytes_sent: int) -> None:
            if self._throttle.should_report(state.upload_id, bytes_sent, state.size_bytes):
                self._store.dispatch(UploadProgressed(state.upload_id, bytes_sent))

        return report

    async def _store_object(self, state: UploadState) -> StoredFile:
        path = self._paths[state.upload_id]
        attempt = 0

        async def once() -> StoredFile:
            nonlocal attempt
            attempt += 1
            if attempt > 1:
                # The previous attempt may have stored the object and lost only the answer.
                ours = await self._our_stored_object(state, path)
                if ours is not None:
                    return ours
            return await self._storage.upload_file(
                self._bucket,
                state.object_path,
                path,
                content_type=state.content_type,
                on_progress=self._progress(state),
            )

        stored: StoredFile = await transient_retrying(self._sleep)(once)
        return stored

    async def _our_stored_object(self, state: UploadState, path: Path) -> StoredFile | None:
        """The object already at our key, if it is ours: same size and same bytes (md5 ETag)."""
        try:
            info = await self._storage.object_info(self._bucket, state.object_path)
        except StorageError as error:
            if error.status == 404:
                return None
            raise
        sha256, md5 = await asyncio.to_thread(_hashes, path)
        if info.size_bytes != state.size_bytes or (info.etag or "").strip('"') != md5:
            raise StorageError(
                "a different object already exists at this key", status=409, code="KeyAlreadyExists"
            )
        return StoredFile(state.object_path, info.object_id, info.size_bytes, sha256)

    async def _insert_row(self, state: UploadState, stored: StoredFile) -> None:
        await self._rows.insert({
            "id": str(state.upload_id),
            "document_id": str(state.document_id),
            "bucket": self._bucket,
            "object_path": state.object_path,
            "file_name": state.file_name,
            "content_type": state.content_type,
            "size_bytes": stored.size_bytes,
            "sha256": stored.sha256,
        })  # fmt: skip

    async def _roll_back(self, state: UploadState, insert_error: MetadataError) -> None:
        upload_id = state.upload_id
        self._incidents.record(
            IncidentType.METADATA_INSERT_FAILED,
            bucket=self._bucket,
            object_path=state.object_path,
            upload_id=str(upload_id),
            document_id=str(state.document_id),
            attempts=1,
            last_error=str(insert_error),
        )
        self._store.dispatch(UploadRowInsertFailed(upload_id, _reason(insert_error)))
        self._journal.mark(str(upload_id), Step.ROLLING_BACK)
        try:
            await rollback_retrying(self._sleep)(self._delete_object, state.object_path)
        except ServiceError as error:
            self._incidents.record(
                IncidentType.ORPHANED_OBJECT,
                bucket=self._bucket,
                object_path=state.object_path,
                upload_id=str(upload_id),
                document_id=str(state.document_id),
                attempts=ROLLBACK_ATTEMPTS,
                last_error=str(error),
            )
            self._journal.mark(str(upload_id), Step.ORPHANED)
            self._store.dispatch(UploadRollbackFailed(upload_id, _reason(error)))
            return
        self._journal.mark(str(upload_id), Step.ROLLED_BACK)
        self._store.dispatch(UploadRolledBack(upload_id))

    async def _delete_object(self, object_path: str) -> None:
        # Bulk delete is idempotent: a retry after a lost answer finds nothing and succeeds.
        await self._storage.delete_objects(self._bucket, [object_path])

    async def _discard_object(self, state: UploadState) -> None:
        """Best effort after a failed upload; what remains is the journal's (and recovery's)."""
        try:
            await self._delete_object(state.object_path)
        except ServiceError as error:
            log.info("could not discard %s after a failed upload: %s", state.upload_id, error)

    async def _clean_up_cancelled(self, upload_id: UploadId) -> None:
        state = self._state(upload_id)
        await self._discard_object(state)
        self._journal.mark(str(upload_id), Step.CANCELLED)
        self._store.dispatch(UploadCancelRequested(upload_id))


def _reason(error: Exception) -> str:
    if isinstance(error, ServiceError):
        return error.message
    if isinstance(error, OSError):
        return f"the file could not be read ({error.strerror or error})"
    return str(error)


def _hashes(path: Path) -> tuple[str, str]:
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            sha256.update(chunk)
            md5.update(chunk)
    return sha256.hexdigest(), md5.hexdigest()
