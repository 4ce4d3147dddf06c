"""Bucket routes against the real embedded server."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.assertions import (
    NO_SUCH_BUCKET,
    RLS_DENIED,
    assert_storage_error,
    invalid_request,
)
from tests.helpers.servers import RunningServer


def test_create_then_get_bucket(storage: httpx.Client) -> None:
    created = storage.post("/bucket", json={"name": "docs", "public": False})
    assert created.status_code == 200
    assert created.json() == {"name": "docs"}

    fetched = storage.get("/bucket/docs").json()
    assert list(fetched) == [
        "id", "name", "owner", "public", "file_size_limit", "allowed_mime_types",
        "created_at", "updated_at",
    ]  # fmt: skip
    assert fetched["id"] == fetched["name"] == "docs"
    assert fetched["public"] is False
    assert fetched["file_size_limit"] is None
    assert fetched["created_at"].endswith("Z")


def test_duplicate_bucket_is_bucket_already_exists(storage: httpx.Client, bucket: str) -> None:
    response = storage.post("/bucket", json={"name": bucket})
    assert_storage_error(
        response,
        {
            "statusCode": "409",
            "error": "Duplicate",
            "message": "The resource already exists",
            "code": "BucketAlreadyExists",
        },
    )


def test_missing_bucket_is_no_such_bucket(storage: httpx.Client) -> None:
    assert_storage_error(storage.get("/bucket/does-not-exist"), NO_SUCH_BUCKET)


@pytest.mark.parametrize(
    ("limit", "stored"),
    [(10, 10), ("1KB", 1000), ("20MB", 20_000_000), ("1.5GB", 1_500_000_000), ("3B", 3)],
    ids=["int", "kb", "mb", "fractional-gb", "bytes"],
)
def test_file_size_limit_accepts_integers_and_decimal_strings(
    storage: httpx.Client, limit: object, stored: int
) -> None:
    assert (
        storage.post("/bucket", json={"name": "sized", "file_size_limit": limit}).status_code == 200
    )
    assert storage.get("/bucket/sized").json()["file_size_limit"] == stored


def test_malformed_file_size_limit_is_schema_error(storage: httpx.Client) -> None:
    response = storage.post("/bucket", json={"name": "bad", "file_size_limit": "1TB"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidRequest"
    assert body["message"].startswith("body/file_size_limit must be integer")


def test_file_size_limit_above_global_is_entity_too_large(storage: httpx.Client) -> None:
    response = storage.post("/bucket", json={"name": "huge", "file_size_limit": 999999999999})
    assert_storage_error(
        response,
        {
            "statusCode": "413",
            "error": "Payload too large",
            "message": "The object exceeded the maximum allowed size",
            "code": "EntityTooLarge",
        },
    )


@pytest.mark.parametrize("name", ["bad/name", "", " lead", "x" * 101, "café"], ids=str)
def test_invalid_bucket_name_is_refused(storage: httpx.Client, name: str) -> None:
    response = storage.post("/bucket", json={"name": name})
    assert_storage_error(
        response,
        {
            "statusCode": "400",
            "error": "Invalid Input",
            "message": "Bucket name invalid",
            "code": "InvalidBucketName",
        },
    )


def test_missing_name_is_schema_error(storage: httpx.Client) -> None:
    assert_storage_error(
        storage.post("/bucket", json={}), invalid_request("body must have required property 'name'")
    )


def test_list_buckets_includes_type(storage: httpx.Client) -> None:
    for name in ("b-two", "a-one"):
        storage.post("/bucket", json={"name": name})
    listed = storage.get("/bucket").json()
    assert [b["name"] for b in listed] == ["a-one", "b-two"]
    assert all(b["type"] == "STANDARD" for b in listed)
    assert [b["name"] for b in storage.get("/bucket", params={"limit": 1, "offset": 1}).json()] == [
        "b-two"
    ]
    assert [b["name"] for b in storage.get("/bucket", params={"search": "one"}).json()] == ["a-one"]
    assert storage.get("/bucket", params={"search": "%"}).json() == []


def test_update_bucket_changes_limits(storage: httpx.Client, bucket: str) -> None:
    response = storage.put(
        f"/bucket/{bucket}",
        json={"public": True, "file_size_limit": 20, "allowed_mime_types": ["text/plain"]},
    )
    assert response.json() == {"message": "Successfully updated"}
    fetched = storage.get(f"/bucket/{bucket}").json()
    assert (fetched["public"], fetched["file_size_limit"], fetched["allowed_mime_types"]) == (
        True,
        20,
        ["text/plain"],
    )


def test_update_missing_bucket_is_no_such_bucket(storage: httpx.Client) -> None:
    assert_storage_error(storage.put("/bucket/nope", json={"public": True}), NO_SUCH_BUCKET)


def test_delete_non_empty_bucket_needs_empty_first(storage: httpx.Client, bucket: str) -> None:
    storage.post(f"/object/{bucket}/a.txt", content=b"a")
    assert_storage_error(
        storage.delete(f"/bucket/{bucket}"),
        {
            "statusCode": "409",
            "error": "ResourceNotEmpty",
            "message": "The bucket you tried to delete is not empty",
            "code": "ResourceNotEmpty",
        },
    )
    emptied = storage.post(f"/bucket/{bucket}/empty")
    assert emptied.json() == {
        "message": "Empty bucket has been queued. Completion may take up to an hour."
    }
    assert storage.delete(f"/bucket/{bucket}").json() == {"message": "Successfully deleted"}
    assert_storage_error(storage.delete(f"/bucket/{bucket}"), NO_SUCH_BUCKET)


def test_malformed_mime_entry_is_invalid_mime_type(storage: httpx.Client) -> None:
    response = storage.post("/bucket", json={"name": "m", "allowed_mime_types": ["not a mime"]})
    assert response.json()["code"] == "InvalidMimeType"


def test_anon_sees_no_buckets_and_cannot_create(server: RunningServer, bucket: str) -> None:
    with server.client(server.anon_key) as anon:
        assert anon.get("/bucket").json() == []
        assert_storage_error(anon.get(f"/bucket/{bucket}"), NO_SUCH_BUCKET)
        assert_storage_error(anon.post("/bucket", json={"name": "anon-bucket"}), RLS_DENIED)
