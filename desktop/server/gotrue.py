"""Auth (GoTrue) subset under ``/auth/v1``: sign-up, password and refresh grants, user, logout.

Error bodies follow the ``X-Supabase-Api-Version`` header the SDKs send: ``{code, message}`` with
``2024-01-01``, the legacy ``{code: <http>, error_code, msg}`` without it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop.server.access import bearer_token, context_of
from desktop.server.gateway import check_api_key
from desktop.server.responses import JSONResponse
from desktop.server.tokens import InvalidToken
from desktop.server.users import User

__all__ = ["ROUTES", "ApiVersionHeader", "AuthApiError", "auth_error_response"]

API_VERSION_HEADER = "x-supabase-api-version"
API_VERSION = "2024-01-01"
MIN_PASSWORD_LENGTH = 6
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AuthApiError(Exception):
    def __init__(
        self, status: int, error_code: str, message: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.extra = extra or {}


class ApiVersionHeader:
    """GoTrue stamps every answer with the API version it speaks; the SDKs read error codes
    from the new-style body only when they see it."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-supabase-api-version", API_VERSION.encode()),
                ]
            await send(message)

        await self._app(scope, receive, stamped)


async def auth_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthApiError)
    if request.headers.get(API_VERSION_HEADER):
        body: dict[str, Any] = {"code": exc.error_code, "message": exc.message}
    else:
        body = {"code": exc.status, "error_code": exc.error_code, "msg": exc.message}
    body |= exc.extra
    headers = {"x-sb-error-code": exc.error_code}
    if exc.status == 401:
        headers["www-authenticate"] = 'Bearer error="invalid_token"'
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise AuthApiError(400, "bad_json", "Could not parse request body as JSON") from exc
    if not isinstance(body, dict):
        raise AuthApiError(400, "bad_json", "Could not parse request body as JSON")
    return body


def session_response(request: Request, user: User, session_id: str, refresh_token: str) -> Response:
    context = context_of(request)
    now = int(time.time())
    ttl = context.config.access_token_ttl_s
    claims = {
        "iss": f"{str(request.base_url).rstrip('/')}/auth/v1",
        "sub": user.id,
        "aud": "authenticated",
        "exp": now + ttl,
        "iat": now,
        "email": user.email,
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": user.user_metadata,
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": session_id,
        "is_anonymous": False,
    }
    return JSONResponse(
        {
            "access_token": context.signer.sign(claims),
            "token_type": "bearer",
            "expires_in": ttl,
            "expires_at": now + ttl,
            "refresh_token": refresh_token,
            "user": user.as_json(),
        }
    )


async def signup(request: Request) -> Response:
    check_api_key(request)
    body = await _json(request)
    email = str(body.get("email") or "").strip().lower()
    password = body.get("password")
    if not email:
        raise AuthApiError(400, "validation_failed", "To signup, please provide your email")
    if not _EMAIL.match(email):
        raise AuthApiError(
            400, "validation_failed", "Unable to validate email address: invalid format"
        )
    if not isinstance(password, str) or not password:
        raise AuthApiError(422, "validation_failed", "Signup requires a valid password")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthApiError(
            422,
            "weak_password",
            f"Password should be at least {MIN_PASSWORD_LENGTH} characters.",
            {"weak_password": {"reasons": ["length"]}},
        )
    data = body.get("data")
    metadata: dict[str, Any] = data if isinstance(data, dict) else {}
    users = context_of(request).users
    user = users.create_user(email, password, metadata)
    if user is None:
        raise AuthApiError(422, "user_already_exists", "User already registered")
    session_id, refresh_token = users.start_session(user)
    return session_response(request, users.get(user.id) or user, session_id, refresh_token)


async def token(request: Request) -> Response:
    check_api_key(request)
    grant_type = request.query_params.get("grant_type")
    body = await _json(request)
    users = context_of(request).users
    if grant_type == "password":
        email = str(body.get("email") or "").strip().lower()
        password = body.get("password")
        if not email:
            raise AuthApiError(400, "validation_failed", "missing email or phone")
        user = users.check_password(email, password) if isinstance(password, str) else None
        if user is None:
            raise AuthApiError(400, "invalid_credentials", "Invalid login credentials")
        session_id, refresh_token = users.start_session(user)
        return session_response(request, users.get(user.id) or user, session_id, refresh_token)
    if grant_type == "refresh_token":
        presented = body.get("refresh_token")
        if not isinstance(presented, str) or len(presented) < 12:
            raise AuthApiError(400, "validation_failed", "Refresh token is not valid")
        outcome = users.rotate(presented)
        if outcome.refused == "already_used":
            raise AuthApiError(
                400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"
            )
        if outcome.user is None or outcome.session_id is None or outcome.refresh_token is None:
            raise AuthApiError(
                400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        return session_response(request, outcome.user, outcome.session_id, outcome.refresh_token)
    raise AuthApiError(400, "invalid_credentials", "unsupported_grant_type")


def _signed_in(request: Request) -> tuple[User, str]:
    """The user and session of the request's access token, as GoTrue's auth middleware checks."""
    access_token = request.headers.get("authorization")
    if not access_token:
        raise AuthApiError(401, "no_authorization", "This endpoint requires a valid Bearer token")
    raw = bearer_token(request) or ""
    context = context_of(request)
    try:
        claims = context.signer.verify(raw)
    except InvalidToken as exc:
        raise AuthApiError(
            403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {exc}"
        ) from exc
    user = context.users.get(str(claims.get("sub") or ""))
    if user is None:
        raise AuthApiError(403, "bad_jwt", "invalid claim: missing sub claim")
    session_id = str(claims.get("session_id") or "")
    if not context.users.has_session(session_id):
        raise AuthApiError(
            403, "session_not_found", "Session from session_id claim in JWT does not exist"
        )
    return user, session_id


async def get_user(request: Request) -> Response:
    check_api_key(request)
    user, _ = _signed_in(request)
    return JSONResponse(user.as_json())


async def logout(request: Request) -> Response:
    check_api_key(request)
    scope = request.query_params.get("scope", "global")
    if scope not in {"global", "local", "others"}:
        raise AuthApiError(400, "validation_failed", "Unsupported logout scope")
    user, session_id = _signed_in(request)
    context_of(request).users.end_sessions(user.id, session_id, scope)
    return Response(status_code=204)


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/signup", signup, ["POST"]),
    ("/token", token, ["POST"]),
    ("/user", get_user, ["GET"]),
    ("/logout", logout, ["POST"]),
]
