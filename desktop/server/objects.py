"""Storage object routes: upload, download, info, delete, list (v1 and v2), move and copy."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desktop.server.access import (
    ANON,
    can_see_object,
    can_write_objects,
    context_of,
    listing_owner,
    optional_principal,
    owner_of,
    require_principal,
)
from desktop.server.catalog import Bucket, DuplicateError, StoredObject, iso_now
from desktop.server.context import ServerContext
from desktop.server.errors import StorageApiError
from desktop.server.rendering import render_missing_head, render_object
from desktop.server.requests import (
    check_key,
    int_field,
    json_body,
    receive_object,
    require_field,
)
from desktop.server.responses import JSONResponse
from desktop.server.tokens import Principal

__all__ = ["ROUTES"]

BULK_DELETE_MAX = 1000
LIST_V1_DEFAULT_LIMIT = 100
LIST_V2_MAX_LIMIT = 1000


def existing_bucket(context: ServerContext, bucket_id: str) -> Bucket:
    bucket = context.catalog.get_bucket(bucket_id)
    if bucket is None:
        raise StorageApiError.no_such_bucket()
    return bucket


def visible_object(
    context: ServerContext, principal: Principal, bucket: Bucket, key: str
) -> StoredObject:
    stored = context.catalog.get_object(bucket.id, key)
    if stored is None or not (bucket.public or can_see_object(principal, stored)):
        raise StorageApiError.no_such_key()
    return stored


async def store_upload(
    request: Request,
    context: ServerContext,
    *,
    bucket_id: str,
    key: str,
    owner: str,
    upsert: bool,
    may_replace: Any,
) -> StoredObject:
    """Validate, stream the body to disk, then commit row and bytes together."""
    check_key(bucket_id, key)
    bucket = existing_bucket(context, bucket_id)
    if not upsert and context.catalog.get_object(bucket_id, key) is not None:
        raise StorageApiError.key_exists()
    received = await receive_object(
        request, bucket, context.blobs, context.config.global_file_size_limit
    )
    version = str(uuid.uuid4())
    try:
        stored, replaced = context.catalog.put_object(
            bucket_id,
            key,
            owner=owner,
            version=version,
            metadata=received.metadata(iso_now()),
            user_metadata=received.user_metadata,
            upsert=upsert,
            may_replace=may_replace,
        )
    except DuplicateError as exc:
        context.blobs.discard(received.writer.path)
        raise StorageApiError.key_exists() from exc
    except PermissionError as exc:
        context.blobs.discard(received.writer.path)
        raise StorageApiError.rls_denied() from exc
    context.blobs.commit(received.writer.path, version)
    if replaced:
        context.blobs.delete(replaced)
    return stored


async def upload(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    if not can_write_objects(principal):
        check_key(bucket_id, key)
        existing_bucket(context, bucket_id)
        raise StorageApiError.rls_denied()
    upsert = request.method == "PUT" or request.headers.get("x-upsert") == "true"
    stored = await store_upload(
        request,
        context,
        bucket_id=bucket_id,
        key=key,
        owner=owner_of(principal),
        upsert=upsert,
        may_replace=lambda existing: can_see_object(principal, existing),
    )
    return JSONResponse({"Key": f"{bucket_id}/{key}", "Id": stored.id})


async def _download(request: Request, principal: Principal, *, public_only: bool) -> Response:
    context = context_of(request)
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    try:
        check_key(bucket_id, key)
        bucket = existing_bucket(context, bucket_id)
        if public_only and not bucket.public:
            raise StorageApiError.no_such_bucket()
        stored = visible_object(context, principal, bucket, key)
    except StorageApiError as error:
        if request.method == "HEAD":
            return render_missing_head(error)
        raise
    return render_object(request, stored, context.blobs)


async def download_authenticated(request: Request) -> Response:
    return await _download(request, require_principal(request), public_only=False)


async def download_public(request: Request) -> Response:
    return await _download(request, ANON, public_only=True)


async def download(request: Request) -> Response:
    principal = optional_principal(request)
    if principal is None:
        bucket = context_of(request).catalog.get_bucket(request.path_params["bucket"])
        if bucket is None or not bucket.public:
            error = StorageApiError.no_such_bucket()
            if request.method == "HEAD":
                return render_missing_head(error)
            raise error
        principal = ANON
    return await _download(request, principal, public_only=False)


async def _info(request: Request, principal: Principal, *, public_only: bool) -> Response:
    context = context_of(request)
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    check_key(bucket_id, key)
    bucket = existing_bucket(context, bucket_id)
    if public_only and not bucket.public:
        raise StorageApiError.no_such_bucket()
    stored = visible_object(context, principal, bucket, key)
    body = {
        "id": stored.id,
        "name": stored.name,
        "version": stored.version,
        "bucket_id": stored.bucket_id,
        "size": stored.size,
        "content_type": stored.mimetype,
        "cache_control": stored.cache_control,
        "etag": stored.etag,
        "metadata": stored.user_metadata,
        "last_modified": stored.updated_at,
        "created_at": stored.created_at,
    }
    rendered = render_object(request, stored, context.blobs)
    headers = {
        name: rendered.headers[name]
        for name in ("etag", "last-modified", "cache-control")
        if name in rendered.headers
    }
    return JSONResponse(body, headers=headers)


async def info_authenticated(request: Request) -> Response:
    return await _info(request, require_principal(request), public_only=False)


async def info_public(request: Request) -> Response:
    return await _info(request, ANON, public_only=True)


async def info(request: Request) -> Response:
    return await _info(request, optional_principal(request) or ANON, public_only=False)


async def delete_one(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    check_key(bucket_id, key)
    bucket = existing_bucket(context, bucket_id)
    stored = context.catalog.get_object(bucket.id, key)
    if stored is None or not can_see_object(principal, stored):
        raise StorageApiError.no_such_key()
    for deleted in context.catalog.delete_objects(bucket.id, [key]):
        context.blobs.delete(deleted.version)
    return JSONResponse({"message": "Successfully deleted"})


async def delete_many(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    body = await json_body(request)
    prefixes = require_field(body, "prefixes")
    if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
        raise StorageApiError.invalid_request("body/prefixes must be array")
    if not prefixes:
        raise StorageApiError.invalid_request("body/prefixes must NOT have fewer than 1 items")
    if len(prefixes) > BULK_DELETE_MAX:
        raise StorageApiError.invalid_request(
            f"body/prefixes must NOT have more than {BULK_DELETE_MAX} items"
        )
    bucket_id = request.path_params["bucket"]
    found = context.catalog.get_objects(bucket_id, list(dict.fromkeys(prefixes)))
    allowed = [stored.name for stored in found if can_see_object(principal, stored)]
    deleted = context.catalog.delete_objects(bucket_id, allowed) if allowed else []
    for stored in deleted:
        context.blobs.delete(stored.version)
    return JSONResponse([stored.as_row() for stored in deleted])


def _sort_by(body: dict[str, Any], columns: set[str]) -> tuple[str, bool]:
    sort_by = body.get("sortBy") or {}
    if not isinstance(sort_by, dict):
        raise StorageApiError.invalid_request("body/sortBy must be object")
    column = sort_by.get("column", "name")
    order = str(sort_by.get("order", "asc")).lower()
    if column not in columns:
        raise StorageApiError.invalid_request(
            "body/sortBy/column must be equal to one of the allowed values"
        )
    if order not in {"asc", "desc"}:
        raise StorageApiError.invalid_request(
            "body/sortBy/order must be equal to one of the allowed values"
        )
    return column, order == "desc"


def _folder_item(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "id": None,
        "updated_at": None,
        "created_at": None,
        "last_accessed_at": None,
        "metadata": None,
    }


async def list_v1(request: Request) -> Response:
    """One level under ``prefix``: files and folders, names relative to the prefix."""
    context = context_of(request)
    principal = require_principal(request)
    body = await json_body(request)
    prefix = require_field(body, "prefix")
    if not isinstance(prefix, str):
        raise StorageApiError.invalid_request("body/prefix must be string")
    limit = int_field(body, "limit", minimum=1) if "limit" in body else LIST_V1_DEFAULT_LIMIT
    offset = int_field(body, "offset", minimum=0) if "offset" in body else 0
    column, descending = _sort_by(body, {"name", "updated_at", "created_at", "last_accessed_at"})
    search = str(body.get("search") or "").lower()
    bucket_id = request.path_params["bucket"]
    if principal.is_service or principal.is_user:
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        rows = context.catalog.objects_under(bucket_id, prefix, owner=listing_owner(principal))
    else:
        rows = []
    folders: dict[str, None] = {}
    files: list[tuple[str, StoredObject]] = []
    for stored in rows:
        relative = stored.name[len(prefix) :]
        head, slash, _ = relative.partition("/")
        if search and not head.lower().startswith(search):
            continue
        if slash:
            folders.setdefault(head)
        else:
            files.append((relative, stored))
    if column == "name":
        items = [(name, None) for name in folders] + files
        items.sort(key=lambda item: item[0], reverse=descending)
    else:
        files.sort(key=lambda item: getattr(item[1], column), reverse=descending)
        items = [(name, None) for name in sorted(folders)] + files
    page = items[offset : offset + min(limit, 1500)]
    return JSONResponse(
        [
            _folder_item(name) if stored is None else stored.as_list_item(name)
            for name, stored in page
        ]
    )


def _encode_cursor(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise StorageApiError.invalid_request("Invalid cursor") from exc


async def list_v2(request: Request) -> Response:
    """Flat (or one level with ``with_delimiter``) listing of full keys, paged by cursor."""
    context = context_of(request)
    principal = require_principal(request)
    body = await json_body(request)
    prefix = body.get("prefix") or ""
    limit = (
        min(int_field(body, "limit", minimum=1), LIST_V2_MAX_LIMIT)
        if "limit" in body
        else LIST_V2_MAX_LIMIT
    )
    _sort_by(body, {"name", "updated_at", "created_at"})
    with_delimiter = bool(body.get("with_delimiter"))
    after = _decode_cursor(body["cursor"]) if body.get("cursor") else None
    bucket_id = request.path_params["bucket"]
    owner = listing_owner(principal)
    if not (principal.is_service or principal.is_user):
        return JSONResponse({"hasNext": False, "folders": [], "objects": []})

    folders: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    last_name: str | None = None
    has_next = False
    while True:
        batch = context.catalog.objects_under(
            bucket_id, prefix, after=after, limit=limit + 1, owner=owner
        )
        for stored in batch:
            if len(folders) + len(objects) == limit:
                has_next = True
                break
            relative = stored.name[len(prefix) :]
            head, slash, _ = relative.partition("/")
            if with_delimiter and slash:
                folder = prefix + head + "/"
                folders.append(_folder_item(folder))
                last_name = folder
                after = folder + "\U0010ffff"  # skip the rest of this folder
                break
            objects.append(stored.as_list_item(stored.name))
            last_name = after = stored.name
        else:
            if len(batch) < limit + 1:
                break
            continue
        if has_next:
            break
    response: dict[str, Any] = {"hasNext": has_next}
    if has_next and last_name is not None:
        response["nextCursor"] = _encode_cursor(last_name)
        response["nextCursorKey"] = last_name
    response["folders"] = folders
    response["objects"] = objects
    return JSONResponse(response)


def _move_request(body: dict[str, Any]) -> tuple[str, str, str, str]:
    bucket_id = require_field(body, "bucketId")
    source = require_field(body, "sourceKey")
    destination = require_field(body, "destinationKey")
    destination_bucket = body.get("destinationBucket") or bucket_id
    for value in (bucket_id, source, destination, destination_bucket):
        if not isinstance(value, str):
            raise StorageApiError.invalid_request("body must have string keys")
    return bucket_id, source, destination_bucket, destination


async def move(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    bucket_id, source, destination_bucket, destination = _move_request(await json_body(request))
    check_key(destination_bucket, destination)
    bucket = existing_bucket(context, bucket_id)
    existing_bucket(context, destination_bucket)
    visible_object(context, principal, bucket, source)  # NoSuchKey unless the caller sees it
    if (bucket_id, source) == (destination_bucket, destination):
        return JSONResponse({"message": "Successfully moved"})
    try:
        context.catalog.rename_object(bucket_id, source, destination_bucket, destination)
    except DuplicateError as exc:
        raise StorageApiError.key_exists() from exc
    return JSONResponse({"message": "Successfully moved"})


async def copy(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    body = await json_body(request)
    bucket_id, source, destination_bucket, destination = _move_request(body)
    check_key(destination_bucket, destination)
    bucket = existing_bucket(context, bucket_id)
    existing_bucket(context, destination_bucket)
    stored = visible_object(context, principal, bucket, source)
    if not can_write_objects(principal):
        raise StorageApiError.rls_denied()
    upsert = request.headers.get("x-upsert") == "true"
    metadata = dict(stored.metadata)
    overrides = body.get("metadata") or {}
    if isinstance(overrides, dict):
        if "cacheControl" in overrides:
            metadata["cacheControl"] = overrides["cacheControl"]
        if "mimetype" in overrides:
            metadata["mimetype"] = overrides["mimetype"]
    metadata["lastModified"] = iso_now()
    user_metadata = stored.user_metadata if body.get("copyMetadata", True) else {}
    version = str(uuid.uuid4())
    context.blobs.copy(stored.version, version)
    try:
        copied, replaced = context.catalog.put_object(
            destination_bucket,
            destination,
            owner=owner_of(principal),
            version=version,
            metadata=metadata,
            user_metadata=user_metadata,
            upsert=upsert,
            may_replace=lambda existing: can_see_object(principal, existing),
        )
    except (DuplicateError, PermissionError) as exc:
        context.blobs.delete(version)
        if isinstance(exc, PermissionError):
            raise StorageApiError.rls_denied() from exc
        raise StorageApiError.key_exists() from exc
    if replaced:
        context.blobs.delete(replaced)
    return JSONResponse(
        {"Key": f"{destination_bucket}/{destination}", "Id": copied.id} | copied.as_row()
    )


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/object/list/{bucket}", list_v1, ["POST"]),
    ("/object/list-v2/{bucket}", list_v2, ["POST"]),
    ("/object/move", move, ["POST"]),
    ("/object/copy", copy, ["POST"]),
    ("/object/authenticated/{bucket}/{key:path}", download_authenticated, ["GET", "HEAD"]),
    ("/object/public/{bucket}/{key:path}", download_public, ["GET", "HEAD"]),
    ("/object/info/authenticated/{bucket}/{key:path}", info_authenticated, ["GET"]),
    ("/object/info/public/{bucket}/{key:path}", info_public, ["GET"]),
    ("/object/info/{bucket}/{key:path}", info, ["GET"]),
    ("/object/{bucket}", delete_many, ["DELETE"]),
]

# After the signed-URL routes: ``/object/{bucket}/{key}`` would otherwise shadow them.
CATCH_ALL_ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/object/{bucket}/{key:path}", upload, ["POST", "PUT"]),
    ("/object/{bucket}/{key:path}", download, ["GET", "HEAD"]),
    ("/object/{bucket}/{key:path}", delete_one, ["DELETE"]),
]
