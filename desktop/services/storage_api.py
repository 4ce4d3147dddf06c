"""Supabase Storage (``/storage/v1``): buckets, objects, signed URLs and TUS, mirroring the wire.
A Qt-free zone.

Uploads stream from disk and downloads stream to disk, each in chunks read or written on a worker
thread (the event loop never blocks on disk or hashing), with sha256 computed on the way.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from desktop.domain.errors import StorageError
from desktop.services.credentials import Credentials
from desktop.services.wire import (
    JsonObject,
    JsonValue,
    json_object,
    map_transport_errors,
    storage_error,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "TUS_CHUNK_BYTES",
    "DownloadedFile",
    "ObjectInfo",
    "StorageApi",
    "StoredFile",
]

DEFAULT_CHUNK_BYTES = 1024 * 1024
TUS_CHUNK_BYTES = 6 * 1024 * 1024  # the chunk size Supabase documents for resumable uploads
ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    object_id: str | None
    size_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class DownloadedFile:
    size_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    name: str
    object_id: str | None
    size_bytes: int
    created_at: str | None
    user_metadata: JsonObject
    etag: str | None = None


def _object_info(item: JsonObject) -> ObjectInfo:
    metadata = item.get("metadata")
    size = metadata.get("size") if isinstance(metadata, dict) else 0
    etag = metadata.get("eTag") if isinstance(metadata, dict) else None
    return ObjectInfo(
        name=str(item["name"]),
        object_id=str(item["id"]) if item.get("id") is not None else None,
        size_bytes=int(size) if isinstance(size, int) else 0,
        created_at=str(item["created_at"]) if item.get("created_at") else None,
        user_metadata={},
        etag=str(etag) if etag else None,
    )


def _is_refused_token(error: StorageError) -> bool:
    return error.code == "AccessDenied" and "row-level security" not in error.message


def _quote_key(key: str) -> str:
    return urllib.parse.quote(key, safe="/")


def _quote_bucket(bucket: str) -> str:
    return urllib.parse.quote(bucket, safe="")


class _HashingReader:
    """Reads an open file chunk by chunk on a worker thread, hashing as it goes."""

    def __init__(self, source: BinaryIO, chunk_bytes: int) -> None:
        self._source = source
        self._chunk_bytes = chunk_bytes
        self.sha256 = hashlib.sha256()

    def read(self) -> bytes:
        chunk = self._source.read(self._chunk_bytes)
        self.sha256.update(chunk)
        return chunk

    def size_and_first_chunk(self) -> tuple[int, bytes]:
        return os.fstat(self._source.fileno()).st_size, self.read()

    def is_last(self, chunk: bytes) -> bool:
        return len(chunk) < self._chunk_bytes  # a short read is the end of the file

    async def chunks(
        self, first: bytes, on_progress: ProgressCallback | None
    ) -> AsyncIterator[bytes]:
        chunk, size_bytes = first, 0
        while chunk:
            size_bytes += len(chunk)
            yield chunk
            if on_progress is not None:
                on_progress(size_bytes)
            if self.is_last(chunk):
                break
            chunk = await asyncio.to_thread(self.read)


class _HashingWriter:
    def __init__(self, destination: Path) -> None:
        self._destination = destination
        self.sha256 = hashlib.sha256()
        self.size_bytes = 0

    def _write(self, sink: BinaryIO, chunk: bytes) -> None:
        sink.write(chunk)
        self.sha256.update(chunk)

    async def drain(
        self, response: httpx.Response, on_progress: ProgressCallback | None
    ) -> DownloadedFile:
        sink = await asyncio.to_thread(self._destination.open, "wb")
        try:
            async for chunk in response.aiter_bytes(DEFAULT_CHUNK_BYTES):
                await asyncio.to_thread(self._write, sink, chunk)
                self.size_bytes += len(chunk)
                if on_progress is not None:
                    on_progress(self.size_bytes)
        finally:
            await asyncio.to_thread(sink.close)
        return DownloadedFile(self.size_bytes, self.sha256.hexdigest())


class StorageApi:
    """One method per Storage route; every error becomes a ``StorageError``."""

    def __init__(self, client: httpx.AsyncClient, url: str, credentials: Credentials) -> None:
        self._client = client
        self._base = url.rstrip("/") + "/storage/v1"
        self._credentials = credentials

    @property
    def base_url(self) -> str:
        return self._base

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        with map_transport_errors(StorageError):
            response = await self._client.send(request, stream=stream)
        if response.is_error:
            if stream:
                with map_transport_errors(StorageError):
                    await response.aread()
                await response.aclose()
            raise storage_error(response)
        return response

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: JsonValue = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        for attempt in (1, 2):
            all_headers = await self._credentials.headers() | (headers or {})
            request = self._client.build_request(
                method, self._base + path, json=json_body, headers=all_headers
            )
            try:
                return await self._send(request)
            except StorageError as error:
                # A refused JWT (expired, or signed with a rotated secret) is renewed once.
                if attempt == 2 or not _is_refused_token(error):
                    raise
                if not await self._credentials.renew():
                    raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    # Buckets

    async def create_bucket(
        self,
        name: str,
        *,
        public: bool = False,
        file_size_limit: int | str | None = None,
        allowed_mime_types: Sequence[str] | None = None,
    ) -> None:
        body: JsonObject = {"name": name, "public": public}
        if file_size_limit is not None:
            body["file_size_limit"] = file_size_limit
        if allowed_mime_types is not None:
            body["allowed_mime_types"] = list(allowed_mime_types)
        await self._request("POST", "/bucket", json_body=body)

    async def get_bucket(self, name: str) -> JsonObject:
        return json_object(await self._request("GET", f"/bucket/{_quote_bucket(name)}"))

    async def delete_bucket(self, name: str) -> None:
        await self._request("DELETE", f"/bucket/{_quote_bucket(name)}")

    # Objects

    async def upload_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        content_type: str = "application/octet-stream",
        upsert: bool = False,
        cache_control: str | None = None,
        on_progress: ProgressCallback | None = None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> StoredFile:
        """Stream ``path`` to ``bucket/key`` (raw body, declared length), hashing it on the way.

        A file that fits in one chunk goes as one body: one worker-thread hop reads and hashes it.
        """
        # Opened here, not on a worker thread, so that a cancelled upload never leaves the handle
        # behind; every read (and its hashing) is one thread hop.
        with path.open("rb") as source:
            reader = _HashingReader(source, chunk_bytes)
            size_bytes, first = await asyncio.to_thread(reader.size_and_first_chunk)
            content: bytes | AsyncIterator[bytes]
            if reader.is_last(first):
                content, size_bytes = first, len(first)
            else:
                content = reader.chunks(first, on_progress)
            headers = await self._credentials.headers() | {
                "content-type": content_type,
                "content-length": str(size_bytes),
                "x-upsert": "true" if upsert else "false",
            }
            if cache_control is not None:
                headers["cache-control"] = cache_control
            url = f"{self._base}/object/{_quote_bucket(bucket)}/{_quote_key(key)}"
            request = self._client.build_request("POST", url, content=content, headers=headers)
            body = json_object(await self._send(request))
        if isinstance(content, bytes) and on_progress is not None:
            on_progress(size_bytes)
        object_id = body.get("Id")
        return StoredFile(
            key=key,
            object_id=str(object_id) if object_id is not None else None,
            size_bytes=size_bytes,
            sha256=reader.sha256.hexdigest(),
        )

    async def download_to(
        self,
        bucket: str,
        key: str,
        destination: Path,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> DownloadedFile:
        url = f"{self._base}/object/authenticated/{_quote_bucket(bucket)}/{_quote_key(key)}"
        request = self._client.build_request("GET", url, headers=await self._credentials.headers())
        return await self._download(request, destination, on_progress)

    async def download_signed_to(
        self, signed_url: str, destination: Path, *, on_progress: ProgressCallback | None = None
    ) -> DownloadedFile:
        """Fetch a signed URL; an expired or revoked one raises ``SignedUrlExpired``."""
        request = self._client.build_request("GET", signed_url)
        return await self._download(request, destination, on_progress)

    async def _download(
        self, request: httpx.Request, destination: Path, on_progress: ProgressCallback | None
    ) -> DownloadedFile:
        response = await self._send(request, stream=True)
        try:
            with map_transport_errors(StorageError):
                return await _HashingWriter(destination).drain(response, on_progress)
        finally:
            await response.aclose()

    async def object_info(self, bucket: str, key: str) -> ObjectInfo:
        body = json_object(
            await self._request(
                "GET", f"/object/info/authenticated/{_quote_bucket(bucket)}/{_quote_key(key)}"
            )
        )
        metadata = body.get("metadata")
        return ObjectInfo(
            name=str(body["name"]),
            object_id=str(body["id"]) if body.get("id") is not None else None,
            size_bytes=int(body.get("size") or 0),  # type: ignore[arg-type]  # a JSON number
            created_at=str(body.get("created_at")) if body.get("created_at") else None,
            user_metadata=metadata if isinstance(metadata, dict) else {},
            etag=str(body["etag"]) if body.get("etag") else None,
        )

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[str]:
        """Bulk delete (idempotent: missing keys are skipped); returns the keys deleted."""
        response = await self._request(
            "DELETE", f"/object/{_quote_bucket(bucket)}", json_body={"prefixes": list(keys)}
        )
        rows = response.json()
        return [str(row["name"]) for row in rows] if isinstance(rows, list) else []

    async def list_page(
        self, bucket: str, prefix: str = "", *, cursor: str | None = None, page_size: int = 1000
    ) -> tuple[list[ObjectInfo], str | None]:
        """One list-v2 page (flat, by name) and the cursor of the next, or None at the end."""
        body: JsonObject = {"prefix": prefix, "limit": page_size}
        if cursor:
            body["cursor"] = cursor
        page = json_object(
            await self._request("POST", f"/object/list-v2/{_quote_bucket(bucket)}", json_body=body)
        )
        objects = page.get("objects")
        infos = [
            _object_info(item)
            for item in (objects if isinstance(objects, list) else [])
            if isinstance(item, dict)
        ]
        next_cursor = page.get("nextCursor")
        has_next = bool(page.get("hasNext")) and isinstance(next_cursor, str)
        return infos, next_cursor if has_next and isinstance(next_cursor, str) else None

    async def iter_objects(
        self, bucket: str, prefix: str = "", *, page_size: int = 1000
    ) -> AsyncIterator[ObjectInfo]:
        """Every object under ``prefix`` (flat, by name); memory stays one page."""
        cursor: str | None = None
        while True:
            infos, cursor = await self.list_page(bucket, prefix, cursor=cursor, page_size=page_size)
            for info in infos:
                yield info
            if cursor is None:
                return

    # Signed URLs

    def _signed(self, bucket: str, key: str, signed_path: str) -> str:
        # Rebuilt from our own encoding of the key: the server's path is not percent-encoded, so
        # a key containing "?" or "#" would make its URL ambiguous.
        token = signed_path.rsplit("?token=", 1)[1]
        return f"{self._base}/object/sign/{_quote_bucket(bucket)}/{_quote_key(key)}?token={token}"

    async def create_signed_url(self, bucket: str, key: str, expires_in_s: int) -> str:
        response = await self._request(
            "POST",
            f"/object/sign/{_quote_bucket(bucket)}/{_quote_key(key)}",
            json_body={"expiresIn": expires_in_s},
        )
        return self._signed(bucket, key, str(json_object(response)["signedURL"]))

    async def create_signed_urls(
        self, bucket: str, keys: Sequence[str], expires_in_s: int
    ) -> dict[str, str | None]:
        """Sign many keys in one request; a key that cannot be signed maps to None."""
        response = await self._request(
            "POST",
            f"/object/sign/{_quote_bucket(bucket)}",
            json_body={"expiresIn": expires_in_s, "paths": list(keys)},
        )
        items = response.json()
        signed: dict[str, str | None] = {}
        for item in items if isinstance(items, list) else []:
            url, key = item.get("signedURL"), str(item["path"])
            signed[key] = self._signed(bucket, key, str(url)) if url else None
        return signed

    # Resumable uploads (TUS 1.0.0)

    async def tus_create(
        self,
        bucket: str,
        key: str,
        length: int,
        *,
        content_type: str,
        upsert: bool = False,
        user_metadata: JsonObject | None = None,
    ) -> str:
        """Start a resumable upload; returns its URL (the ``Location``)."""
        metadata = {"bucketName": bucket, "objectName": key, "contentType": content_type}
        if user_metadata:
            metadata["metadata"] = json.dumps(user_metadata)
        encoded = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in metadata.items()
        )
        headers = {
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(length),
            "Upload-Metadata": encoded,
            "x-upsert": "true" if upsert else "false",
        }
        response = await self._request("POST", "/upload/resumable", headers=headers)
        return response.headers["location"]

    async def tus_offset(self, location: str) -> int:
        headers = await self._credentials.headers() | {"Tus-Resumable": "1.0.0"}
        response = await self._send(self._client.build_request("HEAD", location, headers=headers))
        return int(response.headers["upload-offset"])

    async def tus_patch(self, location: str, offset: int, data: bytes) -> int:
        headers = await self._credentials.headers() | {
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        }
        response = await self._send(
            self._client.build_request("PATCH", location, content=data, headers=headers)
        )
        return int(response.headers["upload-offset"])

    async def tus_terminate(self, location: str) -> None:
        headers = await self._credentials.headers() | {"Tus-Resumable": "1.0.0"}
        await self._send(self._client.build_request("DELETE", location, headers=headers))

    async def upload_resumable(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        content_type: str = "application/octet-stream",
        upsert: bool = False,
        chunk_bytes: int = TUS_CHUNK_BYTES,
        on_progress: ProgressCallback | None = None,
    ) -> StoredFile:
        """Upload ``path`` in TUS chunks; the object appears only when the last chunk lands."""
        with path.open("rb") as source:
            reader = _HashingReader(source, chunk_bytes)
            size_bytes, first = await asyncio.to_thread(reader.size_and_first_chunk)
            location = await self.tus_create(
                bucket, key, size_bytes, content_type=content_type, upsert=upsert
            )
            offset = 0
            async for chunk in reader.chunks(first, None):
                offset = await self.tus_patch(location, offset, chunk)
                if on_progress is not None:
                    on_progress(offset)
        if size_bytes == 0:
            offset = await self.tus_offset(location)
        return StoredFile(
            key=key,
            object_id=None,
            size_bytes=offset,
            sha256=reader.sha256.hexdigest(),
        )
