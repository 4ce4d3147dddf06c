"""Qt fixtures: a qasync loop that runs while pytest-qt spins Qt, and the real window over the
real embedded server (local user signed in, as the app does)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import keyring
import pytest
import qasync
from keyring.backend import KeyringBackend
from pytestqt.qtbot import QtBot

from desktop.app import Application, build_application, install_worker_threads
from desktop.backend import Connection, embedded_key_source, local_user_session
from desktop.config import AppSettings
from desktop.services.http_transport import http_client
from tests.helpers.fakes import FakeClock
from tests.helpers.servers import RunningServer

RUN_TIMEOUT_MS = 20_000


@pytest.fixture
def qloop(qapp: Any) -> Iterator[qasync.QEventLoop]:
    """An asyncio loop on Qt's loop; loop errors fail the test at teardown."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    executor = install_worker_threads(loop)
    asyncio.set_event_loop(loop)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    yield loop
    executor.shutdown(wait=True)  # no worker thread outlives the test
    # The loop marked itself running on Qt's loop; later (non-Qt) async tests need that undone.
    loop._after_run_forever()  # noqa: SLF001 - qasync's own counterpart of already_running
    asyncio.events._set_running_loop(None)  # noqa: SLF001
    asyncio.set_event_loop(None)
    assert errors == [], errors


@dataclass
class Runner:
    qtbot: QtBot
    loop: qasync.QEventLoop

    def __call__(self, work: Coroutine[Any, Any, Any], timeout_ms: int = RUN_TIMEOUT_MS) -> Any:
        task = self.loop.create_task(work)
        self.qtbot.waitUntil(task.done, timeout=timeout_ms)
        return task.result()


@pytest.fixture
def run(qtbot: QtBot, qloop: qasync.QEventLoop) -> Runner:
    return Runner(qtbot, qloop)


class InMemoryKeyring(KeyringBackend):
    """A keyring backend with real behaviour and no files."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.values:
            raise PasswordDeleteError(username)
        del self.values[(service, username)]


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[InMemoryKeyring]:
    previous = keyring.get_keyring()
    backend = InMemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def clock() -> FakeClock:
    import time

    return FakeClock(time.time())


@pytest.fixture
def make_app(
    server: RunningServer, run: Runner, tmp_path: Path, qtbot: QtBot, clock: FakeClock
) -> Iterator[Callable[..., Application]]:
    built: list[Application] = []

    def make(settings: AppSettings | None = None) -> Application:
        async def build() -> Application:
            client = http_client(timeout=httpx.Timeout(30))
            connection = Connection(
                server.url, server.anon_key, server.service_key, is_embedded=True,
                key_source=embedded_key_source(server.server.context.config.data_dir),
            )  # fmt: skip
            session = await local_user_session(client, connection)
            return await build_application(
                connection, session, settings or AppSettings(), client=client,
                data_dir=tmp_path / "data", preview_dir=tmp_path / "previews", clock=clock,
            )  # fmt: skip

        application: Application = run(build())
        qtbot.addWidget(application.window)
        application.window.show()
        built.append(application)
        return application

    yield make
    for application in built:
        run(application.controller.wait_idle())
        run(application.aclose())
