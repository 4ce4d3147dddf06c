"""What may be uploaded: readable regular files under the size limit, with a MIME type and a safe
object key. Folders expand recursively. Every refusal says exactly why. A Qt-free zone."""

from __future__ import annotations

import mimetypes
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import filetype

__all__ = ["Candidate", "Rejection", "content_type_of", "safe_object_name", "validate_paths"]

MAX_SAFE_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_!.*'() &$=@;:+,-]+")  # Supabase's key set, minus "/" and "?"


@dataclass(frozen=True, slots=True)
class Candidate:
    path: Path
    file_name: str  # the original name, kept in the metadata row
    safe_name: str  # the name used in the object key
    size_bytes: int
    content_type: str


@dataclass(frozen=True, slots=True)
class Rejection:
    path: Path
    reason: str


def safe_object_name(file_name: str) -> str:
    """An object-key segment Supabase accepts: ASCII only, no ``.``/``..``, bounded length.

    ``Résumé (final)#2.pdf`` becomes ``Resume (final)_2.pdf``; the original stays in the row.
    """
    ascii_name = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", ascii_name).strip(" ")
    stem, dot, extension = cleaned.rpartition(".")
    if not dot:
        stem, extension = cleaned, ""
    stem = stem.strip(". ") or "file"
    extension = extension[:16]
    budget = MAX_SAFE_NAME_CHARS - (len(extension) + 1 if extension else 0)
    return f"{stem[:budget]}.{extension}" if extension else stem[:budget]


def content_type_of(path: Path) -> str:
    """The MIME type from the content's magic bytes, else from the name, else octet-stream."""
    try:
        sniffed = filetype.guess_mime(str(path)) or ""
    except OSError:
        sniffed = ""
    by_name, _ = mimetypes.guess_type(path.name)
    # Text formats have no magic; trust the name for them (CSV, JSON, Markdown, source).
    if by_name and (not sniffed or sniffed == "text/plain"):
        return by_name
    return sniffed or by_name or "application/octet-stream"


def _expand(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield Path(root) / name
        else:
            yield path


def validate_paths(
    paths: Iterable[Path], *, max_size_bytes: int
) -> tuple[list[Candidate], list[Rejection]]:
    """Split dropped paths into uploadable files and refusals (each with a specific reason)."""
    accepted: list[Candidate] = []
    rejected: list[Rejection] = []
    for path in _expand(paths):
        reason = _refusal(path, max_size_bytes)
        if reason is not None:
            rejected.append(Rejection(path, reason))
            continue
        accepted.append(
            Candidate(
                path=path,
                file_name=path.name,
                safe_name=safe_object_name(path.name),
                size_bytes=path.stat().st_size,
                content_type=content_type_of(path),
            )
        )
    return accepted, rejected


def _refusal(path: Path, max_size_bytes: int) -> str | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return "the file does not exist"
    except OSError as exc:
        return f"the file cannot be read ({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if not os.access(path, os.R_OK):
        return "the file cannot be read (permission denied)"
    if info.st_size > max_size_bytes:
        return f"{info.st_size:,} bytes is over the {max_size_bytes:,}-byte limit"
    return None
