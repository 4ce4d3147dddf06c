"""The API gateway's key check (Kong ``key-auth``) for ``/rest/v1`` and ``/auth/v1``."""

from __future__ import annotations

from starlette.requests import Request

from desktop.server.access import context_of
from desktop.server.responses import JSONResponse
from desktop.server.tokens import InvalidToken

__all__ = ["ApiKeyMissing", "check_api_key"]


class ApiKeyMissing(Exception):  # noqa: N818 - named after the gateway's refusal
    """The request carries no (valid) ``apikey``; rendered as the gateway's 401."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.body = {"message": message, "hint": hint}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=401)


def check_api_key(request: Request) -> str:
    """The request's API key (header, or ``apikey`` URL parameter), which must be ours."""
    key = request.headers.get("apikey") or request.query_params.get("apikey")
    if not key:
        raise ApiKeyMissing(
            "No API key found in request", "No `apikey` request header or url param was found."
        )
    try:
        context_of(request).signer.verify(key)
    except InvalidToken as exc:
        raise ApiKeyMissing(
            "Invalid API key", "Double check your Supabase `anon` or `service_role` API key."
        ) from exc
    return key
