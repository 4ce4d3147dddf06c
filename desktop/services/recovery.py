"""Resolving the journal's unfinished entries after a crash. A Qt-free zone.

An upload is completed if its row exists, rolled back (object deleted) otherwise; an
interrupted deletion is run again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from desktop.domain.errors import ServiceError
from desktop.services.deletion import Deleter
from desktop.services.incidents import IncidentLog, IncidentType
from desktop.services.journal import Journal, JournalEntry, JournalKind, Step
from desktop.services.rest_api import RestApi, eq
from desktop.services.retry import ROLLBACK_ATTEMPTS, Sleep, rollback_retrying
from desktop.services.schema import ATTACHMENTS_TABLE
from desktop.services.storage_api import StorageApi

__all__ = ["RecoveryReport", "recover"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    completed: int = 0
    rolled_back: int = 0
    orphaned: int = 0
    deletions_redone: int = 0

    @property
    def total(self) -> int:
        return self.completed + self.rolled_back + self.orphaned + self.deletions_redone


async def recover(
    journal: Journal,
    storage: StorageApi,
    rest: RestApi,
    incidents: IncidentLog,
    *,
    sleep: Sleep = asyncio.sleep,
) -> RecoveryReport:
    counts = {"completed": 0, "rolled_back": 0, "orphaned": 0, "deletions_redone": 0}
    for entry in journal.unfinished():
        if entry.kind is JournalKind.UPLOAD:
            outcome = await _resolve_upload(entry, journal, storage, rest, incidents, sleep)
        else:
            outcome = await _redo_deletion(entry, journal, storage, rest, incidents, sleep)
        counts[outcome] += 1
        log.info("recovered %s %s: %s", entry.kind.value, entry.entry_id, outcome)
    return RecoveryReport(**counts)


async def _resolve_upload(
    entry: JournalEntry,
    journal: Journal,
    storage: StorageApi,
    rest: RestApi,
    incidents: IncidentLog,
    sleep: Sleep,
) -> str:
    page = await rest.select(ATTACHMENTS_TABLE, columns="id", filters=[eq("id", entry.entry_id)])
    if page.rows:
        journal.mark(entry.entry_id, Step.DONE)
        return "completed"
    try:
        await rollback_retrying(sleep)(storage.delete_objects, entry.bucket, [entry.object_path])
    except ServiceError as error:
        incidents.record(
            IncidentType.ORPHANED_OBJECT,
            bucket=entry.bucket,
            object_path=entry.object_path,
            upload_id=entry.entry_id,
            document_id=entry.document_id,
            attempts=ROLLBACK_ATTEMPTS,
            last_error=str(error),
        )
        journal.mark(entry.entry_id, Step.ORPHANED)
        return "orphaned"
    journal.mark(entry.entry_id, Step.ROLLED_BACK)
    return "rolled_back"


async def _redo_deletion(
    entry: JournalEntry,
    journal: Journal,
    storage: StorageApi,
    rest: RestApi,
    incidents: IncidentLog,
    sleep: Sleep,
) -> str:
    deleter = Deleter(storage, rest, journal, incidents, bucket=entry.bucket, sleep=sleep)
    _, _, target = entry.entry_id.partition(":")
    try:
        if entry.kind is JournalKind.DELETE_DOCUMENT:
            await deleter.delete_document(target)
        elif not await deleter.delete_attachment(target):
            journal.mark(entry.entry_id, Step.DONE)
    except ServiceError as error:
        log.info("deletion %s still fails: %s", entry.entry_id, error)
    return "deletions_redone"
