"""The names of the project's tables and bucket, in one place. A Qt-free zone."""

from __future__ import annotations

__all__ = ["ATTACHMENTS_BUCKET", "ATTACHMENTS_TABLE", "DOCUMENTS_TABLE"]

DOCUMENTS_TABLE = "documents"
ATTACHMENTS_TABLE = "attachments"
ATTACHMENTS_BUCKET = "attachments"
