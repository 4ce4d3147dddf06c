"""Who may do what: the gateway's bearer rules and the row-level-security policies we emulate.

Policies follow a typical Supabase project: ``service_role`` bypasses RLS, an authenticated user
owns the objects they upload (``owner = auth.uid()``), ``anon`` can neither see nor write.
"""

from __future__ import annotations

import re

from starlette.requests import Request

from desktop.server.catalog import StoredObject
from desktop.server.context import ServerContext
from desktop.server.errors import StorageApiError
from desktop.server.tokens import ANON, InvalidToken, Principal

__all__ = [
    "ANON",
    "bearer_token",
    "can_manage_buckets",
    "can_see_buckets",
    "can_see_object",
    "can_write_objects",
    "context_of",
    "listing_owner",
    "optional_principal",
    "owner_of",
    "require_principal",
]

_BEARER = re.compile(r"^Bearer\s+", re.IGNORECASE)


def context_of(request: Request) -> ServerContext:
    context: ServerContext = request.app.state.context
    return context


def bearer_token(request: Request) -> str | None:
    """The caller's JWT; with no Authorization header the gateway uses the apikey as bearer."""
    authorization = request.headers.get("authorization")
    if authorization:
        return _BEARER.sub("", authorization, count=1)
    return request.headers.get("apikey") or None


def require_principal(request: Request) -> Principal:
    """Raises the Storage errors for a missing or invalid JWT."""
    token = bearer_token(request)
    if token is None:
        raise StorageApiError.missing_authorization()
    try:
        return context_of(request).signer.principal(token)
    except InvalidToken as exc:
        raise StorageApiError.access_denied(str(exc)) from exc


def optional_principal(request: Request) -> Principal | None:
    """The caller, or None when there is no valid JWT (the public download route's rule)."""
    token = bearer_token(request)
    if token is None:
        return None
    try:
        return context_of(request).signer.principal(token)
    except InvalidToken:
        return None


def can_see_object(principal: Principal, stored: StoredObject) -> bool:
    return principal.is_service or (principal.is_user and stored.owner == principal.sub)


def can_write_objects(principal: Principal) -> bool:
    return principal.is_service or principal.is_user


def can_see_buckets(principal: Principal) -> bool:
    return principal.is_service or principal.is_user


def can_manage_buckets(principal: Principal) -> bool:
    return principal.is_service


def owner_of(principal: Principal) -> str:
    return principal.sub or ""


def listing_owner(principal: Principal) -> str | None:
    """The owner filter for listings: None means every object."""
    return None if principal.is_service else principal.sub
