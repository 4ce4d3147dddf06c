"""Service-layer fixtures: one shared AsyncClient and the API classes over the real server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from desktop.domain.states import DocumentId
from desktop.domain.store import UploadStore
from desktop.services.credentials import ApiKeyCredentials
from desktop.services.http_transport import http_client
from desktop.services.incidents import IncidentLog
from desktop.services.journal import Journal
from desktop.services.pipeline import UploadLimits, UploadPipeline
from desktop.services.rest_api import RestApi
from desktop.services.storage_api import StorageApi
from desktop.services.validation import Candidate, validate_paths
from tests.helpers.fakes import FakeClock, RecordingSleep
from tests.helpers.servers import RunningServer

BUCKET = "attachments"


@pytest.fixture(autouse=True)
async def no_pending_tasks() -> AsyncIterator[None]:
    """Every task a test starts must have finished by its end."""
    yield
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    assert pending == [], f"tasks left pending: {pending}"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(timeout=httpx.Timeout(30)) as client:
        yield client


@pytest.fixture
def service_storage(server: RunningServer, http: httpx.AsyncClient) -> StorageApi:
    return StorageApi(http, server.url, ApiKeyCredentials(server.service_key))


@pytest.fixture
def service_rest(server: RunningServer, http: httpx.AsyncClient) -> RestApi:
    return RestApi(http, server.url, ApiKeyCredentials(server.service_key))


@pytest.fixture
async def files_bucket(service_storage: StorageApi) -> str:
    await service_storage.create_bucket("files")
    return "files"


@dataclass
class Env:
    server: RunningServer
    storage: StorageApi
    rest: RestApi
    store: UploadStore
    journal: Journal
    incidents: IncidentLog
    sleep: RecordingSleep
    document_id: DocumentId
    files: Path

    def pipeline(
        self, limits: UploadLimits | None = None, clock: FakeClock | None = None
    ) -> UploadPipeline:
        return UploadPipeline(
            self.storage, self.rest, self.store, self.journal, self.incidents,
            bucket=BUCKET, limits=limits or UploadLimits(), sleep=self.sleep, clock=clock or FakeClock(),
        )  # fmt: skip

    def candidates(self, *sizes: int) -> list[Candidate]:
        paths = []
        for n, size in enumerate(sizes):
            path = self.files / f"file {n}.bin"
            path.write_bytes(os.urandom(size))
            paths.append(path)
        accepted, rejected = validate_paths(paths, max_size_bytes=10**9)
        assert rejected == []
        return accepted

    def fault(self, **rule: object) -> None:
        with self.server.admin() as admin:
            assert admin.post("/admin/v1/faults", json=rule).status_code == 201

    async def objects(self) -> list[str]:
        return [info.name async for info in self.storage.iter_objects(BUCKET)]

    async def rows(self) -> list[dict]:
        return (await self.rest.select("attachments")).rows


@pytest.fixture
async def env(
    server: RunningServer, service_storage: StorageApi, service_rest: RestApi, tmp_path: Path
) -> AsyncIterator[Env]:
    await service_storage.create_bucket(BUCKET)
    [document] = await service_rest.insert("documents", {"title": "Pipeline"})
    files = tmp_path / "files"
    files.mkdir()
    journal = Journal(tmp_path / "journal.sqlite3")
    yield Env(
        server, service_storage, service_rest, UploadStore(), journal, IncidentLog(tmp_path / "incidents.jsonl"),
        RecordingSleep(), DocumentId(uuid.UUID(str(document["id"]))), files,
    )  # fmt: skip
    journal.close()
