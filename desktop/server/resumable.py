"""TUS 1.0.0 resumable uploads at ``/upload/resumable``, as Supabase Storage serves them.

TUS errors are plain text with their real HTTP status (not the JSON envelope). The object becomes
visible only when the last byte has arrived.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from desktop.server.access import bearer_token, can_see_object, can_write_objects, context_of
from desktop.server.catalog import DuplicateError, TusUpload, iso_now
from desktop.server.context import ServerContext
from desktop.server.requests import DEFAULT_MIME_TYPE, size_limit
from desktop.server.responses import JSONResponse
from desktop.server.rules import has_dot_segment, is_valid_key, mime_type_allowed
from desktop.server.tokens import InvalidToken, Principal

__all__ = ["ROUTES", "TusError", "tus_error_response"]

TUS_VERSION = "1.0.0"
OFFSET_STREAM = "application/offset+octet-stream"
_EXPOSED = (
    "Authorization, Content-Type, Location, Tus-Extension, Tus-Max-Size, Tus-Resumable, "
    "Tus-Version, Upload-Concat, Upload-Defer-Length, Upload-Length, Upload-Metadata, "
    "Upload-Offset, X-HTTP-Method-Override, X-Requested-With, X-Forwarded-Host, "
    "X-Forwarded-Proto, Forwarded,"
)
_ALLOWED = (
    "Authorization, Content-Type, Location, Tus-Extension, Tus-Max-Size, Tus-Resumable, "
    "Tus-Version, Upload-Concat, Upload-Defer-Length, Upload-Length, Upload-Metadata, "
    "Upload-Offset, X-HTTP-Method-Override, X-Requested-With, X-Forwarded-Host, "
    "X-Forwarded-Proto, Forwarded, Authorization, X-Upsert, Upload-Expires, ApiKey, x-signature"
)


class TusError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _headers(**extra: str) -> dict[str, str]:
    headers = {
        "access-control-allow-origin": "*",
        "access-control-expose-headers": _EXPOSED,
        "tus-resumable": TUS_VERSION,
    }
    headers.update({name.replace("_", "-"): value for name, value in extra.items()})
    return headers


async def tus_error_response(request: Request, exc: Exception) -> Response:
    """TUS errors are plain text with their real status; HEAD gets the headers only."""
    assert isinstance(exc, TusError)
    body = exc.text.encode()
    headers = _headers(content_length=str(len(body)))
    return Response(
        b"" if request.method == "HEAD" else body,
        exc.status,
        headers,
        media_type="text/plain;charset=UTF-8",
    )


def _principal(request: Request) -> Principal | Response:
    """TUS answers auth failures with the JSON envelope (statusCode "403", this key order)."""
    token = bearer_token(request) or ""
    try:
        return context_of(request).signer.principal(token)
    except InvalidToken as exc:
        return JSONResponse(
            {
                "statusCode": "403",
                "code": "AccessDenied",
                "error": "Unauthorized",
                "message": str(exc),
            },
            status_code=400,
        )


def _encode_id(bucket: str, name: str, version: str) -> str:
    return base64.urlsafe_b64encode(f"{bucket}/{name}/{version}".encode()).decode().rstrip("=")


def _parse_metadata(header: str) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            continue
        try:
            metadata[key] = base64.b64decode(value).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TusError(
                400,
                "Upload-Metadata is invalid. It MUST consist of one or more comma-separated"
                " key-value pairs.\n",
            ) from exc
    return metadata


def _user_metadata(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise TusError(400, "Invalid metadata") from exc
    if not isinstance(value, dict):
        raise TusError(400, "Invalid metadata")
    return value


def _cache_control(raw: str | None) -> str:
    if raw and raw.isdigit():
        return f"max-age={raw}"
    if raw and raw.startswith("max-age="):
        return raw
    return "no-cache"


def _metadata_header(upload: TusUpload) -> str:
    pairs = {"bucketName": upload.bucket_id, "objectName": upload.name}
    if upload.content_type:
        pairs["contentType"] = upload.content_type
    pairs["cacheControl"] = upload.cache_control
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items()
    )


def _location(request: Request, upload_id: str) -> str:
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    root = request.scope.get("root_path", "")
    return f"{scheme}://{host}{root}/upload/resumable/{upload_id}"


def _check_resumable(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise TusError(412, "Tus-Resumable Required\n")


async def _append(request: Request, context: ServerContext, upload: TusUpload) -> TusUpload:
    """Append the request body at the upload's offset; finish the object on the last byte."""
    writer = context.blobs.tus_part(upload.id)
    overflow = False
    try:
        async for chunk in request.stream():
            room = upload.upload_length - writer.size_bytes
            if len(chunk) > room:
                writer.write(chunk[:room])
                overflow = True
                break
            writer.write(chunk)
    except ClientDisconnect:
        writer.close()
        context.catalog.advance_tus(upload.id, writer.size_bytes, completed=False)
        raise
    writer.close()
    if overflow:
        context.catalog.advance_tus(upload.id, writer.size_bytes, completed=False)
        raise TusError(413, "upload's size exceeded\n")
    completed = writer.size_bytes >= upload.upload_length
    if completed:
        _finish(context, upload, writer.md5_hex, writer.size_bytes)
    context.catalog.advance_tus(upload.id, writer.size_bytes, completed=completed)
    return context.catalog.get_tus(upload.id) or upload


