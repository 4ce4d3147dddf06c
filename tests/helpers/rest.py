"""Clients for /rest/v1 and /auth/v1 on the test server, as the Supabase SDKs call them."""

from __future__ import annotations

import httpx

from tests.helpers.servers import RunningServer


def rest_client(
    server: RunningServer, token: str | None = None, *, apikey: str | None = None
) -> httpx.Client:
    """``apikey`` is the anon key unless given; ``token`` (a user JWT or key) is the bearer."""
    headers = {"apikey": apikey or server.anon_key}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=server.url + "/rest/v1", headers=headers, timeout=30)


def sign_up(server: RunningServer, email: str, password: str = "correct horse") -> dict:
    with httpx.Client(
        base_url=server.url + "/auth/v1", headers={"apikey": server.anon_key}
    ) as auth:
        response = auth.post("/signup", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()
