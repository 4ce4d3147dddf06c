"""TUS resumable uploads on the real server."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.helpers.assertions import NO_SUCH_KEY, assert_storage_error
from tests.helpers.servers import RunningServer

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {"Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(
    storage: httpx.Client, bucket: str, name: str, length: int, **headers: str
) -> httpx.Response:
    meta = headers.pop("meta", None) or metadata(
        bucketName=bucket, objectName=name, contentType="text/plain", cacheControl="3600"
    )
    return storage.post(
        "/upload/resumable",
        headers=TUS | {"Upload-Length": str(length), "Upload-Metadata": meta} | headers,
    )


def test_create_head_patch_complete(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    created = create(storage, bucket, "tus/third.txt", 11)
    assert created.status_code == 201
    location = created.headers["location"]
    upload_id = location.rsplit("/", 1)[1]
    assert location == f"{server.storage_url}/upload/resumable/{upload_id}"
    decoded = base64.urlsafe_b64decode(upload_id + "=" * (-len(upload_id) % 4)).decode()
    assert decoded.startswith(f"{bucket}/tus/third.txt/")
    assert created.headers["tus-resumable"] == "1.0.0"
    assert "upload-offset" not in created.headers

    head = storage.head(location, headers=TUS)
    assert head.status_code == 200
    assert (head.headers["upload-offset"], head.headers["upload-length"]) == ("0", "11")
    assert head.headers["cache-control"] == "no-store"
    assert (
        metadata(
            bucketName=bucket,
            objectName="tus/third.txt",
            contentType="text/plain",
            cacheControl="max-age=3600",
        )
        == head.headers["upload-metadata"]
    )

    first = storage.patch(location, content=b"hello", headers=TUS | CHUNK | {"Upload-Offset": "0"})
    assert (first.status_code, first.headers["upload-offset"]) == (204, "5")
    assert "tus-complete" not in first.headers
    assert_storage_error(storage.get(f"/object/authenticated/{bucket}/tus/third.txt"), NO_SUCH_KEY)

    conflict = storage.patch(
        location, content=b"hello", headers=TUS | CHUNK | {"Upload-Offset": "0"}
    )
    assert (conflict.status_code, conflict.text) == (409, "Upload-Offset conflict\n")
    wrong_type = storage.patch(
        location,
        content=b" world",
        headers=TUS | {"Upload-Offset": "5", "Content-Type": "text/plain"},
    )
    assert (wrong_type.status_code, wrong_type.text) == (400, "Invalid content-type\n")

    last = storage.patch(location, content=b" world", headers=TUS | CHUNK | {"Upload-Offset": "5"})
    assert (last.status_code, last.headers["upload-offset"], last.headers["tus-complete"]) == (
        204,
        "11",
        "1",
    )
    downloaded = storage.get(f"/object/authenticated/{bucket}/tus/third.txt")
    assert downloaded.content == b"hello world"
    assert downloaded.headers["etag"] == '"5eb63bbbe01eeed093cb22bb8f5acdc3"'
    assert downloaded.headers["cache-control"] == "max-age=3600"
    assert storage.head(location, headers=TUS).headers["upload-offset"] == "11"

    finished = storage.delete(location, headers=TUS)
    assert (finished.status_code, finished.text) == (
        400,
        "Cannot terminate an already completed upload\n",
    )


def test_existing_object_needs_upsert(storage: httpx.Client, bucket: str) -> None:
    storage.post(f"/object/{bucket}/tus/x.txt", content=b"old")
    refused = create(storage, bucket, "tus/x.txt", 3)
    assert (refused.status_code, refused.text) == (409, "The resource already exists")
    upserted = storage.post(
        "/upload/resumable",
        content=b"new",
        headers=TUS
        | CHUNK
        | {
            "Upload-Length": "3",
            "x-upsert": "true",
            "Upload-Metadata": metadata(
                bucketName=bucket, objectName="tus/x.txt", contentType="text/plain"
            ),
        },
    )
    assert upserted.status_code == 201
    assert (upserted.headers["upload-offset"], upserted.headers["tus-complete"]) == ("3", "1")
    assert storage.get(f"/object/{bucket}/tus/x.txt").content == b"new"


def test_incomplete_upload_does_not_block_a_second_create(
    storage: httpx.Client, bucket: str
) -> None:
    assert create(storage, bucket, "tus/second.txt", 3).status_code == 201
    assert create(storage, bucket, "tus/second.txt", 3).status_code == 201
    assert_storage_error(storage.get(f"/object/authenticated/{bucket}/tus/second.txt"), NO_SUCH_KEY)


def test_body_beyond_upload_length_is_413(storage: httpx.Client, bucket: str) -> None:
    response = storage.post(
        "/upload/resumable",
        content=b"abcdef",
        headers=TUS
        | CHUNK
        | {
            "Upload-Length": "2",
            "Upload-Metadata": metadata(bucketName=bucket, objectName="tus/overflow.txt"),
        },
    )
    assert (response.status_code, response.text) == (413, "upload's size exceeded\n")


@pytest.mark.parametrize(
    ("bucket_setup", "name", "length", "content_type", "status", "text"),
    [
        ({"file_size_limit": 20}, "tus-big.txt", 21, "text/plain", 413, "Maximum size exceeded\n"),
        (
            {"allowed_mime_types": ["text/plain"]},
            "tus.json",
            3,
            "application/json",
            415,
            "mime type application/json is not supported",
        ),
        ({}, "tus/bad#key.txt", 3, "text/plain", 400, "Invalid key: tus/bad#key.txt"),
    ],
    ids=["too-large", "mime", "bad-key"],
)
def test_create_errors_are_plain_text(
    storage: httpx.Client,
    bucket_setup: dict,
    name: str,
    length: int,
    content_type: str,
    status: int,
    text: str,
) -> None:
    storage.post("/bucket", json={"name": "limited"} | bucket_setup)
    response = create(
        storage,
        "limited",
        name,
        length,
        meta=metadata(bucketName="limited", objectName=name, contentType=content_type),
    )
    assert (response.status_code, response.text) == (status, text)
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"


def test_missing_bucket_and_missing_tus_header(storage: httpx.Client) -> None:
    missing = create(
        storage,
        "nope-bucket",
        "x.txt",
        3,
        meta=metadata(bucketName="nope-bucket", objectName="x.txt"),
    )
    assert (missing.status_code, missing.text) == (404, "Bucket not found")
    no_tus = storage.post(
        "/upload/resumable",
        headers={"Upload-Length": "3", "Upload-Metadata": metadata(bucketName="b", objectName="x")},
    )
    assert (no_tus.status_code, no_tus.text) == (412, "Tus-Resumable Required\n")


def test_create_without_authorization_is_json_access_denied(
    server: RunningServer, bucket: str
) -> None:
    with httpx.Client(base_url=server.storage_url) as anonymous:
        response = create(anonymous, bucket, "tus/noauth.txt", 3)
    assert response.status_code == 400
    assert list(response.json().items()) == [
        ("statusCode", "403"), ("code", "AccessDenied"), ("error", "Unauthorized"), ("message", "Invalid Compact JWS"),
    ]  # fmt: skip


def test_unknown_upload_and_terminate(storage: httpx.Client, bucket: str) -> None:
    unknown = storage.head("/upload/resumable/bm9wZQ", headers=TUS)
    assert (unknown.status_code, unknown.headers["content-length"]) == (404, "36")
    location = create(storage, bucket, "tus/cancel.txt", 10).headers["location"]
    assert storage.delete(location, headers=TUS).status_code == 204
    assert storage.head(location, headers=TUS).status_code == 404


def test_options_advertises_tus(storage: httpx.Client) -> None:
    response = storage.options("/upload/resumable")
    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert "creation" in response.headers["tus-extension"].split(",")
    assert int(response.headers["tus-max-size"]) > 0


def test_other_users_cannot_continue_an_upload(server: RunningServer, bucket: str) -> None:
    with (
        server.client(server.user_token("alice")) as alice,
        server.client(server.user_token("bob")) as bob,
    ):
        location = create(alice, bucket, "tus/alice.txt", 2).headers["location"]
        stolen = bob.patch(location, content=b"ab", headers=TUS | CHUNK | {"Upload-Offset": "0"})
        assert stolen.status_code == 404
        done = alice.patch(location, content=b"ab", headers=TUS | CHUNK | {"Upload-Offset": "0"})
        assert done.headers["tus-complete"] == "1"
        assert alice.get(f"/object/{bucket}/tus/alice.txt").content == b"ab"