def _finish(context: ServerContext, upload: TusUpload, md5_hex: str, size: int) -> None:
    now = iso_now()
    metadata = {
        "eTag": f'"{md5_hex}"',
        "size": size,
        "mimetype": upload.content_type or DEFAULT_MIME_TYPE,
        "cacheControl": upload.cache_control,
        "lastModified": now,
        "contentLength": size,
        "httpStatusCode": 200,
    }
    try:
        _, replaced = context.catalog.put_object(
            upload.bucket_id,
            upload.name,
            owner=upload.owner,
            version=upload.version,
            metadata=metadata,
            user_metadata=upload.user_metadata,
            upsert=upload.upsert,
            may_replace=lambda existing: not upload.owner or existing.owner == upload.owner,
        )
    except DuplicateError as exc:
        raise TusError(409, "The resource already exists") from exc
    except PermissionError as exc:
        raise TusError(403, "new row violates row-level security policy") from exc
    context.blobs.commit_tus_part(upload.id, upload.version)
    if replaced:
        context.blobs.delete(replaced)


async def create(request: Request) -> Response:
    context = context_of(request)
    principal = _principal(request)
    if isinstance(principal, Response):
        return principal
    _check_resumable(request)
    raw_metadata = request.headers.get("upload-metadata")
    if not raw_metadata:
        raise TusError(400, "Metadata header is required")
    length_header = request.headers.get("upload-length", "")
    if not length_header.isdigit():
        raise TusError(400, "Upload-Length or Upload-Defer-Length header required\n")
    upload_length = int(length_header)
    metadata = _parse_metadata(raw_metadata)
    bucket_id = metadata.get("bucketName", "")
    name = metadata.get("objectName", "")
    bucket = context.catalog.get_bucket(bucket_id) if bucket_id else None
    if bucket is None:
        raise TusError(404, "Bucket not found")
    if not is_valid_key(name):
        raise TusError(400, f"Invalid key: {name}")
    if has_dot_segment(name):
        raise TusError(400, f"Invalid key: {bucket_id}/{name} contains dot path segment")
    if upload_length > size_limit(bucket, context.config.global_file_size_limit):
        raise TusError(413, "Maximum size exceeded\n")
    content_type = metadata.get("contentType") or DEFAULT_MIME_TYPE
    if not mime_type_allowed(content_type, bucket.allowed_mime_types):
        raise TusError(415, f"mime type {content_type} is not supported")
    if not can_write_objects(principal):
        raise TusError(403, "new row violates row-level security policy")
    upsert = request.headers.get("x-upsert") == "true"
    existing = context.catalog.get_object(bucket_id, name)
    if existing is not None:
        if not upsert:
            raise TusError(409, "The resource already exists")
        if not can_see_object(principal, existing):
            raise TusError(403, "new row violates row-level security policy")
    user_metadata = _user_metadata(metadata.get("metadata"))
    version = str(uuid.uuid4())
    upload = TusUpload(
        id=_encode_id(bucket_id, name, version),
        bucket_id=bucket_id,
        name=name,
        version=version,
        owner=principal.sub or "",
        upload_length=upload_length,
        offset=0,
        content_type=content_type,
        cache_control=_cache_control(metadata.get("cacheControl")),
        user_metadata=user_metadata,
        upsert=upsert,
        completed=False,
    )
    context.catalog.create_tus(upload)
    context.blobs.tus_part(upload.id, create=True).close()
    headers = _headers(location=_location(request, upload.id))
    has_body = request.headers.get("content-type") == OFFSET_STREAM
    if has_body or upload_length == 0:
        upload = await _append(request, context, upload)
        headers["upload-offset"] = str(upload.offset)
        if upload.completed:
            headers["tus-complete"] = "1"
    return Response(status_code=201, headers=headers, media_type="text/plain;charset=UTF-8")


