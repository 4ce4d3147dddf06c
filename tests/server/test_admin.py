"""Fault injection and secret rotation through /admin/v1 on the real server."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from desktop.server.faults import FaultRule, RuleError
from tests.helpers.servers import RunningServer, running_server


def add_fault(server: RunningServer, **rule: object) -> dict:
    with server.admin() as admin:
        response = admin.post("/admin/v1/faults", json=rule)
    assert response.status_code == 201, response.text
    return response.json()[0]


def test_fault_fires_for_the_next_n_matches_only(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    add_fault(
        server,
        method="POST",
        path="/storage/v1/object/files/*",
        times=2,
        status=503,
        body={"message": "down"},
    )
    statuses = [
        storage.post(f"/object/{bucket}/f{i}.txt", content=b"a").status_code for i in range(3)
    ]
    assert statuses == [503, 503, 200]
    assert storage.post(f"/object/{bucket}/f0.txt", content=b"a").status_code == 200  # never stored


def test_fault_matches_method_and_path(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    add_fault(server, method="DELETE", path="*/object/files", times=None, status=500)
    assert storage.post(f"/object/{bucket}/a.txt", content=b"a").status_code == 200
    assert (
        storage.request("DELETE", f"/object/{bucket}", json={"prefixes": ["a.txt"]}).status_code
        == 500
    )
    assert (
        storage.request("DELETE", f"/object/{bucket}", json={"prefixes": ["a.txt"]}).status_code
        == 500
    )


def test_fault_matching_a_body_text_fails_only_requests_carrying_it(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    add_fault(
        server, method="POST", path="/storage/v1/object/files/*", body_contains="poison",
        times=None, status=422, body={"message": "refused"},
    )  # fmt: skip
    assert storage.post(f"/object/{bucket}/a.txt", content=b"fine").status_code == 200
    refused = storage.post(f"/object/{bucket}/b.txt", content=b"a poisoned body")
    assert (refused.status_code, refused.json()) == (422, {"message": "refused"})
    assert storage.post(f"/object/{bucket}/c.txt", content=b"fine again").status_code == 200
    assert storage.get(f"/object/{bucket}/a.txt").content == b"fine"  # the replayed body


def test_probability_zero_never_fires(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    add_fault(server, path="*", times=None, probability=0.0, status=500)
    assert all(storage.get(f"/bucket/{bucket}").status_code == 200 for _ in range(20))


def test_fault_body_and_headers(server: RunningServer, storage: httpx.Client, bucket: str) -> None:
    add_fault(server, path="*/bucket/*", status=429, body="slow down", headers={"Retry-After": "7"})
    response = storage.get(f"/bucket/{bucket}")
    assert (response.status_code, response.text, response.headers["retry-after"]) == (
        429,
        "slow down",
        "7",
    )


def test_delay_only_rule_lets_the_request_through_late(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    add_fault(server, path="*/bucket/*", status=None, delay_ms=300)
    started = time.monotonic()
    response = storage.get(f"/bucket/{bucket}")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_dropped_connection_part_way_through_body(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    storage.post(f"/object/{bucket}/big.bin", content=b"x" * 100_000)
    add_fault(server, method="GET", path="*/big.bin", status=None, drop_after_bytes=1000)
    with pytest.raises(httpx.RemoteProtocolError):
        storage.get(f"/object/{bucket}/big.bin")
    assert len(storage.get(f"/object/{bucket}/big.bin").content) == 100_000


def test_after_rule_applies_the_request_but_loses_the_answer(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    add_fault(server, method="POST", path="*/object/files/*", status=502, after=True)
    assert storage.post(f"/object/{bucket}/stored.txt", content=b"kept").status_code == 502
    assert storage.get(f"/object/{bucket}/stored.txt").content == b"kept"


def test_list_and_clear_faults(server: RunningServer, storage: httpx.Client, bucket: str) -> None:
    rule = add_fault(server, path="*/bucket/*", times=None, status=500)
    with server.admin() as admin:
        listed = admin.get("/admin/v1/faults").json()
        assert [r["id"] for r in listed] == [rule["id"]]
        assert admin.delete(f"/admin/v1/faults/{rule['id']}").status_code == 204
        assert admin.delete(f"/admin/v1/faults/{rule['id']}").status_code == 404
        add_fault(server, path="*", times=None, status=500)
        assert admin.delete("/admin/v1/faults").status_code == 204
        assert admin.get("/admin/v1/faults").json() == []
    assert storage.get(f"/bucket/{bucket}").status_code == 200


def test_admin_needs_service_role(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/admin/v1/faults").status_code == 401
        anon = {"Authorization": f"Bearer {server.anon_key}"}
        assert client.post("/admin/v1/faults", json={}, headers=anon).status_code == 403
        assert client.post("/admin/v1/rotate-jwt-secret", headers=anon).status_code == 403


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"times": 0}, "times"),
        ({"probability": 2}, "probability"),
        ({"status": 42}, "status"),
        ({"bogus": 1}, "bogus"),
        ({"body_contains": ""}, "body_contains"),
    ],
    ids=["times", "probability", "status", "unknown-field", "empty-body-text"],
)
def test_malformed_rules_are_refused_with_the_reason(
    server: RunningServer, rule: dict, message: str
) -> None:
    with server.admin() as admin:
        response = admin.post("/admin/v1/faults", json=rule)
    assert response.status_code == 400
    assert message in response.json()["message"]
    with pytest.raises(RuleError, match=message):
        FaultRule.from_json(rule)


def test_rules_given_at_start_apply(tmp_path: Path) -> None:
    from desktop.server.context import ServerConfig
    from desktop.server.runner import EmbeddedServer

    rules = [FaultRule.from_json({"path": "*/bucket", "status": 418})]
    with (
        EmbeddedServer(ServerConfig(data_dir=tmp_path), faults=rules) as started,
        httpx.Client(
            base_url=started.url + "/storage/v1",
            headers={"Authorization": f"Bearer {started.keys.service_role_key}"},
        ) as client,
    ):
        assert client.get("/bucket").status_code == 418
        assert client.get("/bucket").status_code == 200


def test_rotation_revokes_every_token_and_signed_url(
    server: RunningServer, storage: httpx.Client, bucket: str
) -> None:
    storage.post(f"/object/{bucket}/s.txt", content=b"secret")
    signed = storage.post(f"/object/sign/{bucket}/s.txt", json={"expiresIn": 3600}).json()[
        "signedURL"
    ]
    old_key = server.service_key
    with server.admin() as admin:
        rotated = admin.post("/admin/v1/rotate-jwt-secret")
    assert rotated.status_code == 200
    keys = rotated.json()
    assert set(keys) == {"anon_key", "service_role_key"}
    assert keys["service_role_key"] != old_key

    with httpx.Client(base_url=server.storage_url) as client:
        old = client.get(f"/bucket/{bucket}", headers={"Authorization": f"Bearer {old_key}"})
        assert old.json()["message"] == "signature verification failed"
        revoked = client.get(signed)
        assert revoked.json() == {
            "statusCode": "400", "error": "InvalidJWT", "message": "signature verification failed", "code": "InvalidJWT",
        }  # fmt: skip
        fresh = client.get(
            f"/object/{bucket}/s.txt",
            headers={"Authorization": f"Bearer {keys['service_role_key']}"},
        )
        assert fresh.content == b"secret"


def test_rotated_secret_survives_restart(tmp_path: Path) -> None:
    with running_server(tmp_path, jwt_secret=None) as first, first.admin() as admin:
        key = admin.post("/admin/v1/rotate-jwt-secret").json()["service_role_key"]
    with running_server(tmp_path, jwt_secret=None) as second, second.client(key) as client:
        assert client.get("/bucket").status_code == 200
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0
