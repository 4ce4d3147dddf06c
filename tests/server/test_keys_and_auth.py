"""Object key rules, path safety, and JWT verification (jose wording) on the real server."""

from __future__ import annotations

import base64
import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.assertions import NO_SUCH_KEY, RLS_DENIED, assert_storage_error, invalid_request
from tests.helpers.servers import RunningServer

REJECTED_KEYS = [
    ("keys/hash%23name.txt", "keys/hash#name.txt"),
    ("keys/percent%25name.txt", "keys/percent%name.txt"),
    ("keys/caf%C3%A9.txt", "keys/café.txt"),
    ("keys/%E6%97%A5%E6%9C%AC.txt", "keys/日本.txt"),
    ("keys/tilde~name.txt", "keys/tilde~name.txt"),
    ("keys/bracket%5Bx%5D.txt", "keys/bracket[x].txt"),
    ("keys/quote%22x.txt", 'keys/quote"x.txt'),
    ("keys/backslash%5Cx.txt", "keys/backslash\\x.txt"),
]
ACCEPTED_KEYS = [
    ("keys/question%3Fname.txt", "keys/question?name.txt"),
    ("keys/space%20name.txt", "keys/space name.txt"),
    ("keys//double-slash.txt", "keys//double-slash.txt"),
    ("keys/trailing/", "keys/trailing/"),
    ("keys/specials!*'()&$=@;:+,-.txt", "keys/specials!*'()&$=@;:+,-.txt"),
]


@pytest.mark.parametrize(("sent", "decoded"), REJECTED_KEYS, ids=[d for _, d in REJECTED_KEYS])
def test_key_outside_supabase_set_is_invalid_key(
    storage: httpx.Client, bucket: str, sent: str, decoded: str
) -> None:
    response = storage.post(f"/object/{bucket}/{sent}", content=b"a")
    assert_storage_error(
        response,
        {
            "statusCode": "400",
            "error": "InvalidKey",
            "message": f"Invalid key: {decoded}",
            "code": "InvalidKey",
        },
    )


@pytest.mark.parametrize(("sent", "decoded"), ACCEPTED_KEYS, ids=[d for _, d in ACCEPTED_KEYS])
def test_key_inside_supabase_set_is_stored_verbatim(
    storage: httpx.Client, bucket: str, sent: str, decoded: str
) -> None:
    response = storage.post(f"/object/{bucket}/{sent}", content=b"a")
    assert response.status_code == 200, response.text
    assert response.json()["Key"] == f"{bucket}/{decoded}"


