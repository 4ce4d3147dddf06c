"""Bucket, object and resumable-upload rows in SQLite (WAL): the storage schema of the server."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from desktop.server.database import SqliteStore

__all__ = ["Bucket", "Catalog", "DuplicateError", "StoredObject", "TusUpload", "iso_now"]


class DuplicateError(Exception):
    """A row with the same unique key already exists."""


def iso_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Bucket:
    id: str
    name: str
    owner: str
    public: bool
    file_size_limit: int | None
    allowed_mime_types: list[str] | None
    created_at: str
    updated_at: str

    def as_json(self, *, with_type: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "public": self.public,
        }
        if with_type:
            body["type"] = "STANDARD"
        body |= {
            "file_size_limit": self.file_size_limit,
            "allowed_mime_types": self.allowed_mime_types,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        return body


@dataclass(frozen=True, slots=True)
class StoredObject:
    id: str
    bucket_id: str
    name: str
    owner: str
    version: str
    metadata: dict[str, Any]
    user_metadata: dict[str, Any]
    created_at: str
    updated_at: str
    last_accessed_at: str

    @property
    def size(self) -> int:
        return int(self.metadata.get("size", 0))

    @property
    def etag(self) -> str:
        return str(self.metadata.get("eTag", ""))

    @property
    def mimetype(self) -> str:
        return str(self.metadata.get("mimetype", "application/octet-stream"))

    @property
    def cache_control(self) -> str:
        return str(self.metadata.get("cacheControl", "no-cache"))

    def as_row(self) -> dict[str, Any]:
        """The ``storage.objects`` row as bulk delete and copy return it."""
        return {
            "name": self.name,
            "bucket_id": self.bucket_id,
            "owner": self.owner,
            "owner_id": self.owner,
            "version": self.version,
            "id": self.id,
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "last_accessed_at": self.last_accessed_at,
            "metadata": self.metadata,
            "user_metadata": self.user_metadata,
        }

    def as_list_item(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "id": self.id,
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "last_accessed_at": self.last_accessed_at,
            "metadata": self.metadata,
        }


@dataclass(frozen=True, slots=True)
class TusUpload:
    id: str
    bucket_id: str
    name: str
    version: str
    owner: str
    upload_length: int
    offset: int
    content_type: str
    cache_control: str
    user_metadata: dict[str, Any]
    upsert: bool
    completed: bool


_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL DEFAULT '',
    public INTEGER NOT NULL DEFAULT 0,
    file_size_limit INTEGER,
    allowed_mime_types TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    bucket_id TEXT NOT NULL REFERENCES buckets(id),
    name TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL,
    metadata TEXT NOT NULL,
    user_metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_accessed_at TEXT NOT NULL,
    UNIQUE (bucket_id, name)
);
CREATE TABLE IF NOT EXISTS tus_uploads (
    id TEXT PRIMARY KEY,
    bucket_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    owner TEXT NOT NULL,
    upload_length INTEGER NOT NULL,
    "offset" INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL,
    cache_control TEXT NOT NULL,
    user_metadata TEXT NOT NULL,
    upsert INTEGER NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0
);
"""


