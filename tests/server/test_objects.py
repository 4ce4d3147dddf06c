"""Object upload, download, info, delete, list, move and copy against the real server."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from tests.helpers.assertions import (
    KEY_EXISTS,
    NO_SUCH_BUCKET,
    NO_SUCH_KEY,
    assert_storage_error,
    invalid_request,
)
from tests.helpers.servers import RunningServer

ENTITY_TOO_LARGE = {
    "statusCode": "413",
    "error": "Payload too large",
    "message": "The object exceeded the maximum allowed size",
    "code": "EntityTooLarge",
}


def upload(
    storage: httpx.Client, bucket: str, key: str, data: bytes = b"hello", **kw
) -> httpx.Response:
    headers = {"content-type": "text/plain"} | kw.pop("headers", {})
    return storage.post(f"/object/{bucket}/{key}", content=data, headers=headers, **kw)


def test_raw_upload_answers_key_and_id(storage: httpx.Client, bucket: str) -> None:
    response = upload(storage, bucket, "folder/hello.txt")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["Key", "Id"]
    assert body["Key"] == f"{bucket}/folder/hello.txt"


def test_duplicate_upload_is_key_already_exists(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "a.txt")
    assert_storage_error(upload(storage, bucket, "a.txt"), KEY_EXISTS)
    assert_storage_error(
        upload(storage, bucket, "a.txt", headers={"x-upsert": "false"}), KEY_EXISTS
    )


def test_upsert_replaces_bytes_and_keeps_id(storage: httpx.Client, bucket: str) -> None:
    first = upload(storage, bucket, "a.txt", b"one").json()
    second = upload(storage, bucket, "a.txt", b"two!", headers={"x-upsert": "true"}).json()
    assert second["Id"] == first["Id"]
    assert storage.get(f"/object/authenticated/{bucket}/a.txt").content == b"two!"


def test_put_creates_and_updates(storage: httpx.Client, bucket: str) -> None:
    created = storage.put(f"/object/{bucket}/p.txt", content=b"x")
    updated = storage.put(f"/object/{bucket}/p.txt", content=b"updated via PUT")
    assert created.status_code == updated.status_code == 200
    assert created.json()["Id"] == updated.json()["Id"]
    assert storage.get(f"/object/{bucket}/p.txt").content == b"updated via PUT"


def test_empty_body_upload_is_accepted(storage: httpx.Client, bucket: str) -> None:
    assert upload(storage, bucket, "empty.txt", b"").status_code == 200
    downloaded = storage.get(f"/object/authenticated/{bucket}/empty.txt")
    assert downloaded.status_code == 200
    assert downloaded.content == b""


def test_upload_to_missing_bucket_is_no_such_bucket(storage: httpx.Client) -> None:
    assert_storage_error(upload(storage, "nope-bucket", "a.txt"), NO_SUCH_BUCKET)


def test_download_sends_supabase_headers(storage: httpx.Client, bucket: str) -> None:
    data = b"HELLO AGAIN v2\n"
    upload(storage, bucket, "h.txt", data)
    response = storage.get(f"/object/authenticated/{bucket}/h.txt")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-robots-tag"] == "none"
    assert response.headers["last-modified"].endswith(" GMT")


def test_cache_control_and_metadata_headers_are_stored(storage: httpx.Client, bucket: str) -> None:
    meta = {"origin": "desktop"}
    import base64

    upload(
        storage,
        bucket,
        "c.txt",
        headers={
            "cache-control": "max-age=3600",
            "x-metadata": base64.b64encode(json.dumps(meta).encode()).decode(),
        },
    )
    assert storage.get(f"/object/{bucket}/c.txt").headers["cache-control"] == "max-age=3600"
    assert storage.get(f"/object/info/{bucket}/c.txt").json()["metadata"] == meta


def test_multipart_upload_takes_first_file_part_and_fields(
    storage: httpx.Client, bucket: str
) -> None:
    response = storage.post(
        f"/object/{bucket}/mp.txt",
        data={"cacheControl": "3600", "metadata": json.dumps({"a": 1})},
        files={"": ("ignored-name.bin", b"multipart body", "text/csv")},
    )
    assert response.status_code == 200, response.text
    downloaded = storage.get(f"/object/{bucket}/mp.txt")
    assert downloaded.content == b"multipart body"
    assert downloaded.headers["cache-control"] == "max-age=3600"
    assert downloaded.headers["content-type"] == "text/csv"
    assert storage.get(f"/object/info/{bucket}/mp.txt").json()["metadata"] == {"a": 1}


def test_multipart_content_type_field_overrides_part_type(
    storage: httpx.Client, bucket: str
) -> None:
    storage.post(
        f"/object/{bucket}/typed",
        data={"contentType": "image/png"},
        files={"file": ("x", b"png", "application/octet-stream")},
    )
    assert storage.get(f"/object/{bucket}/typed").headers["content-type"] == "image/png"


def test_html_is_served_as_plain_text(storage: httpx.Client, bucket: str) -> None:
    upload(
        storage, bucket, "page.html", b"<script>1</script>", headers={"content-type": "text/html"}
    )
    assert storage.get(f"/object/{bucket}/page.html").headers["content-type"] == "text/plain"


@pytest.mark.parametrize(
    ("range_header", "expected", "content_range"),
    [
        ("bytes=0-3", b"upda", "bytes 0-3/15"),
        ("bytes=10-", b"a PUT", "bytes 10-14/15"),
        ("bytes=-3", b"PUT", "bytes 12-14/15"),
    ],
    ids=["closed", "open-ended", "suffix"],
)
def test_range_request_is_partial_content(
    storage: httpx.Client, bucket: str, range_header: str, expected: bytes, content_range: str
) -> None:
    upload(storage, bucket, "r.txt", b"updated via PUT")
    response = storage.get(f"/object/authenticated/{bucket}/r.txt", headers={"Range": range_header})
    assert response.status_code == 206
    assert response.content == expected
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(expected))


def test_unsatisfiable_range_is_416(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "r.txt", b"abc")
    response = storage.get(f"/object/{bucket}/r.txt", headers={"Range": "bytes=10-20"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */3"


def test_conditional_get_is_not_modified(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "c.txt")
    first = storage.get(f"/object/{bucket}/c.txt")
    by_etag = storage.get(
        f"/object/{bucket}/c.txt", headers={"If-None-Match": first.headers["etag"]}
    )
    by_date = storage.get(
        f"/object/{bucket}/c.txt", headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    changed = storage.get(f"/object/{bucket}/c.txt", headers={"If-None-Match": '"other"'})
    assert (by_etag.status_code, by_date.status_code, changed.status_code) == (304, 304, 200)
    assert by_etag.content == b""


def test_head_returns_headers_without_body(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "h.txt", b"12345")
    response = storage.head(f"/object/authenticated/{bucket}/h.txt")
    assert response.status_code == 200
    assert response.headers["content-length"] == "5"
    assert response.content == b""


def test_head_missing_object_is_400_without_body(storage: httpx.Client, bucket: str) -> None:
    response = storage.head(f"/object/authenticated/{bucket}/nope.txt")
    assert response.status_code == 400
    assert response.headers["content-length"] == "88"
    assert response.content == b""


@pytest.mark.parametrize(
    "route", ["/object/authenticated", "/object"], ids=["authenticated", "legacy"]
)
def test_missing_object_is_no_such_key(storage: httpx.Client, bucket: str, route: str) -> None:
    assert_storage_error(storage.get(f"{route}/{bucket}/does/not/exist.txt"), NO_SUCH_KEY)


def test_object_in_missing_bucket_is_no_such_bucket(storage: httpx.Client) -> None:
    assert_storage_error(storage.get("/object/authenticated/nope-bucket/x.txt"), NO_SUCH_BUCKET)


def test_download_parameter_sets_content_disposition(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "d.txt")
    plain = storage.get(f"/object/{bucket}/d.txt", params={"download": ""})
    named = storage.get(f"/object/{bucket}/d.txt", params={"download": "n é.pdf"})
    assert plain.headers["content-disposition"] == "attachment;"
    assert named.headers["content-disposition"] == (
        "attachment; filename=n%20%C3%A9.pdf; filename*=UTF-8''n%20%C3%A9.pdf"
    )


def test_public_route_needs_a_public_bucket(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    upload(storage, bucket, "p.txt", b"a")
    with httpx.Client(base_url=server.storage_url) as anonymous:
        assert_storage_error(anonymous.get(f"/object/public/{bucket}/p.txt"), NO_SUCH_BUCKET)
        storage.put(f"/bucket/{bucket}", json={"public": True})
        response = anonymous.get(f"/object/public/{bucket}/p.txt")
        assert response.status_code == 200
        assert response.content == b"a"
        assert anonymous.get(f"/object/{bucket}/p.txt").content == b"a"


def test_legacy_route_without_jwt_on_private_bucket_is_no_such_bucket(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    upload(storage, bucket, "p.txt")
    with httpx.Client(base_url=server.storage_url) as anonymous:
        assert_storage_error(anonymous.get(f"/object/{bucket}/p.txt"), NO_SUCH_BUCKET)


def test_object_info(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "top.txt", b"a")
    for route in ("/object/info", "/object/info/authenticated"):
        response = storage.get(f"{route}/{bucket}/top.txt")
        assert response.status_code == 200
        body = response.json()
        assert list(body) == [
            "id", "name", "version", "bucket_id", "size", "content_type", "cache_control",
            "etag", "metadata", "last_modified", "created_at",
        ]  # fmt: skip
        assert (body["name"], body["size"], body["content_type"], body["metadata"]) == (
            "top.txt", 1, "text/plain", {},
        )  # fmt: skip
        assert body["etag"] == response.headers["etag"] == '"0cc175b9c0f1b6a831c399e269772661"'


def test_size_limit_and_mime_rules(storage: httpx.Client) -> None:
    storage.post(
        "/bucket",
        json={
            "name": "limited",
            "file_size_limit": 10,
            "allowed_mime_types": ["text/plain", "image/*"],
        },
    )
    assert upload(storage, "limited", "ok10.txt", b"0123456789").status_code == 200
    assert_storage_error(upload(storage, "limited", "big.txt", b"0123456789A"), ENTITY_TOO_LARGE)
    too_big_multipart = storage.post(
        "/object/limited/mp.txt", files={"file": ("f", b"0123456789A", "text/plain")}
    )
    assert_storage_error(too_big_multipart, ENTITY_TOO_LARGE)
    assert (
        upload(
            storage, "limited", "x.png", b"PNG", headers={"content-type": "image/png"}
        ).status_code
        == 200
    )
    for content_type in ("application/json", "text/plain;charset=utf-8"):
        assert_storage_error(
            upload(storage, "limited", "x", b"{}", headers={"content-type": content_type}),
            {
                "statusCode": "415",
                "error": "invalid_mime_type",
                "message": f"mime type {content_type} is not supported",
                "code": "InvalidMimeType",
            },
        )


def test_streamed_upload_over_limit_leaves_nothing(
    server: RunningServer, storage: httpx.Client
) -> None:
    storage.post("/bucket", json={"name": "limited", "file_size_limit": 10})

    def chunks():
        yield b"0123456"
        yield b"789ABC"

    response = storage.post("/object/limited/big.txt", content=chunks())
    assert_storage_error(response, ENTITY_TOO_LARGE)
    assert_storage_error(storage.get("/object/limited/big.txt"), NO_SUCH_KEY)
    staging = server.server.context.config.data_dir / "blobs" / "staging"
    assert list(staging.iterdir()) == []


def test_delete_one(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "space name.txt")
    assert storage.delete(f"/object/{bucket}/space%20name.txt").json() == {
        "message": "Successfully deleted"
    }
    assert_storage_error(storage.delete(f"/object/{bucket}/space%20name.txt"), NO_SUCH_KEY)


def test_delete_many_returns_only_deleted_rows(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "top.txt", b"a")
    upload(storage, bucket, "folder/sub/deep.txt", b"a")
    response = storage.request(
        "DELETE", f"/object/{bucket}", json={"prefixes": ["top.txt", "missing.txt", "folder/sub"]}
    )
    assert response.status_code == 200
    rows = response.json()
    assert [row["name"] for row in rows] == ["top.txt"]
    assert list(rows[0]) == [
        "name", "bucket_id", "owner", "owner_id", "version", "id", "updated_at", "created_at",
        "last_accessed_at", "metadata", "user_metadata",
    ]  # fmt: skip
    again = storage.request("DELETE", f"/object/{bucket}", json={"prefixes": ["top.txt"]})
    assert again.json() == []
    missing_bucket = storage.request("DELETE", "/object/nope", json={"prefixes": ["a.txt"]})
    assert (missing_bucket.status_code, missing_bucket.json()) == (200, [])
    assert_storage_error(
        storage.request("DELETE", f"/object/{bucket}", json={"prefixes": []}),
        invalid_request("body/prefixes must NOT have fewer than 1 items"),
    )


def test_list_v1_is_one_level_with_folders(storage: httpx.Client, bucket: str) -> None:
    for key in ("folder/hello.txt", "folder/sub/deep.txt", "top.txt"):
        upload(storage, bucket, key, b"a")
    root = storage.post(
        f"/object/list/{bucket}",
        json={
            "prefix": "",
            "limit": 100,
            "offset": 0,
            "sortBy": {"column": "name", "order": "asc"},
        },
    ).json()
    assert [(item["name"], item["id"] is None) for item in root] == [
        ("folder", True),
        ("top.txt", False),
    ]
    assert root[0] == {
        "name": "folder",
        "id": None,
        "updated_at": None,
        "created_at": None,
        "last_accessed_at": None,
        "metadata": None,
    }
    assert root[1]["metadata"]["size"] == 1
    folder = storage.post(f"/object/list/{bucket}", json={"prefix": "folder"}).json()
    assert [item["name"] for item in folder] == ["hello.txt", "sub"]
    searched = storage.post(
        f"/object/list/{bucket}", json={"prefix": "folder/", "search": "HEL"}
    ).json()
    assert [item["name"] for item in searched] == ["hello.txt"]
    assert storage.post("/object/list/nope-bucket", json={"prefix": ""}).json() == []
    assert_storage_error(
        storage.post(f"/object/list/{bucket}", json={}),
        invalid_request("body must have required property 'prefix'"),
    )


def test_list_v2_pages_flat_listing_with_cursor(storage: httpx.Client, bucket: str) -> None:
    keys = [f"d/{i:03d}.txt" for i in range(7)] + ["d/sub/x.txt", "other.txt"]
    for key in keys:
        upload(storage, bucket, key, b"a")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        body = {"prefix": "d/", "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = storage.post(f"/object/list-v2/{bucket}", json=body).json()
        pages += 1
        assert page["folders"] == []
        seen += [item["name"] for item in page["objects"]]
        if not page["hasNext"]:
            break
        cursor = page["nextCursor"]
    assert seen == sorted(k for k in keys if k.startswith("d/"))
    assert pages == 3


def test_list_v2_with_delimiter_groups_folders(storage: httpx.Client, bucket: str) -> None:
    for key in ("a/1.txt", "a/2.txt", "b/1.txt", "c.txt"):
        upload(storage, bucket, key, b"a")
    page = storage.post(f"/object/list-v2/{bucket}", json={"with_delimiter": True}).json()
    assert [f["name"] for f in page["folders"]] == ["a/", "b/"]
    assert all(f["id"] is None for f in page["folders"])
    assert [o["name"] for o in page["objects"]] == ["c.txt"]
    assert page["hasNext"] is False


def test_move_object(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "folder/hello.txt", b"moved bytes")
    body = {
        "bucketId": bucket,
        "sourceKey": "folder/hello.txt",
        "destinationKey": "moved/hello.txt",
    }
    assert storage.post("/object/move", json=body).json() == {"message": "Successfully moved"}
    assert storage.get(f"/object/{bucket}/moved/hello.txt").content == b"moved bytes"
    assert_storage_error(storage.post("/object/move", json=body), NO_SUCH_KEY)


def test_move_onto_existing_key_is_refused(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "a.txt")
    upload(storage, bucket, "b.txt")
    body = {"bucketId": bucket, "sourceKey": "a.txt", "destinationKey": "b.txt"}
    assert_storage_error(storage.post("/object/move", json=body), KEY_EXISTS)


def test_copy_object(storage: httpx.Client, bucket: str) -> None:
    upload(storage, bucket, "src.txt", b"copy me")
    body = {"bucketId": bucket, "sourceKey": "src.txt", "destinationKey": "copied/dst.txt"}
    response = storage.post("/object/copy", json=body)
    assert response.status_code == 200
    copied = response.json()
    assert copied["Key"] == f"{bucket}/copied/dst.txt"
    assert copied["Id"] == copied["id"]
    assert copied["name"] == "copied/dst.txt"
    assert storage.get(f"/object/{bucket}/copied/dst.txt").content == b"copy me"
    assert_storage_error(storage.post("/object/copy", json=body), KEY_EXISTS)
    upserted = storage.post("/object/copy", json=body, headers={"x-upsert": "true"})
    assert upserted.status_code == 200


def test_unknown_route_is_real_404(storage: httpx.Client) -> None:
    response = storage.get("/nope")
    assert response.status_code == 404
    assert response.json() == {
        "message": "Route GET:/nope not found",
        "error": "Not Found",
        "statusCode": 404,
    }
