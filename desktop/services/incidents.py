"""The incident log: one JSON line per consistency incident, in its own file and logger.
A Qt-free zone.

Schema (fixed, tested): ``time`` (ISO 8601 UTC), ``type``, ``bucket``, ``object_path``,
``upload_id``, ``document_id``, ``attempts``, ``last_error``. Never a token or a key.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from desktop.log import redact

__all__ = ["Incident", "IncidentLog", "IncidentType"]

incident_log = logging.getLogger("desktop.incidents")


class IncidentType(StrEnum):
    METADATA_INSERT_FAILED = "metadata_insert_failed"  # after the object was stored: the alert
    ORPHANED_OBJECT = "orphaned_object"  # rollback gave up; reconciliation will purge it
    ORPHAN_PURGED = "orphan_purged"
    DANGLING_ROW_PURGED = "dangling_row_purged"
    CASCADE_DELETE_FAILED = "cascade_delete_failed"


@dataclass(frozen=True, slots=True)
class Incident:
    time: str
    type: str
    bucket: str
    object_path: str
    upload_id: str | None
    document_id: str | None
    attempts: int
    last_error: str | None

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.time)


class IncidentLog:
    """Append-only JSON-lines file; safe to share between tasks and threads of one process."""

    def __init__(
        self, path: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self._path

    def record(
        self,
        incident_type: IncidentType,
        *,
        bucket: str,
        object_path: str,
        upload_id: str | None = None,
        document_id: str | None = None,
        attempts: int = 0,
        last_error: str | None = None,
    ) -> Incident:
        incident = Incident(
            time=self._clock().isoformat(timespec="milliseconds"),
            type=incident_type.value,
            bucket=bucket,
            object_path=object_path,
            upload_id=upload_id,
            document_id=document_id,
            attempts=attempts,
            last_error=redact(last_error) if last_error else None,
        )
        line = json.dumps(asdict(incident), ensure_ascii=False)
        with self._lock, self._path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        incident_log.warning(
            "%s: %s/%s", incident.type, bucket, object_path, extra={"upload_id": upload_id}
        )
        return incident

    def read(self, since: datetime | None = None) -> list[Incident]:
        """Incidents at or after ``since``; a damaged line is skipped, never fatal."""
        if not self._path.exists():
            return []
        incidents = []
        with self._path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    incident = Incident(**json.loads(line))
                except (ValueError, TypeError):
                    continue
                if since is None or incident.moment >= since:
                    incidents.append(incident)
        return incidents