def _bucket(row: sqlite3.Row) -> Bucket:
    mimes = row["allowed_mime_types"]
    return Bucket(
        id=row["id"],
        name=row["name"],
        owner=row["owner"],
        public=bool(row["public"]),
        file_size_limit=row["file_size_limit"],
        allowed_mime_types=json.loads(mimes) if mimes is not None else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _object(row: sqlite3.Row) -> StoredObject:
    return StoredObject(
        id=row["id"],
        bucket_id=row["bucket_id"],
        name=row["name"],
        owner=row["owner"],
        version=row["version"],
        metadata=json.loads(row["metadata"]),
        user_metadata=json.loads(row["user_metadata"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_accessed_at=row["last_accessed_at"],
    )


def _tus(row: sqlite3.Row) -> TusUpload:
    return TusUpload(
        id=row["id"],
        bucket_id=row["bucket_id"],
        name=row["name"],
        version=row["version"],
        owner=row["owner"],
        upload_length=row["upload_length"],
        offset=row["offset"],
        content_type=row["content_type"],
        cache_control=row["cache_control"],
        user_metadata=json.loads(row["user_metadata"]),
        upsert=bool(row["upsert"]),
        completed=bool(row["completed"]),
    )


def _placeholders(values: list[str]) -> str:
    return ",".join("?" * len(values))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Catalog(SqliteStore):
    """The SQLite side of storage. Every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    # Buckets

    def create_bucket(
        self,
        name: str,
        *,
        bucket_id: str,
        owner: str,
        public: bool,
        file_size_limit: int | None,
        allowed_mime_types: list[str] | None,
    ) -> None:
        now = iso_now()
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO buckets VALUES (?,?,?,?,?,?,?,?)",
                    (
                        bucket_id,
                        name,
                        owner,
                        int(public),
                        file_size_limit,
                        json.dumps(allowed_mime_types) if allowed_mime_types is not None else None,
                        now,
                        now,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(name) from exc

    def get_bucket(self, bucket_id: str) -> Bucket | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM buckets WHERE id=?", (bucket_id,)).fetchone()
        return _bucket(row) if row else None

    def list_buckets(
        self, *, limit: int | None, offset: int, sort_column: str, sort_order: str, search: str
    ) -> list[Bucket]:
        sql = "SELECT * FROM buckets WHERE name LIKE ? ESCAPE '\\'"
        sql += f" ORDER BY {sort_column} {sort_order}, id LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._conn.execute(
                sql, (f"%{_like_escape(search)}%", limit or -1, offset)
            ).fetchall()
        return [_bucket(row) for row in rows]

    def update_bucket(self, bucket_id: str, changes: dict[str, Any]) -> bool:
        encoders: dict[str, Callable[[Any], Any]] = {
            "public": lambda value: int(bool(value)),
            "file_size_limit": lambda value: value,
            "allowed_mime_types": lambda value: json.dumps(value) if value is not None else None,
        }
        sets = [
            (name, encoders[name](value)) for name, value in changes.items() if name in encoders
        ]
        with self._tx() as db:
            cur = db.execute(
                "UPDATE buckets SET "
                + ", ".join([f"{name}=?" for name, _ in sets] + ["updated_at=?"])
                + " WHERE id=?",
                [value for _, value in sets] + [iso_now(), bucket_id],
            )
        return cur.rowcount == 1

    def delete_bucket(self, bucket_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM buckets WHERE id=?", (bucket_id,))

    def count_objects(self, bucket_id: str) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*) FROM objects WHERE bucket_id=?", (bucket_id,)
            ).fetchone()
        return int(row[0])

    # Objects

    def get_object(self, bucket_id: str, name: str) -> StoredObject | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM objects WHERE bucket_id=? AND name=?", (bucket_id, name)
            ).fetchone()
        return _object(row) if row else None

    def get_objects(self, bucket_id: str, names: list[str]) -> list[StoredObject]:
        found: list[StoredObject] = []
        with self._lock:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                rows = self._conn.execute(
                    f"SELECT * FROM objects WHERE bucket_id=? AND name IN ({_placeholders(chunk)})",
                    [bucket_id, *chunk],
                ).fetchall()
                found.extend(_object(row) for row in rows)
        return found

    def put_object(
        self,
        bucket_id: str,
        name: str,
        *,
        owner: str,
        version: str,
        metadata: dict[str, Any],
        user_metadata: dict[str, Any],
        upsert: bool,
        may_replace: Any = None,
    ) -> tuple[StoredObject, str | None]:
        """Insert the object row, or replace it when ``upsert``; returns (row, replaced version).

        ``may_replace(existing) -> bool`` is the update policy for an upsert over an existing row.

        Raises:
            DuplicateError: the key exists and ``upsert`` is false.
            PermissionError: the policy refused the replacement.
        """
        now = iso_now()
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM objects WHERE bucket_id=? AND name=?", (bucket_id, name)
            ).fetchone()
            if row is None:
                object_id = str(uuid.uuid4())
                db.execute(
                    "INSERT INTO objects VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        object_id,
                        bucket_id,
                        name,
                        owner,
                        version,
                        json.dumps(metadata),
                        json.dumps(user_metadata),
                        now,
                        now,
                        now,
                    ),
                )
                replaced = None
            else:
                existing = _object(row)
                if not upsert:
                    raise DuplicateError(name)
                if may_replace is not None and not may_replace(existing):
                    raise PermissionError(name)
                db.execute(
                    "UPDATE objects SET owner=?, version=?, metadata=?, user_metadata=?,"
                    " updated_at=?, last_accessed_at=? WHERE id=?",
                    (
                        owner,
                        version,
                        json.dumps(metadata),
                        json.dumps(user_metadata),
                        now,
                        now,
                        existing.id,
                    ),
                )
                replaced = existing.version
            stored = db.execute(
                "SELECT * FROM objects WHERE bucket_id=? AND name=?", (bucket_id, name)
            ).fetchone()
        return _object(stored), replaced

    def delete_objects(self, bucket_id: str, names: list[str]) -> list[StoredObject]:
        """Delete exactly these rows; returns the rows that were deleted."""
        deleted: list[StoredObject] = []
        with self._tx() as db:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                rows = db.execute(
                    f"DELETE FROM objects WHERE bucket_id=? AND name IN ({_placeholders(chunk)})"
                    " RETURNING *",
                    [bucket_id, *chunk],
                ).fetchall()
                deleted.extend(_object(row) for row in rows)
        return deleted

    def delete_all_objects(self, bucket_id: str) -> list[StoredObject]:
        with self._tx() as db:
            rows = db.execute(
                "DELETE FROM objects WHERE bucket_id=? RETURNING *", (bucket_id,)
            ).fetchall()
        return [_object(row) for row in rows]

    def rename_object(self, bucket_id: str, name: str, new_bucket: str, new_name: str) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "UPDATE objects SET bucket_id=?, name=?, updated_at=?"
                    " WHERE bucket_id=? AND name=?",
                    (new_bucket, new_name, iso_now(), bucket_id, name),
                )
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(new_name) from exc

    def objects_under(
        self,
        bucket_id: str,
        prefix: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        order_by: str = "name",
        descending: bool = False,
        owner: str | None = None,
    ) -> list[StoredObject]:
        """Objects whose key starts with ``prefix``, by ``order_by``, after the key ``after``."""
        direction = "DESC" if descending else "ASC"
        # A range on (bucket_id, name) rather than LIKE, so the unique index serves both the
        # filter and the order: a cursor page costs O(page), not a scan of the bucket.
        sql = "SELECT * FROM objects WHERE bucket_id=?"
        params: list[Any] = [bucket_id]
        if prefix:
            sql += " AND name >= ? AND name < ?"
            params += [prefix, prefix + "\U0010ffff"]
        if after is not None:
            sql += " AND name < ?" if descending else " AND name > ?"
            params.append(after)
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        tie_break = f", name {direction}" if order_by != "name" else ""
        sql += f" ORDER BY {order_by} {direction}{tie_break} LIMIT ?"
        params.append(limit if limit is not None else -1)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_object(row) for row in rows]

    # Resumable uploads

    def create_tus(self, upload: TusUpload) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO tus_uploads VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    upload.id,
                    upload.bucket_id,
                    upload.name,
                    upload.version,
                    upload.owner,
                    upload.upload_length,
                    upload.offset,
                    upload.content_type,
                    upload.cache_control,
                    json.dumps(upload.user_metadata),
                    int(upload.upsert),
                    int(upload.completed),
                ),
            )

    def get_tus(self, upload_id: str) -> TusUpload | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM tus_uploads WHERE id=?", (upload_id,)
            ).fetchone()
        return _tus(row) if row else None

    def advance_tus(self, upload_id: str, offset: int, *, completed: bool) -> None:
        with self._tx() as db:
            db.execute(
                'UPDATE tus_uploads SET "offset"=?, completed=? WHERE id=?',
                (offset, int(completed), upload_id),
            )

    def delete_tus(self, upload_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM tus_uploads WHERE id=?", (upload_id,))