def _own_upload(request: Request, principal: Principal) -> TusUpload:
    upload = context_of(request).catalog.get_tus(request.path_params["upload_id"])
    if upload is None or not (principal.is_service or upload.owner == (principal.sub or "")):
        raise TusError(404, "The file for this url was not found\n")
    return upload


async def patch(request: Request) -> Response:
    context = context_of(request)
    principal = _principal(request)
    if isinstance(principal, Response):
        return principal
    _check_resumable(request)
    upload = _own_upload(request, principal)
    content_type = request.headers.get("content-type")
    if content_type is None:
        raise TusError(403, "Content-Type header required\n")
    if content_type != OFFSET_STREAM:
        raise TusError(400, "Invalid content-type\n")
    if request.headers.get("upload-offset") != str(upload.offset):
        raise TusError(409, "Upload-Offset conflict\n")
    if upload.completed:
        raise TusError(400, "Upload is already complete\n")
    upload = await _append(request, context, upload)
    headers = _headers(upload_offset=str(upload.offset))
    if upload.completed:
        headers = _headers(tus_complete="1", upload_offset=str(upload.offset))
    return Response(status_code=204, headers=headers)


async def head(request: Request) -> Response:
    principal = _principal(request)
    if isinstance(principal, Response):
        return principal
    _check_resumable(request)
    upload = _own_upload(request, principal)
    return Response(
        status_code=200,
        headers=_headers(
            cache_control="no-store",
            upload_length=str(upload.upload_length),
            upload_metadata=_metadata_header(upload),
            upload_offset=str(upload.offset),
        ),
        media_type="text/plain;charset=UTF-8",
    )


async def terminate(request: Request) -> Response:
    context = context_of(request)
    principal = _principal(request)
    if isinstance(principal, Response):
        return principal
    _check_resumable(request)
    upload = _own_upload(request, principal)
    if upload.completed:
        raise TusError(400, "Cannot terminate an already completed upload\n")
    context.catalog.delete_tus(upload.id)
    context.blobs.drop_tus_part(upload.id)
    return Response(status_code=204, headers=_headers())


async def options(request: Request) -> Response:
    return Response(
        status_code=204,
        headers={
            "access-control-allow-headers": _ALLOWED,
            "access-control-allow-methods": "POST, HEAD, PATCH, OPTIONS, DELETE",
            "access-control-allow-origin": "*",
            "access-control-expose-headers": _EXPOSED,
            "access-control-max-age": "86400",
            "tus-extension": (
                "creation,creation-with-upload,creation-defer-length,termination,expiration"
            ),
            "tus-max-size": str(context_of(request).config.global_file_size_limit),
            "tus-resumable": TUS_VERSION,
            "tus-version": TUS_VERSION,
        },
    )


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/upload/resumable", create, ["POST"]),
    ("/upload/resumable", options, ["OPTIONS"]),
    ("/upload/resumable/{upload_id}", patch, ["PATCH"]),
    ("/upload/resumable/{upload_id}", head, ["HEAD"]),
    ("/upload/resumable/{upload_id}", terminate, ["DELETE"]),
    ("/upload/resumable/{upload_id}", options, ["OPTIONS"]),
]
