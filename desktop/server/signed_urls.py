"""Signed download and upload URLs: signing (one and batch), the signed GET and the signed PUT.

Tokens are HS256 JWTs with the project secret and a bare ``{"alg":"HS256"}`` header, claims
``{url, scope, iat, exp}``; upload tokens add ``owner`` and ``upsert``.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desktop.server.access import (
    can_see_object,
    can_write_objects,
    context_of,
    require_principal,
)
from desktop.server.context import ServerContext
from desktop.server.errors import StorageApiError
from desktop.server.objects import existing_bucket, store_upload, visible_object
from desktop.server.rendering import render_object
from desktop.server.requests import check_key, int_field, json_body, require_field
from desktop.server.responses import JSONResponse
from desktop.server.tokens import InvalidToken

__all__ = ["ROUTES"]

BATCH_SIGN_MAX = 1000
NOT_ACCESSIBLE = "Either the object does not exist or you do not have access to it"


def _sign(context: ServerContext, claims: dict[str, Any], expires_in_s: int) -> str:
    now = int(time.time())
    return context.signer.sign(claims | {"iat": now, "exp": now + expires_in_s}, with_typ=False)


async def sign_one(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    expires_in = int_field(await json_body(request), "expiresIn", minimum=1)
    check_key(bucket_id, key)
    bucket = existing_bucket(context, bucket_id)
    visible_object(context, principal, bucket, key)
    token = _sign(context, {"url": f"{bucket_id}/{key}", "scope": "download"}, expires_in)
    return JSONResponse({"signedURL": f"/object/sign/{bucket_id}/{key}?token={token}"})


async def sign_many(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    bucket_id = request.path_params["bucket"]
    body = await json_body(request)
    expires_in = int_field(body, "expiresIn", minimum=1)
    paths = require_field(body, "paths")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise StorageApiError.invalid_request("body/paths must be array")
    if not paths:
        raise StorageApiError.invalid_request("body/paths must NOT have fewer than 1 items")
    if len(paths) > BATCH_SIGN_MAX:
        raise StorageApiError.invalid_request(
            f"body/paths must NOT have more than {BATCH_SIGN_MAX} items"
        )
    bucket = context.catalog.get_bucket(bucket_id)
    found = {
        stored.name: stored
        for stored in (context.catalog.get_objects(bucket_id, list(set(paths))) if bucket else [])
    }
    results: list[dict[str, Any]] = []
    for path in paths:
        stored = found.get(path)
        if stored is None or not (bucket and (bucket.public or can_see_object(principal, stored))):
            results.append({"error": NOT_ACCESSIBLE, "path": path, "signedURL": None})
            continue
        token = _sign(context, {"url": f"{bucket_id}/{path}", "scope": "download"}, expires_in)
        results.append(
            {
                "error": None,
                "path": path,
                "signedURL": f"/object/sign/{bucket_id}/{path}?token={token}",
            }
        )
    return JSONResponse(results)


def _verify_url_token(request: Request, *, scope: str) -> dict[str, Any]:
    token = request.query_params.get("token")
    if not token:
        raise StorageApiError.invalid_request("querystring must have required property 'token'")
    try:
        claims = context_of(request).signer.verify(token)
    except InvalidToken as exc:
        raise StorageApiError.invalid_jwt(str(exc)) from exc
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    if claims.get("url") != f"{bucket_id}/{key}":
        raise StorageApiError.invalid_signature()
    token_scope = claims.get("scope")
    # Tokens from before scopes existed carry none; an unscoped one is a download token.
    if token_scope != scope and not (
        scope == "download" and token_scope is None and "upsert" not in claims
    ):
        raise StorageApiError.invalid_signature(f"Token is not scoped for {scope}")
    return claims


async def signed_download(request: Request) -> Response:
    context = context_of(request)
    claims = _verify_url_token(request, scope="download")
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    stored = context.catalog.get_object(bucket_id, key)
    if stored is None:
        raise StorageApiError.no_such_key()
    return render_object(request, stored, context.blobs, expires_at=int(claims["exp"]))


async def sign_upload(request: Request) -> Response:
    context = context_of(request)
    principal = require_principal(request)
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    check_key(bucket_id, key)
    existing_bucket(context, bucket_id)
    if not can_write_objects(principal):
        raise StorageApiError.rls_denied()
    upsert = request.headers.get("x-upsert") == "true"
    if not upsert and context.catalog.get_object(bucket_id, key) is not None:
        raise StorageApiError.key_exists()
    claims: dict[str, Any] = {"url": f"{bucket_id}/{key}", "upsert": upsert, "scope": "upload"}
    if principal.sub:
        claims = {"owner": principal.sub} | claims
    token = _sign(context, claims, context.config.signed_upload_url_expiry_s)
    return JSONResponse(
        {"url": f"/object/upload/sign/{bucket_id}/{key}?token={token}", "token": token}
    )


async def signed_upload(request: Request) -> Response:
    context = context_of(request)
    claims = _verify_url_token(request, scope="upload")
    bucket_id, key = request.path_params["bucket"], request.path_params["key"]
    owner = str(claims.get("owner") or "")
    await store_upload(
        request,
        context,
        bucket_id=bucket_id,
        key=key,
        owner=owner,
        upsert=bool(claims.get("upsert")),
        may_replace=lambda existing: existing.owner == owner,
    )
    return JSONResponse({"Key": f"{bucket_id}/{key}"})


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/object/sign/{bucket}/{key:path}", sign_one, ["POST"]),
    ("/object/sign/{bucket}/{key:path}", signed_download, ["GET", "HEAD"]),
    ("/object/sign/{bucket}", sign_many, ["POST"]),
    ("/object/upload/sign/{bucket}/{key:path}", sign_upload, ["POST"]),
    ("/object/upload/sign/{bucket}/{key:path}", signed_upload, ["PUT"]),
]
