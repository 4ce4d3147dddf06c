"""Signed download and upload URLs on the real server."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.helpers.assertions import KEY_EXISTS, NO_SUCH_KEY, assert_storage_error, invalid_request
from tests.helpers.servers import RunningServer


def _claims(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    pad = lambda part: part + "=" * (-len(part) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
    )


def _invalid_jwt(message: str) -> dict[str, str]:
    return {"statusCode": "400", "error": "InvalidJWT", "message": message, "code": "InvalidJWT"}


@pytest.fixture
def signed_url(storage: httpx.Client, bucket: str) -> str:
    storage.post(
        f"/object/{bucket}/folder/hello.txt",
        content=b"HELLO",
        headers={"content-type": "text/plain"},
    )
    return storage.post(f"/object/sign/{bucket}/folder/hello.txt", json={"expiresIn": 60}).json()[
        "signedURL"
    ]


def test_sign_answers_relative_url_with_scoped_token(signed_url: str, bucket: str) -> None:
    path, _, query = signed_url.partition("?token=")
    assert path == f"/object/sign/{bucket}/folder/hello.txt"
    header, claims = _claims(query)
    assert header == {"alg": "HS256"}
    assert list(claims) == ["url", "scope", "iat", "exp"]
    assert claims["url"] == f"{bucket}/folder/hello.txt"
    assert claims["scope"] == "download"
    assert claims["exp"] - claims["iat"] == 60


def test_signed_get_streams_object_with_expires(server: RunningServer, signed_url: str) -> None:
    with httpx.Client(base_url=server.storage_url) as anonymous:
        response = anonymous.get(signed_url)
    assert response.status_code == 200
    assert response.content == b"HELLO"
    assert "cache-control" not in response.headers
    expires = parsedate_to_datetime(response.headers["expires"])
    _, claims = _claims(signed_url.partition("?token=")[2])
    assert expires == datetime.fromtimestamp(claims["exp"], UTC)


def test_expires_in_string_is_coerced(storage: httpx.Client, signed_url: str, bucket: str) -> None:
    response = storage.post(f"/object/sign/{bucket}/folder/hello.txt", json={"expiresIn": "30"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"expiresIn": 0}, "body/expiresIn must be >= 1"),
        ({}, "body must have required property 'expiresIn'"),
    ],
    ids=["zero", "missing"],
)
def test_bad_expires_in_is_invalid_request(
    storage: httpx.Client, signed_url: str, bucket: str, body: dict, message: str
) -> None:
    assert_storage_error(
        storage.post(f"/object/sign/{bucket}/folder/hello.txt", json=body), invalid_request(message)
    )


def test_signing_missing_object_is_no_such_key(storage: httpx.Client, bucket: str) -> None:
    assert_storage_error(
        storage.post(f"/object/sign/{bucket}/nope.txt", json={"expiresIn": 60}), NO_SUCH_KEY
    )


def test_signed_get_failures(server: RunningServer, signed_url: str, bucket: str) -> None:
    path, _, token = signed_url.partition("?token=")
    # Change the signature's first character: the last one may only hold padding bits.
    signed, _, signature = token.rpartition(".")
    tampered = f"{signed}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    expired = server.token(
        url=f"{bucket}/folder/hello.txt", scope="download", iat=1, exp=int(time.time()) - 5
    )
    with httpx.Client(base_url=server.storage_url) as anonymous:
        assert_storage_error(
            anonymous.get(f"{path}?token={tampered}"), _invalid_jwt("signature verification failed")
        )
        assert_storage_error(
            anonymous.get(f"{path}?token=notajwt"), _invalid_jwt("Invalid Compact JWS")
        )
        assert_storage_error(
            anonymous.get(f"{path}?token={expired}"),
            _invalid_jwt('"exp" claim timestamp check failed'),
        )
        assert_storage_error(
            anonymous.get(path), invalid_request("querystring must have required property 'token'")
        )
        assert_storage_error(
            anonymous.get(f"/object/sign/{bucket}/top.txt?token={token}"),
            {
                "statusCode": "400",
                "error": "InvalidSignature",
                "message": "Invalid signature",
                "code": "InvalidSignature",
            },
        )


def test_upload_token_cannot_download(server: RunningServer, signed_url: str, bucket: str) -> None:
    token = server.token(url=f"{bucket}/folder/hello.txt", scope="upload", upsert=False)
    with httpx.Client(base_url=server.storage_url) as anonymous:
        assert_storage_error(
            anonymous.get(f"/object/sign/{bucket}/folder/hello.txt?token={token}"),
            {
                "statusCode": "400",
                "error": "InvalidSignature",
                "message": "Token is not scoped for download",
                "code": "InvalidSignature",
            },
        )


def test_signed_url_of_deleted_object_is_no_such_key(
    server: RunningServer, storage: httpx.Client, signed_url: str, bucket: str
) -> None:
    storage.delete(f"/object/{bucket}/folder/hello.txt")
    with httpx.Client(base_url=server.storage_url) as anonymous:
        assert_storage_error(anonymous.get(signed_url), NO_SUCH_KEY)


def test_batch_sign_reports_each_path(storage: httpx.Client, signed_url: str, bucket: str) -> None:
    response = storage.post(
        f"/object/sign/{bucket}", json={"expiresIn": 60, "paths": ["folder/hello.txt", "nope.txt"]}
    )
    assert response.status_code == 200
    found, missing = response.json()
    assert list(found) == ["error", "path", "signedURL"]
    assert found["error"] is None
    assert found["signedURL"].startswith(f"/object/sign/{bucket}/folder/hello.txt?token=")
    assert missing == {
        "error": "Either the object does not exist or you do not have access to it",
        "path": "nope.txt",
        "signedURL": None,
    }
    in_missing_bucket = storage.post(
        "/object/sign/nope-bucket", json={"expiresIn": 60, "paths": ["a"]}
    )
    assert in_missing_bucket.status_code == 200
    assert in_missing_bucket.json()[0]["signedURL"] is None


def test_signed_upload_url_round_trip(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    signed = storage.post(f"/object/upload/sign/{bucket}/signed-up/one.txt")
    assert signed.status_code == 200
    body = signed.json()
    assert list(body) == ["url", "token"]
    assert body["url"] == f"/object/upload/sign/{bucket}/signed-up/one.txt?token={body['token']}"
    _, claims = _claims(body["token"])
    assert (claims["scope"], claims["upsert"], claims["url"]) == (
        "upload",
        False,
        f"{bucket}/signed-up/one.txt",
    )
    with httpx.Client(base_url=server.storage_url) as anonymous:
        put = anonymous.put(
            body["url"], content=b"via signed upload", headers={"content-type": "text/plain"}
        )
        assert put.json() == {"Key": f"{bucket}/signed-up/one.txt"}
        assert_storage_error(anonymous.put(body["url"], content=b"again"), KEY_EXISTS)
        download_token = storage.post(
            f"/object/sign/{bucket}/signed-up/one.txt", json={"expiresIn": 60}
        ).json()
        wrong_scope = download_token["signedURL"].replace("/object/sign/", "/object/upload/sign/")
        assert anonymous.put(wrong_scope, content=b"x").json()["code"] == "InvalidSignature"
    assert storage.get(f"/object/{bucket}/signed-up/one.txt").content == b"via signed upload"


def test_signing_upload_url_for_existing_key_is_refused(storage: httpx.Client, bucket: str) -> None:
    storage.post(f"/object/{bucket}/taken.txt", content=b"a")
    assert_storage_error(storage.post(f"/object/upload/sign/{bucket}/taken.txt"), KEY_EXISTS)
    assert (
        storage.post(
            f"/object/upload/sign/{bucket}/taken.txt", headers={"x-upsert": "true"}
        ).status_code
        == 200
    )
