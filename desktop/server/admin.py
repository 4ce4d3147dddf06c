"""Operator routes under ``/admin/v1`` (service_role only): fault rules and secret rotation."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desktop.server.access import bearer_token, context_of
from desktop.server.faults import FaultRule
from desktop.server.gotrue import session_response
from desktop.server.responses import JSONResponse
from desktop.server.tokens import InvalidToken, new_secret

__all__ = ["ROUTES"]

log = logging.getLogger(__name__)

LOCAL_USER_EMAIL = "local@attachments.localhost"


def _deny(request: Request) -> Response | None:
    token = bearer_token(request)
    if token is None:
        return JSONResponse({"message": "service_role token required"}, status_code=401)
    try:
        principal = context_of(request).signer.principal(token)
    except InvalidToken as exc:
        return JSONResponse({"message": str(exc)}, status_code=401)
    if not principal.is_service:
        return JSONResponse({"message": "service_role token required"}, status_code=403)
    return None


async def list_faults(request: Request) -> Response:
    if denied := _deny(request):
        return denied
    return JSONResponse([rule.as_json() for rule in context_of(request).faults.rules()])


async def add_faults(request: Request) -> Response:
    if denied := _deny(request):
        return denied
    try:
        raw: Any = json.loads(await request.body())
        rules = [FaultRule.from_json(item) for item in (raw if isinstance(raw, list) else [raw])]
    except (ValueError, TypeError) as exc:
        return JSONResponse({"message": f"invalid fault rule: {exc}"}, status_code=400)
    book = context_of(request).faults
    added = [book.add(rule).as_json() for rule in rules]
    return JSONResponse(added, status_code=201)


async def clear_faults(request: Request) -> Response:
    if denied := _deny(request):
        return denied
    context_of(request).faults.clear()
    return Response(status_code=204)


async def delete_fault(request: Request) -> Response:
    if denied := _deny(request):
        return denied
    if not context_of(request).faults.remove(request.path_params["rule_id"]):
        return JSONResponse({"message": "no such fault rule"}, status_code=404)
    return Response(status_code=204)


async def rotate_jwt_secret(request: Request) -> Response:
    if denied := _deny(request):
        return denied
    context = context_of(request)
    context.rotate_secret(new_secret())
    keys = context.signer.api_keys()
    log.info("JWT secret rotated: every earlier token and signed URL is now invalid")
    on_rotate = request.app.state.on_rotate
    if on_rotate is not None:
        on_rotate(keys)
    return JSONResponse({"anon_key": keys.anon_key, "service_role_key": keys.service_role_key})


async def local_session(request: Request) -> Response:
    """A session for the embedded server's local desktop user, created on first use.

    The desktop app holds the service key of its own embedded server; this spares the local user
    a password that would have to live somewhere.
    """
    if denied := _deny(request):
        return denied
    users = context_of(request).users
    user = users.find_by_email(LOCAL_USER_EMAIL) or users.create_user(
        LOCAL_USER_EMAIL, secrets.token_urlsafe(32), {"name": "Local user"}
    )
    if user is None:  # created concurrently by another request
        user = users.find_by_email(LOCAL_USER_EMAIL)
    assert user is not None
    session_id, refresh_token = users.start_session(user)
    return session_response(request, users.get(user.id) or user, session_id, refresh_token)


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/admin/v1/local-session", local_session, ["POST"]),
    ("/admin/v1/faults", list_faults, ["GET"]),
    ("/admin/v1/faults", add_faults, ["POST"]),
    ("/admin/v1/faults", clear_faults, ["DELETE"]),
    ("/admin/v1/faults/{rule_id}", delete_fault, ["DELETE"]),
    ("/admin/v1/rotate-jwt-secret", rotate_jwt_secret, ["POST"]),
]
