"""The window's controller: widgets call its intent methods; it runs the async service work in
tasks on the (qasync) loop and reports back through signals. No exception reaches a Qt slot."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.domain.errors import ServiceError, SignedUrlExpired, UploaderError
from desktop.domain.records import Attachment, preview_kind
from desktop.domain.states import DocumentId, UploadId
from desktop.domain.store import UploadStore
from desktop.services.documents import DocumentsService
from desktop.services.incidents import IncidentLog
from desktop.services.pipeline import UploadPipeline
from desktop.services.reconcile import Reconciler, ReconcileReport
from desktop.services.signed_urls import IntegrityMismatch, SignedUrlCache
from desktop.services.validation import validate_paths

__all__ = ["AppController", "PreviewLoad", "Services"]

log = logging.getLogger(__name__)

THUMBNAIL_MAX_BYTES = 5 * 1024 * 1024  # larger images keep the generic icon


@dataclass
class Services:
    documents: DocumentsService
    pipeline: UploadPipeline
    urls: SignedUrlCache
    incidents: IncidentLog
    reconciler: Reconciler | None  # only with a service key
    preview_dir: Path
    max_file_size_bytes: int
    clock: Callable[[], float] = time.time  # wall clock, as signed-URL expiry times are


class PreviewLoad(QObject):
    """One preview's fetch. Signals:
    progressed(int): bytes received so far.
    loaded(object): the local ``Path`` of the verified bytes.
    url_ready(str, float): a signed URL (for streaming media) and when it expires.
    failed(str): a message for the user.
    """

    progressed = Signal(int)
    loaded = Signal(object)
    url_ready = Signal(str, float)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


class AppController(QObject):
    """Signals:
    documents_changed(list[Document]), attachments_changed(str, list[Attachment]),
    files_rejected(list[Rejection]), incidents_changed(list[Incident]),
    reconciled(ReconcileReport), thumbnail_ready(str, Path), failed(str): a message for the user.
    """

    thumbnail_ready = Signal(str, object)
    documents_changed = Signal(list)
    attachments_changed = Signal(str, list)
    files_rejected = Signal(list)
    incidents_changed = Signal(list)
    reconciled = Signal(object)
    failed = Signal(str)

    def __init__(
        self, services: Services, store: UploadStore, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._store = store
        self._tasks: set[asyncio.Task[Any]] = set()
        self._document_id: str | None = None
        self._reload: asyncio.Task[None] | None = None
        self._reload_again = False

    @property
    def services(self) -> Services:
        return self._services

    @property
    def current_document_id(self) -> str | None:
        return self._document_id

    # Task plumbing

    def _spawn(self, work: Coroutine[Any, Any, Any], *, what: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, what))
        return task

    def _finished(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, UploaderError):
            self.failed.emit(f"Could not {what}: {error.message}")
        elif error is not None:
            log.error("unexpected error while trying to %s", what, exc_info=error)
            self.failed.emit(f"Could not {what}: an unexpected error occurred.")

    def is_idle(self) -> bool:
        return not self._tasks

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks))
        await self._services.pipeline.wait_idle()

    # Documents

    def refresh_documents(self) -> None:
        self._spawn(self._load_documents(), what="load the documents")

    async def _load_documents(self) -> None:
        self.documents_changed.emit(await self._services.documents.list_documents())

    def select_document(self, document_id: str | None) -> None:
        self._document_id = document_id
        if document_id is not None:
            self._spawn(self._load_attachments(document_id), what="load the attachments")

    def refresh_attachments(self) -> None:
        """Reload the selected document's attachments (as uploads finish). Calls that arrive
        while a reload runs fold into one more reload, so a thousand finished uploads do not
        make a thousand list requests."""
        if self._reload is not None and not self._reload.done():
            self._reload_again = True
            return
        self._reload = self._spawn(self._reload_attachments(), what="load the attachments")

    async def _reload_attachments(self) -> None:
        while True:
            self._reload_again = False
            if self._document_id is not None:
                await self._load_attachments(self._document_id)
            if not self._reload_again:
                return

    async def _load_attachments(self, document_id: str) -> None:
        attachments = await self._services.documents.list_attachments(document_id)
        self.attachments_changed.emit(document_id, attachments)
        images = [
            a
            for a in attachments
            if preview_kind(a) == "image" and a.size_bytes <= THUMBNAIL_MAX_BYTES
        ]
        if images:
            await self._load_thumbnails(images)

    async def _load_thumbnails(self, images: Sequence[Attachment]) -> None:
        """Thumbnails of the listed images: one batch sign request for all, then small fetches."""
        urls = self._services.urls
        folder = self._services.preview_dir / "thumbnails"
        fetched = await asyncio.to_thread(_fetched_thumbnails, folder)
        missing = []
        for image in images:  # fetched (and checked) once: an attachment's bytes never change
            if image.id in fetched:
                self.thumbnail_ready.emit(image.id, folder / image.id)
            else:
                missing.append(image)
        if not missing:
            return
        signed = await urls.get_many([image.object_path for image in missing])
        for image in missing:
            destination = folder / image.id
            if signed.get(image.object_path) is None:
                continue
            try:
                await urls.download(image.object_path, destination, expected_sha256=image.sha256)
            except ServiceError as error:
                log.info("no thumbnail for %s: %s", image.id, error)
                continue
            self.thumbnail_ready.emit(image.id, destination)

    def create_document(self, title: str) -> None:
        async def create() -> None:
            document = await self._services.documents.create_document(title)
            await self._load_documents()
            self.select_document(document.id)

        self._spawn(create(), what="create the document")

    def rename_document(self, document_id: str, title: str) -> None:
        async def rename() -> None:
            await self._services.documents.rename_document(document_id, title)
            await self._load_documents()

        self._spawn(rename(), what="rename the document")

    def delete_document(self, document_id: str) -> None:
        async def delete() -> None:
            result = await self._services.documents.delete_document(document_id)
            if result.objects_left:
                self.failed.emit(
                    f"The document was deleted, but {result.objects_left} file(s) could not be "
                    "removed from storage; reconciliation will clean them up."
                )
                self.refresh_incidents()
            if self._document_id == document_id:
                self._document_id = None
            await self._load_documents()

        self._spawn(delete(), what="delete the document")

    # Uploads

    def add_files(self, paths: Sequence[Path]) -> None:
        """Validate (on a worker thread: a dropped folder may hold thousands of files) and queue
        the files for the selected document; their rows appear as soon as they are queued."""
        document_id = self._document_id
        if document_id is None:
            self.failed.emit("Select or create a document first.")
            return
        self._spawn(self._add(document_id, list(paths)), what="add the files")

    async def _add(self, document_id: str, paths: list[Path]) -> None:
        accepted, rejected = await asyncio.to_thread(
            validate_paths, paths, max_size_bytes=self._services.max_file_size_bytes
        )
        if rejected:
            self.files_rejected.emit(rejected)
        if self._services.pipeline.submit(DocumentId(uuid.UUID(document_id)), accepted):
            await self._after_uploads()

    async def _after_uploads(self) -> None:
        await self._services.pipeline.wait_idle()
        self.refresh_incidents()

    def cancel_upload(self, upload_id: UploadId) -> None:
        self._services.pipeline.cancel(upload_id)

    def retry_upload(self, upload_id: UploadId) -> None:
        if self._services.pipeline.retry(upload_id):
            self._spawn(self._after_uploads(), what="finish the uploads")

    def remove_attachment(self, attachment_id: str) -> None:
        async def remove() -> None:
            await self._services.documents.delete_attachment(attachment_id)
            if self._document_id is not None:
                await self._load_attachments(self._document_id)

        self._spawn(remove(), what="remove the attachment")

    # Previews

    def load_preview(self, attachment: Attachment, *, stream: bool = False) -> PreviewLoad:
        """Fetch an attachment's bytes through the signed-URL cache (or just its URL, to stream)."""
        load = PreviewLoad(self)
        if stream:
            load.task = self._spawn(
                self._sign_for(load, attachment, refresh=False), what="preview the file"
            )
        else:
            load.task = self._spawn(self._download(load, attachment), what="preview the file")
        return load

    def refresh_preview_url(self, load: PreviewLoad, attachment: Attachment) -> None:
        """Re-sign before the cached URL stops being handed out (a preview kept open)."""
        load.task = self._spawn(
            self._sign_for(load, attachment, refresh=True), what="refresh the link"
        )

    async def _sign_for(self, load: PreviewLoad, attachment: Attachment, *, refresh: bool) -> None:
        if refresh:
            self._services.urls.invalidate(attachment.object_path)
        try:
            signed = await self._services.urls.get(attachment.object_path)
        except ServiceError as error:
            load.failed.emit(f"The file could not be opened: {error.message}")
            return
        load.url_ready.emit(signed.url, signed.expires_at)

    async def _download(self, load: PreviewLoad, attachment: Attachment) -> None:
        destination = (
            self._services.preview_dir / f"{attachment.id}-{Path(attachment.object_path).name}"
        )
        await asyncio.to_thread(destination.parent.mkdir, parents=True, exist_ok=True)
        try:
            await self._services.urls.download(
                attachment.object_path,
                destination,
                expected_sha256=attachment.sha256,
                on_progress=load.progressed.emit,
            )
        except IntegrityMismatch:
            load.failed.emit(
                "The downloaded file does not match the checksum recorded at upload;"
                " it is not shown."
            )
            return
        except SignedUrlExpired:
            load.failed.emit(
                "The link to this file has expired or was revoked, and renewing it failed."
            )
            return
        except ServiceError as error:
            load.failed.emit(f"The file could not be downloaded: {error.message}")
            return
        signed = await self._services.urls.get(attachment.object_path)
        load.url_ready.emit(signed.url, signed.expires_at)
        load.loaded.emit(destination)

    # Incidents and reconciliation

    def refresh_incidents(self) -> None:
        self.incidents_changed.emit(self._services.incidents.read())

    def reconcile(self, *, purge: bool) -> None:
        reconciler = self._services.reconciler
        if reconciler is None:
            self.failed.emit("Reconciliation needs the service_role key.")
            return

        async def run() -> None:
            report: ReconcileReport = await reconciler.scan(self._services.pipeline.bucket)
            if purge:
                await reconciler.purge(report)
                self.refresh_incidents()
            self.reconciled.emit(report)

        self._spawn(run(), what="reconcile storage with metadata")


def _fetched_thumbnails(folder: Path) -> set[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return {path.name for path in folder.iterdir()}
