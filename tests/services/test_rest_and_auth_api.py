"""RestApi, AuthApi and UserSession against the real embedded server."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from desktop.domain.errors import AuthError, MetadataError
from desktop.services.auth_api import AuthApi, Session
from desktop.services.rest_api import RestApi, eq, in_, is_null
from desktop.services.session import UserSession
from tests.helpers.servers import RunningServer


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def auth_api(server: RunningServer, http: httpx.AsyncClient) -> AuthApi:
    return AuthApi(http, server.url, server.anon_key)


async def test_insert_select_update_delete(service_rest: RestApi) -> None:
    [created] = await service_rest.insert("documents", {"title": "one"})
    await service_rest.insert("documents", [{"title": "two"}, {"title": "three"}], returning=False)
    page = await service_rest.select("documents", columns="title", order="title.asc", count=True)
    assert page.rows == [{"title": "one"}, {"title": "three"}, {"title": "two"}]
    assert page.total == 3
    limited = await service_rest.select(
        "documents", order="title.desc", limit=1, offset=1, count=True
    )
    assert [r["title"] for r in limited.rows] == ["three"]
    assert limited.total == 3
    assert [
        r["title"]
        for r in (
            await service_rest.select(
                "documents", filters=[in_("title", ["one", "two"])], order="title"
            )
        ).rows
    ] == ["one", "two"]
    [updated] = await service_rest.update("documents", {"title": "uno"}, [eq("id", created["id"])])
    assert updated["title"] == "uno"
    deleted = await service_rest.delete("documents", [eq("id", created["id"])])
    assert [r["id"] for r in deleted] == [created["id"]]
    assert await service_rest.delete("documents", [eq("id", created["id"])]) == []
    assert (
        await service_rest.select("documents", filters=[is_null("owner_id")], count=True)
    ).total == 2


async def test_upsert_on_conflict(service_rest: RestApi) -> None:
    [row] = await service_rest.insert("documents", {"title": "a"})
    [merged] = await service_rest.insert(
        "documents", {"id": row["id"], "title": "b"}, upsert="merge", on_conflict="id"
    )
    assert merged["title"] == "b"
    assert (
        await service_rest.insert("documents", {"id": row["id"], "title": "c"}, upsert="ignore")
        == []
    )


async def test_postgrest_errors_become_metadata_errors(service_rest: RestApi) -> None:
    [row] = await service_rest.insert("documents", {"title": "a"})
    with pytest.raises(MetadataError) as duplicate:
        await service_rest.insert("documents", {"id": row["id"], "title": "again"})
    assert (duplicate.value.status, duplicate.value.code) == (409, "23505")
    assert duplicate.value.details == f"Key (id)=({row['id']}) already exists."
    assert not duplicate.value.is_transient
    with pytest.raises(MetadataError) as missing_fk:
        await service_rest.insert(
            "attachments",
            {
                "document_id": str(uuid.uuid4()),
                "bucket": "b",
                "object_path": "p",
                "file_name": "f",
                "size_bytes": 1,
            },
        )
    assert (missing_fk.value.status, missing_fk.value.code) == (409, "23503")


async def test_sign_up_sign_in_refresh_sign_out(auth_api: AuthApi) -> None:
    signed_up = await auth_api.sign_up("person@example.com", "a-good-password")
    assert signed_up.email == "person@example.com"
    assert "access_token" not in repr(signed_up)
    assert signed_up.access_token not in repr(signed_up)
    signed_in = await auth_api.sign_in_with_password("person@example.com", "a-good-password")
    assert signed_in.user_id == signed_up.user_id
    refreshed = await auth_api.refresh(signed_in.refresh_token)
    assert refreshed.refresh_token != signed_in.refresh_token
    with pytest.raises(AuthError) as reused:
        await auth_api.refresh(signed_in.refresh_token)
    assert (reused.value.status, reused.value.code) == (400, "refresh_token_already_used")
    assert await auth_api.get_user_id(signed_up.access_token) == signed_up.user_id
    await auth_api.sign_out(signed_up.access_token)
    with pytest.raises(AuthError) as ended:
        await auth_api.get_user_id(signed_up.access_token)
    assert ended.value.code == "session_not_found"


async def test_bad_password_is_an_auth_error(auth_api: AuthApi) -> None:
    with pytest.raises(AuthError) as refused:
        await auth_api.sign_in_with_password("nobody@example.com", "whatever")
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        400, "invalid_credentials", "Invalid login credentials",
    )  # fmt: skip


async def test_session_refreshes_before_expiry_once_for_concurrent_callers(
    server: RunningServer, auth_api: AuthApi, http: httpx.AsyncClient
) -> None:
    first = await auth_api.sign_up("s@example.com", "a-good-password")
    clock = FakeClock(first.expires_at - 120)
    refreshed: list[Session] = []
    session = UserSession(
        auth_api, server.anon_key, first, clock=clock, on_refreshed=refreshed.append
    )

    assert (await session.headers())["Authorization"] == f"Bearer {first.access_token}"
    assert refreshed == []

    clock.now = first.expires_at - 30  # inside the 60 s margin
    headers = await asyncio.gather(*(session.headers() for _ in range(5)))
    assert len(refreshed) == 1
    assert {h["Authorization"] for h in headers} == {f"Bearer {refreshed[0].access_token}"}
    assert refreshed[0].refresh_token != first.refresh_token
    assert headers[0]["apikey"] == server.anon_key

    rest = RestApi(http, server.url, session)
    [row] = await rest.insert("documents", {"title": "mine"})
    assert row["owner_id"] == first.user_id
