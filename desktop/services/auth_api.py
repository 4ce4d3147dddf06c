"""Supabase Auth (GoTrue, ``/auth/v1``): sign-up, sign-in, refresh, user, sign-out.
A Qt-free zone: a thin mirror of the wire."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from desktop.domain.errors import AuthError
from desktop.services.wire import auth_error, json_object, map_transport_errors

__all__ = ["AuthApi", "Session"]

API_VERSION = "2024-01-01"  # the X-Supabase-Api-Version the official SDKs send


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session. Tokens stay out of ``repr`` so they never reach a log."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    user_id: str
    email: str


class AuthApi:
    def __init__(self, client: httpx.AsyncClient, url: str, anon_key: str) -> None:
        self._client = client
        self._base = url.rstrip("/") + "/auth/v1"
        self._anon_key = anon_key

    def use_anon_key(self, anon_key: str) -> None:
        """Switch to new project keys (after the project's JWT secret was rotated)."""
        self._anon_key = anon_key

    def _headers(self, access_token: str | None = None) -> dict[str, str]:
        headers = {"apikey": self._anon_key, "X-Supabase-Api-Version": API_VERSION}
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        return headers

    async def _post(
        self, path: str, body: dict[str, str], access_token: str | None = None
    ) -> httpx.Response:
        with map_transport_errors(AuthError):
            response = await self._client.post(
                self._base + path, json=body, headers=self._headers(access_token)
            )
        if response.is_error:
            raise auth_error(response)
        return response

    @staticmethod
    def parse_session(response: httpx.Response) -> Session:
        """The session in a token answer (also what the embedded server's local-session route
        answers)."""
        body = json_object(response)
        user = body.get("user")
        if not isinstance(user, dict):
            raise AuthError(
                "sign-in answered without a user",
                status=response.status_code,
                code="InvalidResponse",
            )
        return Session(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_at=float(body["expires_at"]),  # type: ignore[arg-type]  # a JSON number
            user_id=str(user["id"]),
            email=str(user.get("email") or ""),
        )

    async def sign_up(self, email: str, password: str) -> Session:
        return self.parse_session(
            await self._post("/signup", {"email": email, "password": password})
        )

    async def sign_in_with_password(self, email: str, password: str) -> Session:
        response = await self._post(
            "/token?grant_type=password", {"email": email, "password": password}
        )
        return self.parse_session(response)

    async def refresh(self, refresh_token: str) -> Session:
        response = await self._post(
            "/token?grant_type=refresh_token", {"refresh_token": refresh_token}
        )
        return self.parse_session(response)

    async def get_user_id(self, access_token: str) -> str:
        with map_transport_errors(AuthError):
            response = await self._client.get(
                self._base + "/user", headers=self._headers(access_token)
            )
        if response.is_error:
            raise auth_error(response)
        return str(json_object(response)["id"])

    async def sign_out(self, access_token: str, scope: str = "local") -> None:
        with map_transport_errors(AuthError):
            response = await self._client.post(
                f"{self._base}/logout?scope={scope}", headers=self._headers(access_token)
            )
        if response.is_error:
            raise auth_error(response)
