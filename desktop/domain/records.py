"""Documents and attachments as stored (metadata rows). A Qt-free zone (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["TEXT_PREVIEW_MAX_BYTES", "Attachment", "Document", "PreviewKind", "preview_kind"]


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    document_id: str
    bucket: str
    object_path: str
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str | None
    created_at: str


PreviewKind = Literal["image", "pdf", "text", "media", "other"]
TEXT_PREVIEW_MAX_BYTES = 2 * 1024 * 1024  # larger text files show metadata instead
_TEXT_TYPES = {
    "application/json",
    "application/xml",
    "application/x-yaml",
    "application/toml",
    "application/javascript",
    "application/x-sh",
}
_TEXT_SUFFIXES = {
    ".txt",
    ".md",
    ".csv",
    ".json",
    ".py",
    ".js",
    ".ts",
    ".toml",
    ".yaml",
    ".yml",
    ".ini",
    ".log",
    ".xml",
    ".sh",
    ".rs",
    ".go",
    ".c",
    ".h",
    ".cpp",
    ".java",
    ".sql",
    ".html",
    ".css",
}


def preview_kind(attachment: Attachment) -> PreviewKind:
    """How the preview dialog shows an attachment, from its type and name."""
    content_type = attachment.content_type.split(";")[0].strip().lower()
    suffix = (
        "." + attachment.file_name.rsplit(".", 1)[-1].lower() if "." in attachment.file_name else ""
    )
    if content_type.startswith("image/"):
        return "image"
    if content_type == "application/pdf" or suffix == ".pdf":
        return "pdf"
    if content_type.startswith(("audio/", "video/")):
        return "media"
    if content_type.startswith("text/") or content_type in _TEXT_TYPES or suffix in _TEXT_SUFFIXES:
        return "text" if attachment.size_bytes <= TEXT_PREVIEW_MAX_BYTES else "other"
    return "other"
