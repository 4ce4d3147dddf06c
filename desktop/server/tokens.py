"""HS256 JWTs: verification with jose's error wording, and the project's API keys.

Real Supabase Storage verifies with ``jose``; clients and tests match on its messages, so PyJWT's
exceptions are translated to them here. Only HS256 is accepted: ``alg: none`` and every other
algorithm are refused.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

__all__ = [
    "ApiKeys",
    "InvalidToken",
    "Principal",
    "TokenSigner",
    "load_or_create_secret",
]

ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 1024
API_KEY_LIFETIME_S = 10 * 365 * 24 * 3600

JWS_MALFORMED = "Invalid Compact JWS"
JWS_BAD_SIGNATURE = "signature verification failed"
JWT_EXPIRED = '"exp" claim timestamp check failed'
JWS_ALG_NOT_ALLOWED = '"alg" (Algorithm) Header Parameter value not allowed'


class InvalidToken(Exception):
    """A token failed verification; the message is jose's wording for the failure."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the JWT role and subject (the object owner)."""

    role: str
    sub: str | None = None

    @property
    def is_service(self) -> bool:
        return self.role == "service_role"

    @property
    def is_user(self) -> bool:
        return self.role == "authenticated" and bool(self.sub)


ANON = Principal(role="anon")


@dataclass(frozen=True, slots=True)
class ApiKeys:
    anon_key: str
    service_role_key: str


class TokenSigner:
    """Signs and verifies HS256 tokens with the project secret, which can be rotated."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        # Clients send the same few tokens (keys, a session's access token) on every request;
        # re-verifying each costs PyJWT ~30 us per request. Verified claims are kept until the
        # token's exp, and forgotten when the secret rotates.
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._keys: ApiKeys | None = None

    def rotate(self, secret: str) -> None:
        self._secret = secret
        self._verified.clear()
        self._keys = None

    def sign(self, claims: dict[str, Any], *, with_typ: bool = True) -> str:
        # Storage's signed-URL tokens carry a bare {"alg":"HS256"} header, no "typ".
        headers: dict[str, Any] | None = None if with_typ else {"typ": None}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers=headers)

    def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid token.

        Raises:
            InvalidToken: with jose's message for malformed, tampered, expired or non-HS256 tokens.
        """
        cached = self._verified.get(token)
        if cached is not None:
            exp = cached.get("exp")
            if not isinstance(exp, int | float) or exp > time.time():
                return cached
            del self._verified[token]
        claims = self._verify_uncached(token)
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _verify_uncached(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise InvalidToken(JWS_MALFORMED) from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(JWS_ALG_NOT_ALLOWED)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"verify_aud": False, "require": []},
                leeway=0,
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken(JWT_EXPIRED) from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken(JWS_BAD_SIGNATURE) from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(JWS_MALFORMED) from exc
        return claims

    def principal(self, token: str) -> Principal:
        claims = self.verify(token)
        role = claims.get("role")
        sub = claims.get("sub")
        return Principal(
            role=role if isinstance(role, str) else "anon",
            sub=sub if isinstance(sub, str) and sub else None,
        )

    def api_keys(self) -> ApiKeys:
        """The project's anon and service_role keys: minted once per secret, so every caller
        sees the same keys until the next rotation."""
        if self._keys is None:
            self._keys = self._mint_api_keys()
        return self._keys

    def _mint_api_keys(self) -> ApiKeys:
        now = int(time.time())

        def key(role: str) -> str:
            claims = {"iss": "supabase-demo", "role": role, "iat": now}
            return self.sign(claims | {"exp": now + API_KEY_LIFETIME_S})

        return ApiKeys(anon_key=key("anon"), service_role_key=key("service_role"))


def new_secret() -> str:
    return secrets.token_urlsafe(48)


def load_or_create_secret(path: Path) -> str:
    """Read the persisted project secret, creating it (mode 0600) on first start."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    secret = new_secret()
    store_secret(path, secret)
    return secret


def store_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(secret, encoding="utf-8")
    tmp.replace(path)
