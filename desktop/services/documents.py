"""Documents and their attachments as the window lists and edits them. A Qt-free zone."""

from __future__ import annotations

from desktop.domain.records import Attachment, Document
from desktop.services.deletion import Deleter, DocumentDeletion
from desktop.services.rest_api import RestApi, eq
from desktop.services.schema import ATTACHMENTS_TABLE, DOCUMENTS_TABLE
from desktop.services.wire import JsonObject

__all__ = ["DocumentsService"]


def _document(row: JsonObject) -> Document:
    return Document(id=str(row["id"]), title=str(row["title"]), created_at=str(row["created_at"]))


def _attachment(row: JsonObject) -> Attachment:
    size = row.get("size_bytes")
    return Attachment(
        id=str(row["id"]),
        document_id=str(row["document_id"]),
        bucket=str(row["bucket"]),
        object_path=str(row["object_path"]),
        file_name=str(row["file_name"]),
        content_type=str(row.get("content_type") or "application/octet-stream"),
        size_bytes=size if isinstance(size, int) else 0,
        sha256=str(row["sha256"]) if row.get("sha256") else None,
        created_at=str(row["created_at"]),
    )


class DocumentsService:
    def __init__(self, rest: RestApi, deleter: Deleter) -> None:
        self._rest = rest
        self._deleter = deleter

    async def list_documents(self) -> list[Document]:
        page = await self._rest.select(DOCUMENTS_TABLE, order="created_at.asc")
        return [_document(row) for row in page.rows]

    async def create_document(self, title: str) -> Document:
        [row] = await self._rest.insert(DOCUMENTS_TABLE, {"title": title})
        return _document(row)

    async def rename_document(self, document_id: str, title: str) -> None:
        await self._rest.update(DOCUMENTS_TABLE, {"title": title}, [eq("id", document_id)])

    async def delete_document(self, document_id: str) -> DocumentDeletion:
        return await self._deleter.delete_document(document_id)

    async def list_attachments(self, document_id: str) -> list[Attachment]:
        page = await self._rest.select(
            ATTACHMENTS_TABLE, filters=[eq("document_id", document_id)], order="created_at.asc"
        )
        return [_attachment(row) for row in page.rows]

    async def delete_attachment(self, attachment_id: str) -> bool:
        return await self._deleter.delete_attachment(attachment_id)
