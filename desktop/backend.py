"""Composition: which backend to talk to (a Supabase project, or the embedded default) and the
service objects over one shared ``httpx.AsyncClient``. Used by the CLI and the window.

Only this module and the CLI may import ``desktop.server``: everything else sees a URL and keys.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from desktop.config import SupabaseSettings
from desktop.domain.errors import AuthError, StorageError
from desktop.domain.store import LoggingObserver, UploadStore
from desktop.paths import embedded_server_dir, incident_log_path, journal_path, user_data_dir
from desktop.services.auth_api import AuthApi, Session
from desktop.services.credentials import ApiKeyCredentials, Credentials
from desktop.services.deletion import Deleter
from desktop.services.http_transport import http_client
from desktop.services.incidents import IncidentLog
from desktop.services.journal import Journal
from desktop.services.pipeline import UploadLimits, UploadPipeline
from desktop.services.reconcile import Reconciler
from desktop.services.recovery import RecoveryReport, recover
from desktop.services.rest_api import RestApi
from desktop.services.schema import ATTACHMENTS_BUCKET
from desktop.services.storage_api import StorageApi
from desktop.services.wire import auth_error, map_transport_errors

__all__ = [
    "ATTACHMENTS_BUCKET",
    "SEQUENTIAL_FLAG_ENV",
    "Backend",
    "Connection",
    "EmbeddedProcess",
    "MissingServiceKey",
    "connect",
    "embedded_key_source",
    "ensure_bucket",
    "local_user_session",
    "new_store",
    "open_backend",
    "sequential_flag",
]

SEQUENTIAL_FLAG_ENV = "ATTACHMENTS_SEQUENTIAL_UPLOADS"


class MissingServiceKey(RuntimeError):
    """A service job against a Supabase project needs ``SUPABASE_SERVICE_ROLE_KEY``."""


def sequential_flag() -> bool:
    return os.environ.get(SEQUENTIAL_FLAG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Connection:
    url: str
    anon_key: str = field(repr=False)
    service_role_key: str | None = field(repr=False)
    is_embedded: bool
    # The embedded server's keys can be re-read after its secret was rotated: (anon, service).
    key_source: Callable[[], tuple[str, str]] | None = field(
        default=None, repr=False, compare=False
    )

    def service_credentials(self) -> Credentials:
        if self.service_role_key is None:
            raise MissingServiceKey(
                "this command needs the service_role key: set SUPABASE_SERVICE_ROLE_KEY"
            )
        return ApiKeyCredentials(self.service_role_key)


@contextmanager
def connect(
    settings: SupabaseSettings | None = None, data_dir: Path | None = None
) -> Iterator[Connection]:
    """The configured Supabase project, or the embedded server in the user data directory
    (reusing one that is already running there, else starting one for this block)."""
    settings = settings or SupabaseSettings()
    if settings.is_configured:
        assert settings.url is not None
        assert settings.anon_key is not None
        service = (
            settings.service_role_key.get_secret_value() if settings.service_role_key else None
        )
        yield Connection(
            settings.url, settings.anon_key.get_secret_value(), service, is_embedded=False
        )
        return
    from desktop.server.context import ServerConfig
    from desktop.server.runner import EmbeddedServer, running_server_url

    data_dir = data_dir or embedded_server_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = running_server_url(data_dir)
    if url is not None:
        anon_key, service_key = embedded_key_source(data_dir)()
        yield Connection(url, anon_key, service_key, is_embedded=True)
        return
    with EmbeddedServer(ServerConfig(data_dir=data_dir)) as server:
        keys = server.keys
        yield Connection(server.url, keys.anon_key, keys.service_role_key, is_embedded=True)


@dataclass
class Backend:
    """The service objects of one process, sharing one HTTP client, journal and incident log."""

    connection: Connection
    storage: StorageApi
    rest: RestApi
    journal: Journal
    incidents: IncidentLog
    bucket: str = ATTACHMENTS_BUCKET

    def pipeline(self, store: UploadStore, limits: UploadLimits) -> UploadPipeline:
        return UploadPipeline(
            self.storage,
            self.rest,
            store,
            self.journal,
            self.incidents,
            bucket=self.bucket,
            limits=limits,
        )

    def reconciler(self) -> Reconciler:
        return Reconciler(self.storage, self.rest, self.journal, self.incidents)

    def deleter(self) -> Deleter:
        return Deleter(self.storage, self.rest, self.journal, self.incidents, bucket=self.bucket)

    async def recover(self) -> RecoveryReport:
        return await recover(self.journal, self.storage, self.rest, self.incidents)

    async def ensure_bucket(self) -> None:
        await ensure_bucket(self.storage, self.bucket)


async def ensure_bucket(storage: StorageApi, bucket: str) -> None:
    """Create ``bucket`` unless it exists (needs a key allowed to create buckets)."""
    try:
        await storage.get_bucket(bucket)
    except StorageError as error:
        if error.status != 404:
            raise
        await storage.create_bucket(bucket)


@asynccontextmanager
async def open_backend(connection: Connection, credentials: Credentials) -> AsyncIterator[Backend]:
    journal = Journal(journal_path(user_data_dir()))
    try:
        async with http_client() as client:
            yield Backend(
                connection=connection,
                storage=StorageApi(client, connection.url, credentials),
                rest=RestApi(client, connection.url, credentials),
                journal=journal,
                incidents=IncidentLog(incident_log_path(user_data_dir())),
            )
    finally:
        await asyncio.to_thread(journal.close)


def new_store() -> UploadStore:
    return UploadStore(LoggingObserver())


class EmbeddedProcess:
    """The embedded server as a child process (the window's default backend). An already running
    server in the same data directory is reused and left running."""

    def __init__(self, data_dir: Path, *, ready_timeout_s: float = 15.0) -> None:
        self._data_dir = data_dir
        self._timeout_s = ready_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Start the server process unless one already serves the data directory; returns at once
        (the window calls this before its own imports, so the two start side by side)."""
        from desktop.server.runner import running_server_url

        if self._process is not None or running_server_url(self._data_dir) is not None:
            return
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "desktop.server",  # ``attachments serve`` without the client's imports
                "--data-dir",
                str(self._data_dir),
                "--port",
                "0",
                "--exit-with-parent",  # no server is left behind if the window crashes
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> Connection:
        """Launch (if needed) and wait until the server is ready."""
        from desktop.server.runner import running_server_url

        self.launch()
        key_source = embedded_key_source(self._data_dir)
        deadline = time.monotonic() + self._timeout_s
        pause = threading.Event()
        while (url := running_server_url(self._data_dir)) is None or (
            self._process is not None and not self._announced_by_child()
        ):
            if (self._process is not None and self._process.poll() is not None) or (
                time.monotonic() > deadline
            ):
                raise RuntimeError("the embedded server did not start")
            pause.wait(0.02)
        anon_key, service_key = key_source()
        return Connection(url, anon_key, service_key, is_embedded=True, key_source=key_source)

    def _announced_by_child(self) -> bool:
        import json

        try:
            announced = json.loads((self._data_dir / "server.json").read_text())
        except (OSError, ValueError):
            return False
        return self._process is not None and announced.get("pid") == self._process.pid

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None


def embedded_key_source(data_dir: Path) -> Callable[[], tuple[str, str]]:
    """Reads the embedded server's current keys from its data directory (after a rotation)."""

    def current_keys() -> tuple[str, str]:
        from desktop.server.tokens import TokenSigner, load_or_create_secret

        keys = TokenSigner(load_or_create_secret(data_dir / "jwt_secret")).api_keys()
        return keys.anon_key, keys.service_role_key

    return current_keys


async def local_user_session(client: httpx.AsyncClient, connection: Connection) -> Session:
    """Sign the embedded server's local desktop user in (created on first use); no password."""
    assert connection.is_embedded
    assert connection.service_role_key
    with map_transport_errors(AuthError):
        response = await client.post(
            connection.url + "/admin/v1/local-session",
            headers={"Authorization": f"Bearer {connection.service_role_key}"},
        )
    if response.is_error:
        raise auth_error(response)
    return AuthApi.parse_session(response)
