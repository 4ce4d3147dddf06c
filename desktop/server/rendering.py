"""Object downloads with Supabase's headers: ETag, Last-Modified, Range (206), conditional 304."""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from desktop.server.blobs import BlobStore
from desktop.server.catalog import StoredObject
from desktop.server.errors import StorageApiError
from desktop.server.responses import JSONResponse

__all__ = ["render_missing_head", "render_object"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _http_date(iso: str) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


def _content_disposition(download: str | None) -> str | None:
    if download is None:
        return None
    if download == "":
        return "attachment;"
    quoted = urllib.parse.quote(download)
    return f"attachment; filename={quoted}; filename*=UTF-8''{quoted}"


def _not_modified(request: Request, stored: StoredObject, last_modified: str) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip() for tag in if_none_match.split(",")}
        return stored.etag in tags or "*" in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return parsedate_to_datetime(last_modified) <= since
    return False


def render_object(
    request: Request,
    stored: StoredObject,
    blobs: BlobStore,
    *,
    expires_at: int | None = None,
) -> Response:
    """Stream ``stored`` as Storage does; HEAD gets the same headers and no body."""
    if not blobs.exists(stored.version):
        return JSONResponse(
            {
                "error": "Not found",
                "message": "The resource was not found",
                "statusCode": "404",
                "code": "NoSuchKey",
            },
            status_code=400,
            headers={"cache-control": "no-store"},
        )
    size = stored.size
    last_modified = _http_date(str(stored.metadata.get("lastModified") or stored.updated_at))
    content_type = stored.mimetype
    if content_type.split(";")[0].strip().lower() == "text/html":
        content_type = "text/plain"  # Storage never serves HTML from its own origin
    headers = {
        "accept-ranges": "bytes",
        "content-type": content_type,
        "etag": stored.etag,
        "x-robots-tag": "none",
        "last-modified": last_modified,
    }
    if expires_at is None:
        headers["cache-control"] = stored.cache_control
    else:
        headers["expires"] = format_datetime(datetime.fromtimestamp(expires_at, UTC), usegmt=True)
    disposition = _content_disposition(request.query_params.get("download"))
    if disposition:
        headers["content-disposition"] = disposition

    if _not_modified(request, stored, last_modified):
        return Response(status_code=304, headers=headers)

    start, end, status = 0, size - 1, 200
    range_header = request.headers.get("range")
    if range_header and size > 0:
        match = _RANGE.match(range_header.strip())
        parsed = _parse_range(match, size) if match else None
        if parsed is None:
            return Response(
                status_code=416,
                headers={"content-range": f"bytes */{size}", "accept-ranges": "bytes"},
            )
        start, end = parsed
        status = 206
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    headers["content-length"] = str(max(end - start + 1, 0))

    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers)
    return StreamingResponse(blobs.read(stored.version, start, end), status, headers)


def _parse_range(match: re.Match[str], size: int) -> tuple[int, int] | None:
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0:
            return None
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def render_missing_head(error: StorageApiError) -> Response:
    """HEAD on a missing object: the error's status and headers, and no body."""
    body = JSONResponse(error.body()).body
    return Response(
        status_code=error.http_status(),
        headers={"content-type": JSONResponse.media_type, "content-length": str(len(body))},
    )