def _raw_request(server: RunningServer, target: str, body: bytes) -> tuple[int, dict]:
    """Send a request line exactly as given: httpx would normalise ``..`` away."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {server.service_key}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


@pytest.mark.parametrize(
    "key",
    ["keys/../escape.txt", "keys/%2E%2E/escape2.txt", "../../etc/escape3.txt", "keys/./dot.txt"],
    ids=["dotdot", "encoded-dotdot", "leading-dotdot", "dot"],
)
def test_dot_segments_are_refused_and_nothing_escapes(
    server: RunningServer, bucket: str, tmp_path: Path, key: str
) -> None:
    status, body = _raw_request(server, f"/storage/v1/object/{bucket}/{key}", b"escape")
    assert status == 400
    assert body["code"] == "InvalidKey"
    assert body["message"].startswith("Invalid key: ")
    assert body["message"].endswith("contains dot path segment")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and b"escape" in p.read_bytes()]
    assert written == []


def test_object_files_are_named_by_version_not_key(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    storage.post(f"/object/{bucket}/a/b/c.txt", content=b"x")
    data_dir = server.server.context.config.data_dir
    assert not any(p.name == "c.txt" for p in data_dir.rglob("*"))


def test_no_authorization_is_invalid_request(server: RunningServer, bucket: str) -> None:
    with httpx.Client(base_url=server.storage_url) as client:
        response = client.get(f"/object/authenticated/{bucket}/top.txt")
    assert_storage_error(
        response, invalid_request("headers must have required property 'authorization'")
    )


def _access_denied(message: str) -> dict[str, str]:
    return {
        "statusCode": "403",
        "error": "Unauthorized",
        "message": message,
        "code": "AccessDenied",
    }


def _alg_none_token() -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'role': 'service_role'})}."


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda s: "garbage", "Invalid Compact JWS"),
        (
            lambda s: s.token(
                secret="another-secret-another-secret-another-secret-another-secret-0123456789",
                role="service_role",
            ),
            "signature verification failed",
        ),
        (
            lambda s: s.token(role="service_role", exp=int(time.time()) - 10),
            '"exp" claim timestamp check failed',
        ),
        (
            lambda s: s.service_key[:-2] + ("AA" if not s.service_key.endswith("AA") else "BB"),
            "signature verification failed",
        ),
        (lambda s: _alg_none_token(), '"alg" (Algorithm) Header Parameter value not allowed'),
        (
            lambda s: s.token(algorithm="HS512", role="service_role"),
            '"alg" (Algorithm) Header Parameter value not allowed',
        ),
    ],
    ids=["malformed", "foreign-secret", "expired", "tampered", "alg-none", "hs512"],
)
def test_bad_jwt_is_access_denied_with_jose_message(
    server: RunningServer, bucket: str, make_token, message: str
) -> None:
    with server.client(make_token(server)) as client:
        assert_storage_error(
            client.get(f"/object/authenticated/{bucket}/top.txt"), _access_denied(message)
        )


def test_bearer_prefix_is_case_insensitive(server: RunningServer, bucket: str) -> None:
    with httpx.Client(
        base_url=server.storage_url, headers={"Authorization": f"bearer {server.service_key}"}
    ) as client:
        assert client.get(f"/bucket/{bucket}").status_code == 200


def test_apikey_is_the_bearer_when_authorization_is_missing(
    server: RunningServer, bucket: str
) -> None:
    with httpx.Client(
        base_url=server.storage_url, headers={"apikey": server.service_key}
    ) as client:
        assert client.get(f"/bucket/{bucket}").status_code == 200


def test_anon_reads_nothing_and_writes_nothing(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    storage.post(f"/object/{bucket}/top.txt", content=b"a")
    with server.client(server.anon_key) as anon:
        assert_storage_error(anon.get(f"/object/authenticated/{bucket}/top.txt"), NO_SUCH_KEY)
        assert_storage_error(anon.post(f"/object/{bucket}/anon.txt", content=b"a"), RLS_DENIED)
        assert anon.post(f"/object/list/{bucket}", json={"prefix": ""}).json() == []


def test_object_owner_is_jwt_sub(server: RunningServer, bucket: str) -> None:
    with server.client(server.user_token("user-1")) as user:
        assert user.post(f"/object/{bucket}/mine.txt", content=b"a").status_code == 200
    with server.client(server.service_key) as service:
        rows = service.request(
            "DELETE", f"/object/{bucket}", json={"prefixes": ["mine.txt"]}
        ).json()
    assert rows[0]["owner"] == rows[0]["owner_id"] == "user-1"


def test_users_cannot_see_each_others_objects(server: RunningServer, bucket: str) -> None:
    with (
        server.client(server.user_token("alice")) as alice,
        server.client(server.user_token("bob")) as bob,
    ):
        alice.post(f"/object/{bucket}/a.txt", content=b"alice's")
        assert alice.get(f"/object/{bucket}/a.txt").content == b"alice's"
        assert_storage_error(bob.get(f"/object/{bucket}/a.txt"), NO_SUCH_KEY)
        assert_storage_error(bob.delete(f"/object/{bucket}/a.txt"), NO_SUCH_KEY)
        assert_storage_error(
            bob.post(f"/object/sign/{bucket}/a.txt", json={"expiresIn": 60}), NO_SUCH_KEY
        )
        assert bob.request("DELETE", f"/object/{bucket}", json={"prefixes": ["a.txt"]}).json() == []
        assert bob.post(f"/object/list-v2/{bucket}", json={}).json()["objects"] == []
        assert_storage_error(
            bob.post(f"/object/{bucket}/a.txt", content=b"bob's", headers={"x-upsert": "true"}),
            RLS_DENIED,
        )
        assert alice.get(f"/object/{bucket}/a.txt").content == b"alice's"
