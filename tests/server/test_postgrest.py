"""The PostgREST subset: documents and attachments over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers.rest import rest_client, sign_up
from tests.helpers.servers import RunningServer

REPRESENTATION = {"Prefer": "return=representation"}
SINGLE = {"Accept": "application/vnd.pgrst.object+json"}


@pytest.fixture
def service(server: RunningServer) -> Iterator[httpx.Client]:
    with rest_client(server, server.service_key, apikey=server.service_key) as client:
        yield client


def new_document(client: httpx.Client, title: str = "Doc") -> dict:
    response = client.post("/documents", json={"title": title}, headers=REPRESENTATION | SINGLE)
    assert response.status_code == 201, response.text
    return response.json()


def attachment(document_id: str, **overrides: object) -> dict:
    upload_id = str(uuid.uuid4())
    return {
        "id": upload_id,
        "document_id": document_id,
        "bucket": "attachments",
        "object_path": f"{document_id}/{upload_id}/file.txt",
        "file_name": "file.txt",
        "content_type": "text/plain",
        "size_bytes": 5,
        "sha256": "0" * 64,
    } | overrides


def assert_pg_error(
    response: httpx.Response, status: int, code: str, message: str | None = None
) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"code", "message", "details", "hint"}
    assert body["code"] == code
    if message is not None:
        assert body["message"] == message
    return body


def test_rest_requires_an_api_key(server: RunningServer) -> None:
    response = httpx.get(server.url + "/rest/v1/documents")
    assert response.status_code == 401
    assert response.json() == {
        "message": "No API key found in request",
        "hint": "No `apikey` request header or url param was found.",
    }
    foreign = httpx.get(server.url + "/rest/v1/documents", headers={"apikey": "not-a-key"})
    assert (foreign.status_code, foreign.json()["message"]) == (401, "Invalid API key")
    assert httpx.get(server.url + f"/rest/v1/documents?apikey={server.anon_key}").status_code == 200


def test_insert_minimal_and_representation(service: httpx.Client) -> None:
    minimal = service.post("/documents", json={"title": "A"})
    assert (minimal.status_code, minimal.content, minimal.headers["content-range"]) == (
        201,
        b"",
        "*/*",
    )
    represented = service.post("/documents", json={"title": "B"}, headers=REPRESENTATION)
    assert represented.status_code == 201
    assert represented.headers["preference-applied"] == "return=representation"
    [row] = represented.json()
    assert list(row) == ["id", "owner_id", "title", "created_at"]
    assert uuid.UUID(row["id"])
    assert row["title"] == "B"
    assert row["created_at"].endswith("+00:00")


def test_bulk_insert_is_all_or_nothing(service: httpx.Client) -> None:
    document = new_document(service)
    good, bad = attachment(document["id"]), attachment(str(uuid.uuid4()))
    response = service.post("/attachments", json=[good, bad], params={"columns": ",".join(good)})
    assert_pg_error(response, 409, "23503")
    assert service.get("/attachments").json() == []
    both = service.post(
        "/attachments", json=[good, attachment(document["id"])], headers=REPRESENTATION
    )
    assert len(both.json()) == 2


def test_single_object_accept_header(service: httpx.Client) -> None:
    document = new_document(service, "Only")
    one = service.get("/documents", params={"id": f"eq.{document['id']}"}, headers=SINGLE)
    assert one.status_code == 200
    assert one.headers["content-type"] == "application/vnd.pgrst.object+json; charset=utf-8"
    assert one.json()["title"] == "Only"
    new_document(service, "Second")
    many = service.get("/documents", headers=SINGLE)
    body = assert_pg_error(
        many, 406, "PGRST116", "Cannot coerce the result to a single JSON object"
    )
    assert body["details"] == "The result contains 2 rows"


def test_select_columns_filters_order_limit_offset(service: httpx.Client) -> None:
    for title in ("c", "a", "b", "d"):
        new_document(service, title)
    rows = service.get(
        "/documents", params={"select": "title", "order": "title.desc", "limit": "2", "offset": "1"}
    )
    assert rows.json() == [{"title": "c"}, {"title": "b"}]
    assert rows.headers["content-range"] == "1-2/*"
    assert [
        r["title"]
        for r in service.get("/documents", params={"title": "in.(a,d)", "order": "title"}).json()
    ] == ["a", "d"]
    assert [
        r["title"]
        for r in service.get("/documents", params={"title": "neq.a", "order": "title.asc"}).json()
    ] == ["b", "c", "d"]
    assert [
        r["title"]
        for r in service.get("/documents", params={"title": "gte.c", "order": "title"}).json()
    ] == ["c", "d"]
    assert [r["title"] for r in service.get("/documents", params={"title": "lt.b"}).json()] == ["a"]
    assert [
        r["title"]
        for r in service.get("/documents", params={"title": "lte.b", "order": "title"}).json()
    ] == ["a", "b"]
    assert [r["title"] for r in service.get("/documents", params={"title": "gt.c"}).json()] == ["d"]


def test_is_null_filter(service: httpx.Client) -> None:
    document = new_document(service)
    service.post("/attachments", json=attachment(document["id"], sha256=None))
    service.post("/attachments", json=attachment(document["id"]))
    assert len(service.get("/attachments", params={"sha256": "is.null"}).json()) == 1
    assert len(service.get("/attachments", params={"sha256": "not.is.null"}).json()) == 1


def test_exact_count_and_partial_content(service: httpx.Client) -> None:
    for title in "abcde":
        new_document(service, title)
    partial = service.get("/documents", params={"limit": "2"}, headers={"Prefer": "count=exact"})
    assert (partial.status_code, partial.headers["content-range"]) == (206, "0-1/5")
    full = service.get("/documents", headers={"Prefer": "count=exact"})
    assert (full.status_code, full.headers["content-range"]) == (200, "0-4/5")
    past = service.get("/documents", params={"offset": "10"}, headers={"Prefer": "count=exact"})
    assert_pg_error(past, 416, "PGRST103")
    empty = service.get("/documents", params={"title": "eq.zzz"}, headers={"Prefer": "count=exact"})
    assert (empty.status_code, empty.headers["content-range"], empty.json()) == (200, "*/0", [])
    assert service.get("/documents", params={"title": "eq.zzz"}).headers["content-range"] == "*/*"


def test_upsert_merge_and_ignore_duplicates(service: httpx.Client) -> None:
    document = new_document(service, "old")
    merged = service.post(
        "/documents",
        json={"id": document["id"], "title": "new"},
        params={"on_conflict": "id"},
        headers={"Prefer": "return=representation,resolution=merge-duplicates"},
    )
    assert merged.status_code == 201
    assert merged.json()[0]["title"] == "new"
    ignored = service.post(
        "/documents",
        json={"id": document["id"], "title": "ignored"},
        headers={"Prefer": "return=representation,resolution=ignore-duplicates"},
    )
    assert (ignored.status_code, ignored.json()) == (201, [])
    assert service.get("/documents").json()[0]["title"] == "new"


def test_unique_violation_is_409_with_details(service: httpx.Client) -> None:
    document = new_document(service)
    row = attachment(document["id"])
    service.post("/attachments", json=row)
    body = assert_pg_error(
        service.post("/attachments", json=row),
        409,
        "23505",
        'duplicate key value violates unique constraint "attachments_pkey"',
    )
    assert body["details"] == f"Key (id)=({row['id']}) already exists."
    same_path = attachment(document["id"], object_path=row["object_path"])
    assert_pg_error(
        service.post("/attachments", json=same_path),
        409,
        "23505",
        'duplicate key value violates unique constraint "attachments_object_path_key"',
    )


def test_foreign_key_violation_is_409(service: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    body = assert_pg_error(service.post("/attachments", json=attachment(missing)), 409, "23503")
    assert body["details"] == f'Key (document_id)=({missing}) is not present in table "documents".'


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"title": None}, 400, "23502"),
        ({"title": "x", "nope": 1}, 400, "PGRST204"),
        ({"id": "not-a-uuid", "title": "x"}, 400, "22P02"),
    ],
    ids=["not-null", "unknown-column", "bad-uuid"],
)
def test_bad_rows_are_400(service: httpx.Client, payload: dict, status: int, code: str) -> None:
    assert_pg_error(service.post("/documents", json=payload), status, code)


def test_bad_queries_are_400_and_unknown_table_404(service: httpx.Client) -> None:
    assert_pg_error(service.get("/documents", params={"title": "foo.x"}), 400, "PGRST100")
    assert_pg_error(service.get("/documents", params={"nope": "eq.1"}), 400, "42703")
    assert_pg_error(service.get("/documents", params={"select": "nope"}), 400, "42703")
    assert_pg_error(
        service.get("/nope"),
        404,
        "PGRST205",
        "Could not find the table 'public.nope' in the schema cache",
    )


def test_patch_and_delete_with_filters(service: httpx.Client) -> None:
    keep, change = new_document(service, "keep"), new_document(service, "change")
    patched = service.patch(
        "/documents",
        params={"id": f"eq.{change['id']}"},
        json={"title": "changed"},
        headers=REPRESENTATION,
    )
    assert (patched.status_code, [r["title"] for r in patched.json()]) == (200, ["changed"])
    minimal = service.patch("/documents", params={"id": f"eq.{keep['id']}"}, json={"title": "kept"})
    assert (minimal.status_code, minimal.content) == (204, b"")
    deleted = service.delete(
        "/documents", params={"id": f"eq.{change['id']}"}, headers=REPRESENTATION
    )
    assert (deleted.status_code, [r["id"] for r in deleted.json()]) == (200, [change["id"]])
    nothing = service.delete("/documents", params={"id": f"eq.{change['id']}"})
    assert (nothing.status_code, nothing.headers["content-range"]) == (204, "*/*")
    assert [r["title"] for r in service.get("/documents").json()] == ["kept"]


def test_deleting_a_document_cascades_to_attachments(service: httpx.Client) -> None:
    document = new_document(service)
    service.post("/attachments", json=[attachment(document["id"]), attachment(document["id"])])
    service.delete("/documents", params={"id": f"eq.{document['id']}"})
    assert service.get("/attachments").json() == []


def test_users_see_and_change_only_their_rows(server: RunningServer) -> None:
    alice = sign_up(server, "alice@example.com")["access_token"]
    bob = sign_up(server, "bob@example.com")["access_token"]
    with rest_client(server, alice) as as_alice, rest_client(server, bob) as as_bob:
        document = new_document(as_alice, "alice's")
        assert document["owner_id"] == jwt_sub(alice)
        assert as_bob.get("/documents").json() == []
        patched = as_bob.patch(
            "/documents",
            params={"id": f"eq.{document['id']}"},
            json={"title": "mine"},
            headers=REPRESENTATION,
        )
        assert patched.json() == []
        assert (
            as_bob.delete(
                "/documents", params={"id": f"eq.{document['id']}"}, headers=REPRESENTATION
            ).json()
            == []
        )
        stolen = as_bob.post("/documents", json={"title": "x", "owner_id": jwt_sub(alice)})
        assert_pg_error(
            stolen, 403, "42501", 'new row violates row-level security policy for table "documents"'
        )
        assert [d["title"] for d in as_alice.get("/documents").json()] == ["alice's"]


def test_anon_sees_nothing_and_writes_nothing(server: RunningServer, service: httpx.Client) -> None:
    new_document(service)
    with rest_client(server) as anon:
        assert anon.get("/documents").json() == []
        denied = anon.post("/documents", json={"title": "x"})
        assert_pg_error(denied, 401, "42501")
        assert denied.headers["www-authenticate"] == "Bearer"


def test_bad_and_expired_jwts_are_401(server: RunningServer) -> None:
    import time

    with rest_client(server, "garbage") as bad:
        assert_pg_error(bad.get("/documents"), 401, "PGRST301")
    expired = server.token(role="authenticated", sub=str(uuid.uuid4()), exp=int(time.time()) - 5)
    with rest_client(server, expired) as late:
        response = late.get("/documents")
        assert_pg_error(response, 401, "PGRST303", "JWT expired")
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def jwt_sub(token: str) -> str:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})["sub"]
