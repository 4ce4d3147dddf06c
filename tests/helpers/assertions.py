"""Assertions on Supabase wire formats."""

from __future__ import annotations

import httpx

NO_SUCH_KEY = {
    "statusCode": "404",
    "error": "not_found",
    "message": "Object not found",
    "code": "NoSuchKey",
}
NO_SUCH_BUCKET = {
    "statusCode": "404",
    "error": "Bucket not found",
    "message": "Bucket not found",
    "code": "NoSuchBucket",
}
KEY_EXISTS = {
    "statusCode": "409",
    "error": "Duplicate",
    "message": "The resource already exists",
    "code": "KeyAlreadyExists",
}
RLS_DENIED = {
    "statusCode": "403",
    "error": "Unauthorized",
    "message": "new row violates row-level security policy",
    "code": "AccessDenied",
}


def assert_storage_error(response: httpx.Response, body: dict[str, str]) -> None:
    """Storage sends handled 4xx as HTTP 400, the real status as a string in the body."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == body
    assert list(response.json()) == ["statusCode", "error", "message", "code"]


def invalid_request(message: str) -> dict[str, str]:
    return {"statusCode": "400", "error": "Error", "message": message, "code": "InvalidRequest"}
