"""Deleting attachments and documents: objects first, then rows; journaled like uploads.
A Qt-free zone.

Deleting a document removes all its objects, then the document row (the foreign key's ON DELETE
CASCADE removes its attachment rows). An object that cannot be deleted is an incident; the
document still goes, and reconciliation purges what remains.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from desktop.domain.errors import ServiceError
from desktop.services.incidents import IncidentLog, IncidentType
from desktop.services.journal import Journal, JournalKind, Step
from desktop.services.rest_api import RestApi, eq
from desktop.services.retry import ROLLBACK_ATTEMPTS, Sleep, rollback_retrying, transient_retrying
from desktop.services.schema import ATTACHMENTS_TABLE, DOCUMENTS_TABLE
from desktop.services.storage_api import StorageApi

__all__ = ["BULK_DELETE_BATCH", "Deleter", "DocumentDeletion"]

log = logging.getLogger(__name__)

BULK_DELETE_BATCH = 1000  # Storage's limit on keys per bulk delete


@dataclass(frozen=True, slots=True)
class DocumentDeletion:
    objects_deleted: int
    objects_left: int  # could not be deleted: each one is an incident


class Deleter:
    def __init__(
        self,
        storage: StorageApi,
        rest: RestApi,
        journal: Journal,
        incidents: IncidentLog,
        *,
        bucket: str,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._storage = storage
        self._rest = rest
        self._journal = journal
        self._incidents = incidents
        self._bucket = bucket
        self._sleep = sleep

    async def delete_attachment(self, attachment_id: str) -> bool:
        """Remove the object, then the row. False when there was no such attachment.

        Raises:
            StorageError: the object could not be deleted (an incident is recorded; the row
                stays, so nothing is lost and the user can try again).
        """
        page = await self._rest.select(ATTACHMENTS_TABLE, filters=[eq("id", attachment_id)])
        if not page.rows:
            return False
        row = page.rows[0]
        object_path, document_id = str(row["object_path"]), str(row["document_id"])
        entry_id = f"delete-attachment:{attachment_id}"
        self._journal.record(
            entry_id,
            JournalKind.DELETE_ATTACHMENT,
            bucket=self._bucket,
            object_path=object_path,
            document_id=document_id,
        )
        try:
            await rollback_retrying(self._sleep)(
                self._storage.delete_objects, self._bucket, [object_path]
            )
        except ServiceError as error:
            self._record_failure(object_path, document_id, attachment_id, error)
            self._journal.mark(entry_id, Step.FAILED)
            raise
        await transient_retrying(self._sleep)(
            self._rest.delete, ATTACHMENTS_TABLE, [eq("id", attachment_id)]
        )
        self._journal.mark(entry_id, Step.DONE)
        return True

    async def delete_document(self, document_id: str) -> DocumentDeletion:
        """Remove every object of the document in batches, then the document row."""
        entry_id = f"delete-document:{document_id}"
        self._journal.record(
            entry_id,
            JournalKind.DELETE_DOCUMENT,
            bucket=self._bucket,
            object_path=f"{document_id}/",
            document_id=document_id,
        )
        paths = await self._object_paths(document_id)
        deleted = left = 0
        for start in range(0, len(paths), BULK_DELETE_BATCH):
            batch = paths[start : start + BULK_DELETE_BATCH]
            try:
                await rollback_retrying(self._sleep)(
                    self._storage.delete_objects, self._bucket, batch
                )
                deleted += len(batch)
            except ServiceError as error:
                left += len(batch)
                for object_path in batch:
                    self._record_failure(object_path, document_id, None, error)
        await transient_retrying(self._sleep)(
            self._rest.delete, DOCUMENTS_TABLE, [eq("id", document_id)]
        )
        self._journal.mark(entry_id, Step.DONE)
        return DocumentDeletion(objects_deleted=deleted, objects_left=left)

    async def _object_paths(self, document_id: str) -> list[str]:
        paths: list[str] = []
        while True:
            page = await self._rest.select(
                ATTACHMENTS_TABLE,
                columns="object_path",
                filters=[eq("document_id", document_id)],
                order="object_path.asc",
                limit=BULK_DELETE_BATCH,
                offset=len(paths),
            )
            paths += [str(row["object_path"]) for row in page.rows]
            if len(page.rows) < BULK_DELETE_BATCH:
                return paths

    def _record_failure(
        self, object_path: str, document_id: str, upload_id: str | None, error: ServiceError
    ) -> None:
        self._incidents.record(
            IncidentType.CASCADE_DELETE_FAILED,
            bucket=self._bucket,
            object_path=object_path,
            upload_id=upload_id,
            document_id=document_id,
            attempts=ROLLBACK_ATTEMPTS,
            last_error=str(error),
        )
