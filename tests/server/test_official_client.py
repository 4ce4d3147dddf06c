"""The official ``supabase`` Python package against the embedded server: auth, tables, storage."""

from __future__ import annotations

import gc
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from postgrest.exceptions import APIError
from storage3.exceptions import StorageApiError
from supabase import Client, create_client
from supabase_auth.errors import AuthApiError

from tests.helpers.servers import RunningServer


@contextmanager
def sdk_client(url: str, key: str) -> Iterator[Client]:
    """The SDK never closes its HTTP clients (and replaces them on sign-in); close and collect
    them here rather than let a later test trip over their ResourceWarnings."""
    client = create_client(url, key)
    try:
        yield client
    finally:
        client.auth._http_client.close()  # noqa: SLF001 - no public close in the SDK
        client.postgrest.session.close()
        client.storage.session.close()
        del client
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


@pytest.fixture
def supabase(server: RunningServer) -> Iterator[Client]:
    with sdk_client(server.url, server.anon_key) as client:
        yield client


@pytest.fixture
def admin(server: RunningServer) -> Iterator[Client]:
    with sdk_client(server.url, server.service_key) as client:
        yield client


def test_auth_tables_and_storage_with_the_official_client(
    server: RunningServer, supabase: Client, admin: Client, tmp_path: Path
) -> None:
    admin.storage.create_bucket("attachments")

    signed_up = supabase.auth.sign_up({"email": "sdk@example.com", "password": "sdk-password"})
    assert signed_up.user is not None
    user_id = signed_up.user.id
    supabase.auth.sign_out()
    session = supabase.auth.sign_in_with_password(
        {"email": "sdk@example.com", "password": "sdk-password"}
    )
    assert session.session is not None
    assert supabase.auth.get_user().user.id == user_id  # type: ignore[union-attr]

    document = supabase.table("documents").insert({"title": "From the SDK"}).execute().data[0]
    assert document["owner_id"] == user_id

    upload_id = str(uuid.uuid4())
    path = f"{document['id']}/{upload_id}/notes.txt"
    supabase.storage.from_("attachments").upload(path, b"sdk bytes", {"content-type": "text/plain"})
    supabase.table("attachments").insert(
        {
            "id": upload_id,
            "document_id": document["id"],
            "bucket": "attachments",
            "object_path": path,
            "file_name": "notes.txt",
            "content_type": "text/plain",
            "size_bytes": 9,
            "sha256": "0" * 64,
        }
    ).execute()

    rows = supabase.table("attachments").select("*").eq("document_id", document["id"]).execute()
    assert [row["object_path"] for row in rows.data] == [path]
    counted = supabase.table("documents").select("*", count="exact").execute()
    assert counted.count == 1
    single = supabase.table("documents").select("title").eq("id", document["id"]).single().execute()
    assert single.data == {"title": "From the SDK"}

    assert supabase.storage.from_("attachments").download(path) == b"sdk bytes"
    signed = supabase.storage.from_("attachments").create_signed_url(path, 60)
    assert "token=" in signed["signedURL"]
    listed = supabase.storage.from_("attachments").list(document["id"])
    assert [item["name"] for item in listed] == [upload_id]

    removed = supabase.storage.from_("attachments").remove([path])
    assert [row["name"] for row in removed] == [path]
    supabase.table("documents").delete().eq("id", document["id"]).execute()
    assert supabase.table("attachments").select("*").execute().data == []


def test_official_client_sees_supabase_errors(
    server: RunningServer, supabase: Client, admin: Client
) -> None:
    with pytest.raises(AuthApiError) as auth_error:
        supabase.auth.sign_in_with_password({"email": "nobody@example.com", "password": "whatever"})
    assert auth_error.value.code == "invalid_credentials"

    with pytest.raises(APIError) as rest_error:
        admin.table("attachments").insert({"id": "not-a-uuid"}).execute()
    assert rest_error.value.code == "22P02"

    admin.storage.create_bucket("attachments")
    with pytest.raises(StorageApiError) as storage_error:
        admin.storage.from_("attachments").download("missing.txt")
    assert storage_error.value.code == "NoSuchKey" or "Object not found" in str(storage_error.value)
