"""Request parsing shared by the Storage routes: JSON bodies, keys, and streamed object bodies."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from desktop.server.blobs import READ_CHUNK_BYTES, BlobStore, BlobWriter
from desktop.server.catalog import Bucket
from desktop.server.errors import StorageApiError
from desktop.server.rules import has_dot_segment, is_valid_key, mime_type_allowed

__all__ = [
    "ReceivedObject",
    "check_key",
    "int_field",
    "json_body",
    "receive_object",
    "require_field",
]

DEFAULT_MIME_TYPE = "application/octet-stream"
DEFAULT_CACHE_CONTROL = "no-cache"
MAX_USER_METADATA_BYTES = 1024 * 1024


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise StorageApiError.invalid_request("Body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise StorageApiError.invalid_request("body must be object")
    return body


def require_field(body: dict[str, Any], name: str) -> Any:
    if name not in body or body[name] is None:
        raise StorageApiError.invalid_request(f"body must have required property '{name}'")
    return body[name]


def int_field(body: dict[str, Any], name: str, *, minimum: int) -> int:
    """An integer field, coerced from a numeric string as Fastify's schema coercion does."""
    value = require_field(body, name)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise StorageApiError.invalid_request(f"body/{name} must be integer")
    if value < minimum:
        raise StorageApiError.invalid_request(f"body/{name} must be >= {minimum}")
    return value


def check_key(bucket_id: str, key: str) -> None:
    """Refuse keys outside Supabase's ASCII set, and ``.``/``..`` segments."""
    if not is_valid_key(key):
        raise StorageApiError.invalid_key(key)
    if has_dot_segment(key):
        raise StorageApiError.invalid_key(f"{bucket_id}/{key} contains dot path segment")


@dataclass(frozen=True, slots=True)
class ReceivedObject:
    writer: BlobWriter
    mimetype: str
    cache_control: str
    user_metadata: dict[str, Any]

    def metadata(self, last_modified: str) -> dict[str, Any]:
        return {
            "eTag": f'"{self.writer.md5_hex}"',
            "size": self.writer.size_bytes,
            "mimetype": self.mimetype,
            "cacheControl": self.cache_control,
            "lastModified": last_modified,
            "contentLength": self.writer.size_bytes,
            "httpStatusCode": 200,
        }


def size_limit(bucket: Bucket, global_limit: int) -> int:
    if bucket.file_size_limit:
        return min(bucket.file_size_limit, global_limit)
    return global_limit


def _decode_user_metadata(raw: str | None, *, is_base64: bool) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        text = base64.b64decode(raw).decode() if is_base64 else raw
        if len(text) > MAX_USER_METADATA_BYTES:
            raise StorageApiError.invalid_request("metadata is too large")
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StorageApiError.invalid_request("Invalid metadata") from exc
    if not isinstance(value, dict):
        raise StorageApiError.invalid_request("Invalid metadata")
    return value


async def receive_object(
    request: Request, bucket: Bucket, blobs: BlobStore, global_limit: int
) -> ReceivedObject:
    """Stream the request's object (raw body or the first multipart file part) to staging.

    Raises:
        StorageApiError: EntityTooLarge, InvalidMimeType or InvalidRequest, after which nothing
            of the upload remains on disk.
    """
    limit = size_limit(bucket, global_limit)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit and not _is_multipart(request):
        raise StorageApiError.entity_too_large()
    if _is_multipart(request):
        return await _receive_multipart(request, bucket, blobs, limit)

    mimetype = request.headers.get("content-type") or DEFAULT_MIME_TYPE
    if not mime_type_allowed(mimetype, bucket.allowed_mime_types):
        raise StorageApiError.invalid_mime_type(mimetype)
    cache_control = request.headers.get("cache-control") or DEFAULT_CACHE_CONTROL
    user_metadata = _decode_user_metadata(request.headers.get("x-metadata"), is_base64=True)
    writer = blobs.new_staging()
    too_large = False
    try:
        async for chunk in request.stream():
            if too_large:
                continue  # drain, so the client reads our answer instead of a reset
            if writer.size_bytes + len(chunk) > limit:
                too_large = True
                continue
            writer.write(chunk)
    except ClientDisconnect:
        writer.close()
        blobs.discard(writer.path)
        raise
    writer.close()
    if too_large:
        blobs.discard(writer.path)
        raise StorageApiError.entity_too_large()
    return ReceivedObject(writer, mimetype, cache_control, user_metadata)


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def _receive_multipart(
    request: Request, bucket: Bucket, blobs: BlobStore, limit: int
) -> ReceivedObject:
    form = await request.form(max_files=1000, max_fields=1000)
    try:
        fields: dict[str, str] = {}
        upload: UploadFile | None = None
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                upload = value
                break
            fields[name] = value
        if upload is None:
            raise StorageApiError.invalid_request("No content provided")
        mimetype = fields.get("contentType") or upload.content_type or DEFAULT_MIME_TYPE
        if not mime_type_allowed(mimetype, bucket.allowed_mime_types):
            raise StorageApiError.invalid_mime_type(mimetype)
        cache_seconds = fields.get("cacheControl")
        cache_control = f"max-age={cache_seconds}" if cache_seconds else DEFAULT_CACHE_CONTROL
        user_metadata = _decode_user_metadata(
            fields.get("metadata") or fields.get("userMetadata"), is_base64=False
        )
        writer = blobs.new_staging()
        try:
            while chunk := await upload.read(READ_CHUNK_BYTES):
                if writer.size_bytes + len(chunk) > limit:
                    raise StorageApiError.entity_too_large()
                writer.write(chunk)
        except StorageApiError:
            writer.close()
            blobs.discard(writer.path)
            raise
        writer.close()
        return ReceivedObject(writer, mimetype, cache_control, user_metadata)
    finally:
        await form.close()
