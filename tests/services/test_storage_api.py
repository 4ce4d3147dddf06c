"""StorageApi against the real embedded server: streaming, hashing, errors, signed URLs, TUS."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from desktop.domain.errors import ServiceError, SignedUrlExpired, StorageError
from desktop.services.credentials import ApiKeyCredentials
from desktop.services.storage_api import StorageApi
from tests.helpers.servers import RunningServer

MIB = 1024 * 1024


def write_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


async def test_upload_streams_in_chunks_with_progress_and_sha256(
    service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "big.bin", 3 * MIB + 17)
    progress: list[int] = []
    stored = await service_storage.upload_file(
        files_bucket, "doc/big.bin", source, on_progress=progress.append, chunk_bytes=MIB
    )
    assert stored.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert stored.size_bytes == source.stat().st_size
    assert stored.object_id is not None
    assert progress == [MIB, 2 * MIB, 3 * MIB, 3 * MIB + 17]

    target = tmp_path / "back.bin"
    downloaded = await service_storage.download_to(files_bucket, "doc/big.bin", target)
    assert (downloaded.sha256, downloaded.size_bytes) == (stored.sha256, stored.size_bytes)
    assert target.read_bytes() == source.read_bytes()


async def test_key_with_reserved_characters_round_trips(
    service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "f", 10)
    key = "doc/what? a name & more (1).txt"
    await service_storage.upload_file(files_bucket, key, source)
    assert (await service_storage.object_info(files_bucket, key)).name == key
    url = await service_storage.create_signed_url(files_bucket, key, 60)
    fetched = await service_storage.download_signed_to(url, tmp_path / "out")
    assert fetched.size_bytes == 10


async def test_storage_errors_carry_the_real_status_and_code(
    service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "f", 10)
    await service_storage.upload_file(files_bucket, "a.txt", source)
    with pytest.raises(StorageError) as duplicate:
        await service_storage.upload_file(files_bucket, "a.txt", source)
    assert (duplicate.value.status, duplicate.value.code) == (409, "KeyAlreadyExists")
    assert not duplicate.value.is_transient
    with pytest.raises(StorageError) as missing:
        await service_storage.download_to(files_bucket, "missing.txt", tmp_path / "x")
    assert (missing.value.status, missing.value.code, missing.value.message) == (
        404,
        "NoSuchKey",
        "Object not found",
    )
    upserted = await service_storage.upload_file(files_bucket, "a.txt", source, upsert=True)
    assert upserted.size_bytes == 10


async def test_server_faults_are_transient_with_retry_after(
    server: RunningServer, service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    with server.admin() as admin:
        admin.post(
            "/admin/v1/faults",
            json={
                "path": "*/object/files/*",
                "status": 429,
                "headers": {"Retry-After": "3"},
                "body": "slow",
            },
        )
    with pytest.raises(StorageError) as limited:
        await service_storage.upload_file(files_bucket, "a.txt", write_file(tmp_path / "f", 1))
    assert (limited.value.status, limited.value.retry_after_s, limited.value.is_transient) == (
        429,
        3.0,
        True,
    )


async def test_unreachable_server_is_a_transient_storage_error(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = StorageApi(http, f"http://127.0.0.1:{port}", ApiKeyCredentials("key"))
    with pytest.raises(StorageError) as refused:
        await api.get_bucket("files")
    assert refused.value.status is None
    assert refused.value.is_transient
    assert not isinstance(refused.value, httpx.HTTPError)


async def test_dropped_download_is_a_transient_error(
    server: RunningServer, service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    await service_storage.upload_file(files_bucket, "big.bin", write_file(tmp_path / "f", 2 * MIB))
    with server.admin() as admin:
        admin.post(
            "/admin/v1/faults",
            json={"method": "GET", "path": "*/big.bin", "status": None, "drop_after_bytes": 1000},
        )
    with pytest.raises(ServiceError) as dropped:
        await service_storage.download_to(files_bucket, "big.bin", tmp_path / "x")
    assert dropped.value.is_transient


async def test_bulk_delete_is_idempotent(
    service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "f", 1)
    for key in ("a", "b"):
        await service_storage.upload_file(files_bucket, key, source)
    assert sorted(await service_storage.delete_objects(files_bucket, ["a", "b", "c"])) == ["a", "b"]
    assert await service_storage.delete_objects(files_bucket, ["a", "b"]) == []


async def test_iter_objects_pages_through_everything(
    service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "f", 3)
    keys = [f"d{i % 3}/k{i:02d}" for i in range(11)]
    for key in keys:
        await service_storage.upload_file(files_bucket, key, source)
    listed = [info.name async for info in service_storage.iter_objects(files_bucket, page_size=4)]
    assert listed == sorted(keys)
    only_d1 = [
        info.name async for info in service_storage.iter_objects(files_bucket, "d1/", page_size=2)
    ]
    assert only_d1 == sorted(k for k in keys if k.startswith("d1/"))


async def test_signed_urls_one_and_batch(
    service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "f", 5)
    await service_storage.upload_file(files_bucket, "x/1", source)
    await service_storage.upload_file(files_bucket, "x/2", source)
    batch = await service_storage.create_signed_urls(files_bucket, ["x/1", "x/2", "x/none"], 60)
    assert batch["x/none"] is None
    for key in ("x/1", "x/2"):
        url = batch[key]
        assert url is not None
        assert url.startswith(
            service_storage.base_url + f"/object/sign/{files_bucket}/{key}?token="
        )
        assert (await service_storage.download_signed_to(url, tmp_path / "o")).size_bytes == 5


async def test_revoked_signed_url_raises_signed_url_expired_without_the_token(
    server: RunningServer, service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    await service_storage.upload_file(files_bucket, "s", write_file(tmp_path / "f", 5))
    url = await service_storage.create_signed_url(files_bucket, "s", 3600)
    with server.admin() as admin:
        admin.post("/admin/v1/rotate-jwt-secret")
    with pytest.raises(SignedUrlExpired) as revoked:
        await service_storage.download_signed_to(url, tmp_path / "o")
    token = url.split("token=")[1]
    assert token not in str(revoked.value)
    assert token not in repr(revoked.value.args)


async def test_resumable_upload_in_chunks(
    service_storage: StorageApi, files_bucket: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "r.bin", 2 * MIB + 5)
    progress: list[int] = []
    stored = await service_storage.upload_resumable(
        files_bucket, "tus/r.bin", source, chunk_bytes=MIB, on_progress=progress.append
    )
    assert progress == [MIB, 2 * MIB, 2 * MIB + 5]
    assert stored.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    back = await service_storage.download_to(files_bucket, "tus/r.bin", tmp_path / "back")
    assert back.sha256 == stored.sha256


async def test_tus_resume_after_interruption(
    service_storage: StorageApi, files_bucket: str
) -> None:
    location = await service_storage.tus_create(
        files_bucket, "tus/resume.txt", 6, content_type="text/plain"
    )
    assert await service_storage.tus_patch(location, 0, b"abc") == 3
    with pytest.raises(StorageError) as conflict:
        await service_storage.tus_patch(location, 0, b"abc")
    assert (conflict.value.status, conflict.value.message) == (409, "Upload-Offset conflict")
    offset = await service_storage.tus_offset(location)
    assert await service_storage.tus_patch(location, offset, b"def") == 6
    with pytest.raises(StorageError) as finished:
        await service_storage.tus_terminate(location)
    assert finished.value.status == 400
