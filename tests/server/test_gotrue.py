"""The Auth (GoTrue) subset over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.helpers.rest import sign_up
from tests.helpers.servers import RunningServer

VERSIONED = {"X-Supabase-Api-Version": "2024-01-01"}


@pytest.fixture
def auth(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url + "/auth/v1", headers={"apikey": server.anon_key}, timeout=30
    ) as client:
        yield client


def password_grant(auth: httpx.Client, email: str, password: str, **headers: str) -> httpx.Response:
    return auth.post(
        "/token",
        params={"grant_type": "password"},
        json={"email": email, "password": password},
        headers=headers,
    )


def test_sign_up_returns_a_session(server: RunningServer) -> None:
    body = sign_up(server, "Ada@Example.com")
    assert list(body) == [
        "access_token",
        "token_type",
        "expires_in",
        "expires_at",
        "refresh_token",
        "user",
    ]
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert abs(body["expires_at"] - (time.time() + 3600)) < 60
    assert len(body["refresh_token"]) == 12
    user = body["user"]
    assert (user["email"], user["aud"], user["role"], user["is_anonymous"]) == (
        "ada@example.com",
        "authenticated",
        "authenticated",
        False,
    )
    claims = jwt.decode(
        body["access_token"], server.secret, algorithms=["HS256"], audience="authenticated"
    )
    assert claims["sub"] == user["id"]
    assert claims["role"] == "authenticated"
    assert claims["email"] == "ada@example.com"
    assert claims["iss"] == f"{server.url}/auth/v1"
    assert {"session_id", "aal", "amr", "app_metadata", "user_metadata"} <= set(claims)


def test_duplicate_and_invalid_sign_ups(server: RunningServer, auth: httpx.Client) -> None:
    sign_up(server, "taken@example.com")
    taken = auth.post(
        "/signup", json={"email": "taken@example.com", "password": "another-one"}, headers=VERSIONED
    )
    assert (taken.status_code, taken.json()) == (
        422,
        {"code": "user_already_exists", "message": "User already registered"},
    )
    weak = auth.post(
        "/signup", json={"email": "weak@example.com", "password": "123"}, headers=VERSIONED
    )
    assert (weak.status_code, weak.json()["code"]) == (422, "weak_password")
    bad_email = auth.post(
        "/signup", json={"email": "nope", "password": "123456"}, headers=VERSIONED
    )
    assert (bad_email.status_code, bad_email.json()["code"]) == (400, "validation_failed")


def test_password_grant(server: RunningServer, auth: httpx.Client) -> None:
    user_id = sign_up(server, "ok@example.com", "right-password")["user"]["id"]
    granted = password_grant(auth, "ok@example.com", "right-password")
    assert granted.status_code == 200
    assert granted.json()["user"]["id"] == user_id
    assert granted.json()["user"]["last_sign_in_at"] is not None


def test_bad_password_error_in_both_api_versions(server: RunningServer, auth: httpx.Client) -> None:
    sign_up(server, "ok@example.com", "right-password")
    versioned = password_grant(auth, "ok@example.com", "wrong", **VERSIONED)
    assert (versioned.status_code, versioned.json()) == (
        400,
        {"code": "invalid_credentials", "message": "Invalid login credentials"},
    )
    assert versioned.headers["x-sb-error-code"] == "invalid_credentials"
    legacy = password_grant(auth, "ok@example.com", "wrong")
    assert (legacy.status_code, legacy.json()) == (
        400,
        {"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"},
    )
    assert legacy.headers["x-sb-error-code"] == "invalid_credentials"
    unknown = password_grant(auth, "nobody@example.com", "whatever", **VERSIONED)
    assert unknown.json()["code"] == "invalid_credentials"


def test_refresh_tokens_rotate_and_reuse_is_refused(
    server: RunningServer, auth: httpx.Client
) -> None:
    first = sign_up(server, "r@example.com")["refresh_token"]
    rotated = auth.post(
        "/token",
        params={"grant_type": "refresh_token"},
        json={"refresh_token": first},
        headers=VERSIONED,
    )
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    reused = auth.post(
        "/token",
        params={"grant_type": "refresh_token"},
        json={"refresh_token": first},
        headers=VERSIONED,
    )
    assert (reused.status_code, reused.json()) == (
        400,
        {"code": "refresh_token_already_used", "message": "Invalid Refresh Token: Already Used"},
    )
    # Reuse revokes the session family: the newest token is gone as well.
    after = auth.post(
        "/token",
        params={"grant_type": "refresh_token"},
        json={"refresh_token": second},
        headers=VERSIONED,
    )
    assert after.json()["code"] == "refresh_token_not_found"
    short = auth.post(
        "/token",
        params={"grant_type": "refresh_token"},
        json={"refresh_token": "abc"},
        headers=VERSIONED,
    )
    assert short.json() == {"code": "validation_failed", "message": "Refresh token is not valid"}


def test_get_user_and_logout(server: RunningServer, auth: httpx.Client) -> None:
    session = sign_up(server, "u@example.com")
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    user = auth.get("/user", headers=bearer)
    assert (user.status_code, user.json()["email"]) == (200, "u@example.com")
    assert auth.post("/logout", headers=bearer).status_code == 204
    after = auth.get("/user", headers=bearer | VERSIONED)
    assert (after.status_code, after.json()["code"]) == (403, "session_not_found")
    refresh = auth.post(
        "/token",
        params={"grant_type": "refresh_token"},
        json={"refresh_token": session["refresh_token"]},
        headers=VERSIONED,
    )
    assert refresh.json()["code"] == "refresh_token_not_found"


def test_logout_scopes(server: RunningServer, auth: httpx.Client) -> None:
    sign_up(server, "s@example.com", "password-1")
    first, second, third = (
        password_grant(auth, "s@example.com", "password-1").json()["access_token"] for _ in range(3)
    )
    assert (
        auth.post(
            "/logout", params={"scope": "others"}, headers={"Authorization": f"Bearer {first}"}
        ).status_code
        == 204
    )
    assert auth.get("/user", headers={"Authorization": f"Bearer {first}"}).status_code == 200
    assert auth.get("/user", headers={"Authorization": f"Bearer {second}"}).status_code == 403
    assert (
        auth.post(
            "/logout", params={"scope": "bogus"}, headers={"Authorization": f"Bearer {first}"}
        ).status_code
        == 400
    )
    del third


def test_logout_token_errors(server: RunningServer, auth: httpx.Client) -> None:
    missing = auth.post("/logout", headers=VERSIONED)
    assert (missing.status_code, missing.json()["code"]) == (401, "no_authorization")
    anon = auth.post("/logout", headers=VERSIONED | {"Authorization": f"Bearer {server.anon_key}"})
    assert (anon.status_code, anon.json()["code"]) == (403, "bad_jwt")
    expired = server.token(role="authenticated", sub="x", exp=int(time.time()) - 5)
    late = auth.post("/logout", headers=VERSIONED | {"Authorization": f"Bearer {expired}"})
    assert (late.status_code, late.json()["code"]) == (403, "bad_jwt")


def test_auth_requires_an_api_key(server: RunningServer) -> None:
    response = httpx.post(server.url + "/auth/v1/token?grant_type=password", json={})
    assert response.status_code == 401
    assert response.json()["message"] == "No API key found in request"


def test_unknown_grant_type(auth: httpx.Client) -> None:
    response = auth.post("/token", params={"grant_type": "magic"}, json={}, headers=VERSIONED)
    assert (response.status_code, response.json()["message"]) == (400, "unsupported_grant_type")


def test_access_token_works_for_storage_and_rest(server: RunningServer) -> None:
    token = sign_up(server, "both@example.com")["access_token"]
    with server.client(server.service_key) as service:
        service.post("/bucket", json={"name": "files"})
    with server.client(token) as storage:
        assert storage.post("/object/files/mine.txt", content=b"x").status_code == 200
    rest = httpx.get(
        server.url + "/rest/v1/documents",
        headers={"apikey": server.anon_key, "Authorization": f"Bearer {token}"},
    )
    assert rest.status_code == 200
