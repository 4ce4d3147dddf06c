"""The crash-safe journal: each upload's (or deletion's) intent, written before the first byte,
and its progress through the steps, in SQLite. A Qt-free zone.

On start (and ``attachments recover``) unfinished entries are resolved by ``recovery``.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

__all__ = ["Journal", "JournalEntry", "JournalKind", "Step"]


class JournalKind(StrEnum):
    UPLOAD = "upload"
    DELETE_ATTACHMENT = "delete_attachment"
    DELETE_DOCUMENT = "delete_document"


class Step(StrEnum):
    INTENT = "intent"  # nothing sent yet, or the object upload is under way
    OBJECT_STORED = "object_stored"  # the row insert is next (or under way)
    ROLLING_BACK = "rolling_back"
    DONE = "done"
    ROLLED_BACK = "rolled_back"
    ORPHANED = "orphaned"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self not in {Step.INTENT, Step.OBJECT_STORED, Step.ROLLING_BACK}


@dataclass(frozen=True, slots=True)
class JournalEntry:
    entry_id: str
    kind: JournalKind
    step: Step
    bucket: str
    object_path: str
    document_id: str
    updated_at: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    entry_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    step TEXT NOT NULL,
    bucket TEXT NOT NULL,
    object_path TEXT NOT NULL,
    document_id TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_step ON journal(step);
"""


class Journal:
    """Every write is committed before it returns, so a SIGKILL right after a step leaves that
    step on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (the failure the journal is for); only a
        # power cut can lose the last step, and recovery then resolves from an earlier one.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def record(
        self, entry_id: str, kind: JournalKind, *, bucket: str, object_path: str, document_id: str
    ) -> None:
        """Write the intent (replacing a finished entry with the same id, for a retry)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO journal VALUES (?,?,?,?,?,?,?)",
                (entry_id, kind.value, Step.INTENT.value, bucket, object_path, document_id, _now()),
            )

    def mark(self, entry_id: str, step: Step) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE journal SET step=?, updated_at=? WHERE entry_id=?",
                (step.value, _now(), entry_id),
            )

    def get(self, entry_id: str) -> JournalEntry | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM journal WHERE entry_id=?", (entry_id,)
            ).fetchone()
        return _entry(row) if row else None

    def unfinished(self) -> list[JournalEntry]:
        steps = [step.value for step in Step if not step.is_finished]
        with self._lock:
            placeholders = ",".join("?" * len(steps))
            rows = self._conn.execute(
                f"SELECT * FROM journal WHERE step IN ({placeholders}) ORDER BY updated_at", steps
            ).fetchall()
        return [_entry(row) for row in rows]

    def active_object_paths(self) -> set[str]:
        """Object paths an unfinished entry is working on: reconciliation leaves them alone."""
        return {entry.object_path for entry in self.unfinished()}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _entry(row: tuple[str, ...]) -> JournalEntry:
    entry_id, kind, step, bucket, object_path, document_id, updated_at = row
    return JournalEntry(
        entry_id, JournalKind(kind), Step(step), bucket, object_path, document_id, updated_at
    )
