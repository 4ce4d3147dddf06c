"""Reconciliation: storage objects against metadata rows, in one merge pass. A Qt-free zone.

Both sides are read in key order, a page at a time (list-v2 by cursor; rows by keyset on
``object_path``), so memory stays one page whatever the bucket's size. An orphan is an object
with no row, older than the grace window and not part of an unfinished journal entry; a
dangling row is a row whose object is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from desktop.services.incidents import IncidentLog, IncidentType
from desktop.services.journal import Journal
from desktop.services.rest_api import RestApi, eq, gt, in_
from desktop.services.retry import Sleep, rollback_retrying, transient_retrying
from desktop.services.schema import ATTACHMENTS_TABLE
from desktop.services.storage_api import StorageApi
from desktop.services.wire import JsonObject

__all__ = ["DEFAULT_GRACE", "PAGE_SIZE", "Finding", "ReconcileReport", "Reconciler"]

DEFAULT_GRACE = timedelta(hours=1)
PAGE_SIZE = 1000
ROW_DELETE_BATCH = 100  # keeps each filter URL short enough for any gateway


@dataclass(frozen=True, slots=True)
class Finding:
    object_path: str
    row_id: str | None = None
    created_at: str | None = None


@dataclass
class ReconcileReport:
    bucket: str
    objects_scanned: int = 0
    rows_scanned: int = 0
    orphans: list[Finding] = field(default_factory=list)
    dangling_rows: list[Finding] = field(default_factory=list)
    skipped_fresh: int = 0
    skipped_in_flight: int = 0
    requests: int = 0
    purged_objects: int = 0
    purged_rows: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "bucket": self.bucket,
            "objects_scanned": self.objects_scanned,
            "rows_scanned": self.rows_scanned,
            "orphans": [f.object_path for f in self.orphans],
            "dangling_rows": [
                {"id": f.row_id, "object_path": f.object_path} for f in self.dangling_rows
            ],
            "skipped_fresh": self.skipped_fresh,
            "skipped_in_flight": self.skipped_in_flight,
            "requests": self.requests,
            "purged_objects": self.purged_objects,
            "purged_rows": self.purged_rows,
        }


class Reconciler:
    def __init__(
        self,
        storage: StorageApi,
        rest: RestApi,
        journal: Journal,
        incidents: IncidentLog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Sleep = asyncio.sleep,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._storage = storage
        self._rest = rest
        self._journal = journal
        self._incidents = incidents
        self._clock = clock
        self._sleep = sleep
        self._page_size = page_size

    async def scan(self, bucket: str, grace: timedelta = DEFAULT_GRACE) -> ReconcileReport:
        report = ReconcileReport(bucket=bucket)
        cutoff = self._clock() - grace
        active = self._journal.active_object_paths()
        active_prefixes = tuple(path for path in active if path.endswith("/"))

        def in_flight(path: str) -> bool:
            return path in active or path.startswith(active_prefixes)

        objects = self._objects(bucket, report)
        rows = self._rows(bucket, report)
        obj = await anext(objects, None)
        row = await anext(rows, None)
        while obj is not None or row is not None:
            if row is None or (obj is not None and obj.object_path < row.object_path):
                assert obj is not None
                report.objects_scanned += 1
                if in_flight(obj.object_path):
                    report.skipped_in_flight += 1
                elif obj.created_at and _parse(obj.created_at) > cutoff:
                    report.skipped_fresh += 1
                else:
                    report.orphans.append(obj)
                obj = await anext(objects, None)
            elif obj is None or row.object_path < obj.object_path:
                report.rows_scanned += 1
                if in_flight(row.object_path):
                    report.skipped_in_flight += 1
                else:
                    report.dangling_rows.append(row)
                row = await anext(rows, None)
            else:
                report.objects_scanned += 1
                report.rows_scanned += 1
                obj = await anext(objects, None)
                row = await anext(rows, None)
        return report

    async def purge(self, report: ReconcileReport) -> ReconcileReport:
        """Delete the report's orphans (batches, same retry policy as rollback) and dangling
        rows; each purge is an incident line."""
        for start in range(0, len(report.orphans), PAGE_SIZE):
            batch = report.orphans[start : start + PAGE_SIZE]
            report.requests += 1
            deleted: list[str] = await rollback_retrying(self._sleep)(
                self._storage.delete_objects, report.bucket, [f.object_path for f in batch]
            )
            report.purged_objects += len(deleted)
            for path in deleted:
                self._incidents.record(
                    IncidentType.ORPHAN_PURGED, bucket=report.bucket, object_path=path, attempts=1
                )
        for start in range(0, len(report.dangling_rows), ROW_DELETE_BATCH):
            rows = report.dangling_rows[start : start + ROW_DELETE_BATCH]
            report.requests += 1
            deleted_rows: list[JsonObject] = await transient_retrying(self._sleep)(
                self._rest.delete, ATTACHMENTS_TABLE, [in_("id", [f.row_id for f in rows])]
            )
            report.purged_rows += len(deleted_rows)
            for finding in rows:
                self._incidents.record(
                    IncidentType.DANGLING_ROW_PURGED,
                    bucket=report.bucket,
                    object_path=finding.object_path,
                    upload_id=finding.row_id,
                    attempts=1,
                )
        return report

    async def _objects(self, bucket: str, report: ReconcileReport) -> AsyncIterator[Finding]:
        cursor: str | None = None
        while True:
            report.requests += 1
            infos, cursor = await self._storage.list_page(
                bucket, cursor=cursor, page_size=self._page_size
            )
            for info in infos:
                yield Finding(object_path=info.name, created_at=info.created_at)
            if cursor is None:
                return

    async def _rows(self, bucket: str, report: ReconcileReport) -> AsyncIterator[Finding]:
        last: str | None = None
        while True:
            filters = [eq("bucket", bucket)] + (
                [gt("object_path", last)] if last is not None else []
            )
            report.requests += 1
            page = await self._rest.select(
                ATTACHMENTS_TABLE,
                columns="id,object_path",
                filters=filters,
                order="object_path.asc",
                limit=self._page_size,
            )
            for row in page.rows:
                yield Finding(object_path=str(row["object_path"]), row_id=str(row["id"]))
            if len(page.rows) < self._page_size:
                return
            last = str(page.rows[-1]["object_path"])


def _parse(timestamp: str) -> datetime:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
