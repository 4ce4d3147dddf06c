"""JSON and plain-text responses with the exact content types Supabase sends."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = ["JSONResponse", "json_bytes"]


def json_bytes(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class JSONResponse(Response):
    """Compact JSON with ``application/json; charset=utf-8``, as Fastify and PostgREST send it."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)
