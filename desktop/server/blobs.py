"""Object bytes on disk, named by version UUID so that no object key ever becomes a file path.

Uploads stream into a staging file while md5 is computed, then an atomic rename commits them.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["BlobStore", "BlobWriter"]

READ_CHUNK_BYTES = 1024 * 1024


class BlobWriter:
    """One staging file being written: counts bytes and hashes them as they arrive."""

    def __init__(self, path: Path, *, append: bool = False) -> None:
        self.path = path
        self._file: BinaryIO = path.open("ab" if append else "wb")
        # A resumable upload arrives in many requests; it is hashed once, when complete.
        self._md5 = None if append else hashlib.md5(usedforsecurity=False)
        self.size_bytes = self._file.tell()

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        if self._md5 is not None:
            self._md5.update(chunk)
        self.size_bytes += len(chunk)

    def close(self) -> None:
        self._file.close()

    @property
    def md5_hex(self) -> str:
        if self._md5 is None:
            return md5_of(self.path)
        return self._md5.hexdigest()


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        while chunk := source.read(READ_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class BlobStore:
    """Files under ``root``: ``staging/`` for bytes in flight, ``objects/`` for committed ones."""

    def __init__(self, root: Path) -> None:
        self._staging = root / "staging"
        self._objects = root / "objects"
        self._tus = root / "tus"
        for folder in (self._staging, self._objects, self._tus):
            folder.mkdir(parents=True, exist_ok=True)
        for leftover in self._staging.iterdir():
            leftover.unlink(missing_ok=True)

    def new_staging(self) -> BlobWriter:
        return BlobWriter(self._staging / uuid.uuid4().hex)

    def _tus_path(self, upload_id: str) -> Path:
        return self._tus / hashlib.sha256(upload_id.encode()).hexdigest()

    def tus_part(self, upload_id: str, *, create: bool = False) -> BlobWriter:
        path = self._tus_path(upload_id)
        if create:
            path.unlink(missing_ok=True)
        return BlobWriter(path, append=True)

    def commit_tus_part(self, upload_id: str, version: str) -> None:
        self.commit(self._tus_path(upload_id), version)

    def drop_tus_part(self, upload_id: str) -> None:
        self._tus_path(upload_id).unlink(missing_ok=True)

    def path_of(self, version: str) -> Path:
        # Versions are UUIDs we generate; never a user-supplied string.
        return self._objects / version[:2] / version

    def commit(self, staged: Path, version: str) -> None:
        target = self.path_of(version)
        target.parent.mkdir(exist_ok=True)
        os.replace(staged, target)

    def discard(self, staged: Path) -> None:
        staged.unlink(missing_ok=True)

    def delete(self, version: str) -> None:
        self.path_of(version).unlink(missing_ok=True)

    def copy(self, version: str, new_version: str) -> None:
        writer = self.new_staging()
        try:
            with self.path_of(version).open("rb") as source:
                while chunk := source.read(READ_CHUNK_BYTES):
                    writer.write(chunk)
        finally:
            writer.close()
        self.commit(writer.path, new_version)

    def exists(self, version: str) -> bool:
        return self.path_of(version).is_file()

    async def read(self, version: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Stream bytes ``start..end`` (inclusive) without holding the object in memory."""
        remaining = end - start + 1
        with self.path_of(version).open("rb") as source:
            source.seek(start)
            while remaining > 0:
                chunk = source.read(min(READ_CHUNK_BYTES, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk
