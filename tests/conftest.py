"""Shared fixtures: a clean environment, log hygiene, and the real embedded server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.logfail import fail_on_warning_logs
from tests.helpers.servers import RunningServer, running_server

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

__all__ = ["fail_on_warning_logs"]

_KEEP_ENV = {
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "QT_QPA_PLATFORM",
    "VIRTUAL_ENV",
    "PYTHONPATH",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_warning_logs: the test expects warning logs")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's Supabase or app settings."""
    for name in list(os.environ):
        if name.startswith(("SUPABASE_", "ATTACHMENTS_")) and name not in _KEEP_ENV:
            monkeypatch.delenv(name)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """A fresh embedded server (own SQLite file and blob folder) for one test."""
    with running_server(tmp_path / "server") as running:
        yield running


@pytest.fixture
def storage(server: RunningServer) -> Iterator[httpx.Client]:
    """A Storage client authorised with the service_role key."""
    with server.client(server.service_key) as client:
        yield client


@pytest.fixture
def bucket(storage: httpx.Client) -> str:
    response = storage.post("/bucket", json={"name": "files"})
    assert response.status_code == 200
    return "files"
