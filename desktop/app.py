"""Composition root of the window: builds store, services, bridge and window, and runs the qasync
loop. The only module that knows qasync exists."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.backend import (
    Connection,
    EmbeddedProcess,
    ensure_bucket,
    local_user_session,
    new_store,
    sequential_flag,
)
from desktop.config import AppSettings, ConnectionMode, SupabaseSettings
from desktop.domain.errors import ServiceError
from desktop.log import configure_logging
from desktop.paths import embedded_server_dir, incident_log_path, journal_path, user_data_dir
from desktop.services.auth_api import AuthApi, Session
from desktop.services.credentials import ApiKeyCredentials
from desktop.services.deletion import Deleter
from desktop.services.documents import DocumentsService
from desktop.services.http_transport import http_client
from desktop.services.incidents import IncidentLog
from desktop.services.journal import Journal
from desktop.services.pipeline import UploadLimits, UploadPipeline
from desktop.services.reconcile import Reconciler
from desktop.services.recovery import recover
from desktop.services.rest_api import RestApi
from desktop.services.schema import ATTACHMENTS_BUCKET
from desktop.services.secrets import KeyringSecrets, SecretStore, SessionSecrets, keyring_problem
from desktop.services.session import UserSession
from desktop.services.signed_urls import SignedUrlCache
from desktop.services.storage_api import StorageApi
from desktop.ui.bridge import StoreBridge
from desktop.ui.controller import AppController, Services
from desktop.ui.main_window import MainWindow
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.settings_store import load_settings, save_settings

__all__ = ["Application", "build_application", "install_worker_threads", "run"]

log = logging.getLogger(__name__)


@dataclass
class Application:
    """Everything one window needs, so tests build the same object graph as ``run``."""

    window: MainWindow
    controller: AppController
    services: Services
    client: httpx.AsyncClient
    journal: Journal

    async def aclose(self) -> None:
        await self.services.pipeline.aclose()
        await self.client.aclose()
        await asyncio.to_thread(self.journal.close)


async def build_application(
    connection: Connection,
    session: Session,
    settings: AppSettings,
    *,
    client: httpx.AsyncClient,
    data_dir: Path,
    preview_dir: Path,
    secrets: SecretStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Application:
    auth = AuthApi(client, connection.url, connection.anon_key)
    on_refreshed = None
    if secrets is not None and not connection.is_embedded:
        on_refreshed = lambda s: secrets.set(f"refresh_token:{connection.url}", s.refresh_token)  # noqa: E731
    reauthenticate = None
    key_source = connection.key_source
    if key_source is not None:

        async def reauthenticate_local_user() -> tuple[str, Session]:
            anon_key, service_key = await asyncio.to_thread(key_source)
            renewed = dataclasses.replace(
                connection, anon_key=anon_key, service_role_key=service_key
            )
            return anon_key, await local_user_session(client, renewed)

        reauthenticate = reauthenticate_local_user
    credentials = UserSession(
        auth, connection.anon_key, session, on_refreshed=on_refreshed, reauthenticate=reauthenticate
    )
    storage = StorageApi(client, connection.url, credentials)
    rest = RestApi(client, connection.url, credentials)
    journal = Journal(journal_path(data_dir))
    incidents = IncidentLog(incident_log_path(data_dir))
    if connection.service_role_key is not None:
        service_storage = StorageApi(
            client, connection.url, ApiKeyCredentials(connection.service_role_key)
        )
        await ensure_bucket(service_storage, ATTACHMENTS_BUCKET)
        service_rest = RestApi(
            client, connection.url, ApiKeyCredentials(connection.service_role_key)
        )
        reconciler: Reconciler | None = Reconciler(
            service_storage, service_rest, journal, incidents
        )
    else:
        reconciler = None
    try:
        report = await recover(journal, storage, rest, incidents)
        if report.total:
            log.info("recovered %s unfinished journal entries", report.total)
    except ServiceError as error:
        log.warning("recovery postponed: %s", error)
    store = new_store()
    limits = UploadLimits(
        settings.concurrency, sequential=settings.sequential_uploads or sequential_flag()
    )
    pipeline = UploadPipeline(
        storage, rest, store, journal, incidents, bucket=ATTACHMENTS_BUCKET, limits=limits
    )
    deleter = Deleter(storage, rest, journal, incidents, bucket=ATTACHMENTS_BUCKET)
    services = Services(
        documents=DocumentsService(rest, deleter),
        pipeline=pipeline,
        urls=SignedUrlCache(
            storage,
            ATTACHMENTS_BUCKET,
            ttl_s=settings.signed_url_ttl_s,
            margin_s=settings.signed_url_margin_s,
            clock=clock,
        ),
        incidents=incidents,
        reconciler=reconciler,
        preview_dir=preview_dir,
        max_file_size_bytes=settings.max_file_size_bytes,
        clock=clock,
    )
    controller = AppController(services, store)
    bridge = StoreBridge(store, controller)
    window = MainWindow(controller, store, bridge)
    controller.refresh_documents()
    controller.refresh_incidents()
    return Application(window, controller, services, client, journal)


def _secret_store() -> tuple[SecretStore, str | None]:
    problem = keyring_problem()
    return (SessionSecrets() if problem else KeyringSecrets()), problem


async def _connect(
    settings: AppSettings,
    secrets: SecretStore,
    client: httpx.AsyncClient,
    embedded: EmbeddedProcess,
) -> tuple[Connection, Session]:
    """The configured project when signed in, else the embedded default with its local user."""
    env = SupabaseSettings()
    if settings.connection_mode is ConnectionMode.PROJECT or env.is_configured:
        url = env.url or settings.project_url
        anon_key = (env.anon_key.get_secret_value() if env.anon_key else None) or secrets.get(
            f"anon_key:{url}"
        )
        refresh_token = secrets.get(f"refresh_token:{url}")
        if url and anon_key and refresh_token:
            service = (
                env.service_role_key.get_secret_value()
                if env.service_role_key
                else secrets.get(f"service_role_key:{url}")
            )
            connection = Connection(url, anon_key, service, is_embedded=False)
            try:
                session = await AuthApi(client, url, anon_key).refresh(refresh_token)
            except ServiceError as error:
                log.warning("could not resume the project session: %s", error)
            else:
                secrets.set(f"refresh_token:{url}", session.refresh_token)
                return connection, session
    connection = await asyncio.to_thread(embedded.start)
    return connection, await local_user_session(client, connection)


def _add_settings_action(
    window: MainWindow,
    secrets: SecretStore,
    problem: str | None,
    qsettings: QSettings,
    client: httpx.AsyncClient,
) -> None:
    action = QAction(window.tr("&Settings…"), window)
    action.setShortcut(QKeySequence(QKeySequence.StandardKey.Preferences))

    def apply(chosen: AppSettings, anon_key: str, password: str, session_only: bool) -> None:
        save_settings(qsettings, chosen)
        store = SessionSecrets() if session_only else secrets
        if chosen.connection_mode is ConnectionMode.PROJECT and anon_key:
            store.set(f"anon_key:{chosen.project_url}", anon_key)

            async def sign_in() -> None:
                try:
                    session = await AuthApi(
                        client, chosen.project_url, anon_key
                    ).sign_in_with_password(chosen.email, password)
                except ServiceError as error:
                    window.statusBar().showMessage(
                        window.tr("Sign-in failed: {0}").format(error.message), 10000
                    )
                    return
                store.set(f"refresh_token:{chosen.project_url}", session.refresh_token)
                QMessageBox.information(
                    window, window.tr("Signed in"), window.tr("Restart the app to use the project.")
                )

            asyncio.ensure_future(sign_in())
        else:
            window.statusBar().showMessage(
                window.tr("Settings saved; some take effect after a restart."), 10000
            )

    def open_dialog() -> None:
        dialog = SettingsDialog(load_settings(qsettings), problem, window)
        dialog.settings_accepted.connect(apply)
        dialog.open()

    action.triggered.connect(open_dialog)
    window.menuBar().addMenu(window.tr("&Tools")).addAction(action)


async def _run_window(app: QApplication, embedded: EmbeddedProcess) -> None:
    started = time.monotonic()
    qsettings = QSettings()
    settings = load_settings(qsettings)
    secrets, problem = _secret_store()
    client = http_client()
    closed = asyncio.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(stop_signal, closed.set)
    try:
        connection, session = await _connect(settings, secrets, client, embedded)
        with tempfile.TemporaryDirectory(prefix="attachments-preview-") as preview_dir:
            application = await build_application(
                connection, session, settings, client=client, data_dir=user_data_dir(),
                preview_dir=Path(preview_dir), secrets=secrets,
            )  # fmt: skip
            _add_settings_action(application.window, secrets, problem, qsettings, client)
            if problem:
                application.window.statusBar().showMessage(problem, 15000)
            application.window.closed.connect(closed.set)
            application.window.show()
            log.info("window shown %.2f s after start", time.monotonic() - started)
            await closed.wait()
            await application.aclose()
    finally:
        if not client.is_closed:
            await client.aclose()
        await asyncio.to_thread(embedded.stop)


def install_worker_threads(loop: asyncio.AbstractEventLoop) -> ThreadPoolExecutor:
    """File reads and hashing run on plain worker threads.

    WORKAROUND: qasync's default QThreadExecutor has crashed the interpreter under load here
    ("none_dealloc: deallocating None" in a worker's queue.get); a standard ThreadPoolExecutor
    works with qasync's run_in_executor and has no QThread to outlive the app.
    """
    executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="attachments-io")
    loop.set_default_executor(executor)
    return executor


def run(log_level: int = logging.WARNING, *, embedded: EmbeddedProcess | None = None) -> int:
    """Open the window (on the embedded default unless a project is configured); ``embedded`` may
    already be launching."""
    configure_logging(log_level)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setOrganizationName("attachments")
    app.setApplicationName("Attachments")
    # The loop, not Qt, decides when to stop: cleanup (server, client) needs it running.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    install_worker_threads(loop)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(
            _run_window(app, embedded or EmbeddedProcess(embedded_server_dir()))
        )
    return 0
