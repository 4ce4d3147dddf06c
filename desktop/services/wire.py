"""Translation at the service boundary: Supabase error envelopes and transport failures become
the domain's error hierarchy, so nothing above ``services`` ever sees an httpx type.
A Qt-free zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeAlias, TypeVar

import httpx

from desktop.domain.errors import (
    NETWORK,
    AuthError,
    MetadataError,
    ServiceError,
    SignedUrlExpired,
    StorageError,
)

__all__ = [
    "JsonObject",
    "JsonValue",
    "auth_error",
    "json_object",
    "map_transport_errors",
    "rest_error",
    "storage_error",
]

JsonValue: TypeAlias = "str | int | float | bool | None | list[JsonValue] | dict[str, JsonValue]"
JsonObject: TypeAlias = "dict[str, JsonValue]"

E = TypeVar("E", bound=ServiceError)


def _retry_after_s(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    if raw.strip().isdigit():
        return float(raw)
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def _body(response: httpx.Response) -> JsonObject:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _text(response: httpx.Response) -> str:
    return response.text.strip()[:200] or response.reason_phrase


def storage_error(response: httpx.Response) -> StorageError:
    """Storage's envelope: HTTP 400 with the real status as a string ``statusCode`` in the body;
    TUS answers plain text with the real status."""
    body = _body(response)
    raw_status = body.get("statusCode")
    status = (
        int(raw_status)
        if isinstance(raw_status, str | int) and str(raw_status).isdigit()
        else response.status_code
    )
    code = str(body.get("code") or body.get("error") or response.reason_phrase)
    message = str(body.get("message") or _text(response))
    kind = SignedUrlExpired if code == "InvalidJWT" else StorageError
    return kind(message, status=status, code=code, retry_after_s=_retry_after_s(response))


def rest_error(response: httpx.Response) -> MetadataError:
    """PostgREST's ``{code, message, details, hint}`` (or the gateway's ``{message, hint}``)."""
    body = _body(response)
    details, hint = body.get("details"), body.get("hint")
    return MetadataError(
        str(body.get("message") or _text(response)),
        status=response.status_code,
        code=str(body.get("code") or response.status_code),
        details=str(details) if details is not None else None,
        hint=str(hint) if hint is not None else None,
        retry_after_s=_retry_after_s(response),
    )


def auth_error(response: httpx.Response) -> AuthError:
    """GoTrue's ``{code, message}`` (API 2024-01-01) or legacy ``{code, error_code, msg}``."""
    body = _body(response)
    code = body.get("error_code") or body.get("code") or response.headers.get("x-sb-error-code")
    message = body.get("message") or body.get("msg") or body.get("error_description")
    return AuthError(
        str(message or _text(response)),
        status=response.status_code,
        code=str(code or response.status_code),
        retry_after_s=_retry_after_s(response),
    )


def json_object(response: httpx.Response) -> JsonObject:
    body = response.json()
    if not isinstance(body, dict):
        raise StorageError(
            "unexpected answer: not a JSON object",
            status=response.status_code,
            code="InvalidResponse",
        )
    return body


@contextmanager
def map_transport_errors(kind: type[E]) -> Iterator[None]:
    """Turn httpx's transport failures into ``kind`` with no status (a transient error)."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise kind(f"timed out ({type(exc).__name__})", status=None, code=NETWORK) from exc
    except httpx.TransportError as exc:
        # str(exc) of a transport error is the OS or protocol reason; it carries no URL.
        raise kind(f"{type(exc).__name__}: {exc}", status=None, code=NETWORK) from exc
