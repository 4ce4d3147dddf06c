"""The ASGI app: Storage, PostgREST and Auth under Supabase's gateway prefixes, plus admin."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from desktop.server import admin, buckets, gotrue, objects, postgrest, resumable, signed_urls
from desktop.server.context import ServerContext
from desktop.server.errors import StorageApiError
from desktop.server.faults import FaultMiddleware
from desktop.server.gateway import ApiKeyMissing
from desktop.server.responses import JSONResponse
from desktop.server.tokens import ApiKeys

__all__ = ["STORAGE_PREFIX", "create_app"]

log = logging.getLogger(__name__)

STORAGE_PREFIX = "/storage/v1"
REST_PREFIX = "/rest/v1"
AUTH_PREFIX = "/auth/v1"


def _routes(table: list[tuple[str, Any, list[str]]]) -> list[BaseRoute]:
    return [Route(path, endpoint, methods=methods) for path, endpoint, methods in table]


async def _storage_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StorageApiError)
    return exc.response()


async def _api_key_missing(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiKeyMissing)
    return exc.response()


async def _route_not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code not in (404, 405):
        return JSONResponse({"message": exc.detail}, status_code=exc.status_code)
    # Fastify's not-found body, with the path as the Storage server sees it (prefix stripped).
    path = request.url.path
    if path.startswith(STORAGE_PREFIX):
        path = path[len(STORAGE_PREFIX) :] or "/"
    return JSONResponse(
        {
            "message": f"Route {request.method}:{path} not found",
            "error": "Not Found",
            "statusCode": 404,
        },
        status_code=404,
    )


async def _client_gone(request: Request, exc: Exception) -> Response:
    # Nobody is left to read an answer: not a server error, nothing to log above debug.
    log.debug("client went away during %s %s", request.method, request.url.path)
    return Response(status_code=499)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {
            "statusCode": "500",
            "code": "InternalError",
            "error": "internal",
            "message": "Internal Server Error",
        },
        status_code=500,
    )


def create_app(
    context: ServerContext, *, on_rotate: Callable[[ApiKeys], None] | None = None
) -> ASGIApp:
    """Build the server app over ``context``; ``on_rotate`` hears of new keys after a rotation."""
    storage_routes = _routes(
        objects.ROUTES
        + signed_urls.ROUTES
        + objects.CATCH_ALL_ROUTES
        + buckets.ROUTES
        + resumable.ROUTES
    )
    app = Starlette(
        routes=[
            Mount(STORAGE_PREFIX, routes=storage_routes),
            Mount(REST_PREFIX, routes=_routes(postgrest.ROUTES)),
            Mount(
                AUTH_PREFIX,
                routes=_routes(gotrue.ROUTES),
                middleware=[Middleware(gotrue.ApiVersionHeader)],
            ),
            *_routes(admin.ROUTES),
        ],
        exception_handlers={
            StorageApiError: _storage_error,
            postgrest.RestError: postgrest.rest_error_response,
            gotrue.AuthApiError: gotrue.auth_error_response,
            ApiKeyMissing: _api_key_missing,
            resumable.TusError: resumable.tus_error_response,
            HTTPException: _route_not_found,
            ClientDisconnect: _client_gone,
            Exception: _internal_error,
        },
    )
    app.router.redirect_slashes = False
    app.state.context = context
    app.state.on_rotate = on_rotate
    # Outermost, so that a dropped connection is not turned into a 500 by Starlette.
    return FaultMiddleware(app, lambda: context.faults)
