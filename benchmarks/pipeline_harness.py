"""Our upload pipeline in the benchmark process, against a server process."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import ServerProcess
from desktop.domain.errors import StorageError
from desktop.domain.states import DocumentId, UploadStatus
from desktop.domain.store import UploadStore
from desktop.services.credentials import ApiKeyCredentials
from desktop.services.http_transport import http_client
from desktop.services.incidents import IncidentLog
from desktop.services.journal import Journal
from desktop.services.pipeline import UploadLimits, UploadPipeline
from desktop.services.rest_api import RestApi
from desktop.services.storage_api import StorageApi
from desktop.services.validation import Candidate, validate_paths

BUCKET = "attachments"


@dataclass
class Bench:
    storage: StorageApi
    rest: RestApi
    journal: Journal
    incidents: IncidentLog
    document_id: DocumentId

    async def upload(self, paths: list[Path], concurrency: int) -> float:
        """Upload and register ``paths``; returns nothing but raises if any failed."""
        candidates: list[Candidate]
        candidates, rejected = validate_paths(paths, max_size_bytes=1 << 40)
        assert not rejected
        store = UploadStore()
        pipeline = UploadPipeline(
            self.storage, self.rest, store, self.journal, self.incidents, bucket=BUCKET,
            limits=UploadLimits(concurrency),
        )  # fmt: skip
        ids = pipeline.submit(self.document_id, candidates)
        await pipeline.wait_idle()
        failed = [store.get(i) for i in ids if store.get(i).status is not UploadStatus.DONE]  # type: ignore[union-attr]
        assert not failed, failed
        return 0.0


@asynccontextmanager
async def bench(server: ServerProcess, work: Path) -> AsyncIterator[Bench]:
    async with http_client() as client:
        credentials = ApiKeyCredentials(server.service_key)
        storage = StorageApi(client, server.url, credentials)
        rest = RestApi(client, server.url, credentials)
        with contextlib.suppress(StorageError):  # already there from an earlier round
            await storage.create_bucket(BUCKET)
        [document] = await rest.insert("documents", {"title": "bench"})
        journal = Journal(work / f"journal-{uuid.uuid4().hex}.sqlite3")
        try:
            yield Bench(
                storage,
                rest,
                journal,
                IncidentLog(work / "incidents.jsonl"),
                DocumentId(uuid.UUID(str(document["id"]))),
            )
        finally:
            journal.close()
