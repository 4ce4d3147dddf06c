"""Bucket routes: create, get, list, update, empty and delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desktop.server.access import (
    can_manage_buckets,
    can_see_buckets,
    context_of,
    owner_of,
    require_principal,
)
from desktop.server.catalog import Bucket, DuplicateError
from desktop.server.context import ServerContext
from desktop.server.errors import StorageApiError
from desktop.server.requests import json_body, require_field
from desktop.server.responses import JSONResponse
from desktop.server.rules import is_valid_bucket_name, is_valid_mime_pattern, parse_file_size

__all__ = ["ROUTES"]

_SIZE_FORMAT_ERROR = (
    'body/file_size_limit must be integer, body/file_size_limit must pass "finite" keyword'
    ' validation, body/file_size_limit must match pattern "^[0-9]+(?:\\.[0-9]+)?(?:[gG][bB]|'
    '[mM][bB]|[kK][bB]|[bB])$", body/file_size_limit must match a schema in anyOf'
)
_SORT_COLUMNS = {"id", "name", "created_at", "updated_at"}


def _limits(context: ServerContext, body: dict[str, Any]) -> dict[str, Any]:
    """Validated ``public``, ``file_size_limit`` and ``allowed_mime_types`` present in ``body``."""
    changes: dict[str, Any] = {}
    if "public" in body:
        if not isinstance(body["public"], bool):
            raise StorageApiError.invalid_request("body/public must be boolean")
        changes["public"] = body["public"]
    if "file_size_limit" in body:
        raw = body["file_size_limit"]
        size = None if raw is None else parse_file_size(raw)
        if raw is not None and size is None:
            raise StorageApiError.invalid_request(_SIZE_FORMAT_ERROR)
        if size is not None and size > context.config.global_file_size_limit:
            raise StorageApiError.entity_too_large()
        changes["file_size_limit"] = size or None
    if "allowed_mime_types" in body:
        mimes = body["allowed_mime_types"]
        if mimes is not None:
            if not isinstance(mimes, list) or not all(isinstance(m, str) for m in mimes):
                raise StorageApiError.invalid_request("body/allowed_mime_types must be array")
            for mime in mimes:
                if not is_valid_mime_pattern(mime):
                    raise StorageApiError.invalid_mime_type(mime)
        changes["allowed_mime_types"] = mimes or None
    return changes


def _visible_bucket(request: Request) -> Bucket:
    principal = require_principal(request)
    bucket = context_of(request).catalog.get_bucket(request.path_params["bucket"])
    if bucket is None or not can_see_buckets(principal):
        raise StorageApiError.no_such_bucket()
    return bucket


def _managed_bucket(request: Request) -> Bucket:
    principal = require_principal(request)
    bucket = context_of(request).catalog.get_bucket(request.path_params["bucket"])
    if bucket is None or not can_see_buckets(principal):
        raise StorageApiError.no_such_bucket()
    if not can_manage_buckets(principal):
        raise StorageApiError.rls_denied()
    return bucket


async def create_bucket(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    body = await json_body(request)
    name = require_field(body, "name")
    if not isinstance(name, str) or not is_valid_bucket_name(name):
        raise StorageApiError.invalid_bucket_name()
    bucket_id = body.get("id") or name
    if not isinstance(bucket_id, str) or not is_valid_bucket_name(bucket_id):
        raise StorageApiError.invalid_bucket_name()
    limits = _limits(context, body)
    if not can_manage_buckets(principal):
        raise StorageApiError.rls_denied()
    try:
        context.catalog.create_bucket(
            name,
            bucket_id=bucket_id,
            owner=owner_of(principal),
            public=limits.get("public", False),
            file_size_limit=limits.get("file_size_limit"),
            allowed_mime_types=limits.get("allowed_mime_types"),
        )
    except DuplicateError as exc:
        raise StorageApiError.bucket_exists() from exc
    return JSONResponse({"name": name})


async def get_bucket(request: Request) -> Response:
    return JSONResponse(_visible_bucket(request).as_json(with_type=False))


async def list_buckets(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    if not can_see_buckets(principal):
        return JSONResponse([])
    query = request.query_params
    column = query.get("sortColumn", "name")
    order = query.get("sortOrder", "asc").lower()
    if column not in _SORT_COLUMNS or order not in {"asc", "desc"}:
        raise StorageApiError.invalid_request(
            "querystring/sortColumn must be equal to one of the allowed values"
        )
    try:
        limit = int(query["limit"]) if "limit" in query else None
        offset = int(query.get("offset", "0"))
    except ValueError as exc:
        raise StorageApiError.invalid_request("querystring/limit must be integer") from exc
    buckets = context.catalog.list_buckets(
        limit=limit,
        offset=offset,
        sort_column=column,
        sort_order=order,
        search=query.get("search", ""),
    )
    return JSONResponse([bucket.as_json(with_type=True) for bucket in buckets])


async def update_bucket(request: Request) -> Response:
    context = context_of(request)
    bucket = _managed_bucket(request)
    changes = _limits(context, await json_body(request))
    if not changes:
        raise StorageApiError.invalid_request("body must have at least 1 properties")
    context.catalog.update_bucket(bucket.id, changes)
    return JSONResponse({"message": "Successfully updated"})


async def empty_bucket(request: Request) -> Response:
    context = context_of(request)
    bucket = _managed_bucket(request)
    for stored in context.catalog.delete_all_objects(bucket.id):
        context.blobs.delete(stored.version)
    return JSONResponse(
        {"message": "Empty bucket has been queued. Completion may take up to an hour."}
    )


async def delete_bucket(request: Request) -> Response:
    context = context_of(request)
    bucket = _managed_bucket(request)
    if context.catalog.count_objects(bucket.id):
        raise StorageApiError.bucket_not_empty()
    context.catalog.delete_bucket(bucket.id)
    return JSONResponse({"message": "Successfully deleted"})


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/bucket", list_buckets, ["GET"]),
    ("/bucket", create_bucket, ["POST"]),
    ("/bucket/{bucket}/empty", empty_bucket, ["POST"]),
    ("/bucket/{bucket}", get_bucket, ["GET"]),
    ("/bucket/{bucket}", update_bucket, ["PUT"]),
    ("/bucket/{bucket}", delete_bucket, ["DELETE"]),
]
