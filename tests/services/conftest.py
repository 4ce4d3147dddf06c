"""Service-layer fixtures: one shared AsyncClient and the API classes over the real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from desktop.services.credentials import ApiKeyCredentials
from desktop.services.rest_api import RestApi
from desktop.services.storage_api import StorageApi
from tests.helpers.servers import RunningServer


@pytest.fixture(autouse=True)
async def no_pending_tasks() -> AsyncIterator[None]:
    """Every task a test starts must have finished by its end."""
    yield
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    assert pending == [], f"tasks left pending: {pending}"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
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
