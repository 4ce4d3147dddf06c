"""The window's embedded server as a real child process: launched early, waited for, reused by a
second window on the same data directory, and gone (with its announcement) when stopped."""

from __future__ import annotations

from pathlib import Path

import httpx

from desktop.backend import EmbeddedProcess, embedded_key_source


def buckets_status(url: str, service_key: str) -> int:
    headers = {"apikey": service_key, "Authorization": f"Bearer {service_key}"}
    return httpx.get(f"{url}/storage/v1/bucket", headers=headers, timeout=10).status_code


def test_launched_early_then_ready_reused_and_stopped(tmp_path: Path) -> None:
    first = EmbeddedProcess(tmp_path)
    first.launch()  # returns at once; the window imports Qt meanwhile
    first.launch()  # a second call starts nothing more
    try:
        connection = first.start()
        assert connection.is_embedded
        assert (connection.anon_key, connection.service_role_key) == embedded_key_source(tmp_path)()
        assert buckets_status(connection.url, connection.service_role_key or "") == 200

        second = EmbeddedProcess(tmp_path)
        assert second.start().url == connection.url  # the running server is reused...
        second.stop()  # ...and left running by the window that did not start it
        assert buckets_status(connection.url, connection.service_role_key or "") == 200
    finally:
        first.stop()
    assert not (tmp_path / "server.json").exists()
