"""The ``attachments`` command, run as a real process."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

SECRET = "cli-test-secret-cli-test-secret-cli-test-secret-0123456789abcdef"


def _read_status(process: subprocess.Popen[str], deadline_s: float = 20.0) -> dict[str, str]:
    """Parse the `supabase status`-like block the server prints on start."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    status: dict[str, str] = {}
    deadline = time.monotonic() + deadline_s
    while "service_role key" not in status:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            pytest.fail(f"server printed no keys in time; got {status}")
        name, sep, value = line.partition(": ")
        if sep:
            status[name.strip()] = value.strip()
    return status


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps([{"method": "GET", "path": "/storage/v1/bucket", "status": 418}]))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktop",
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            "0",
            "--faults",
            str(faults),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ | {"ATTACHMENTS_JWT_SECRET": SECRET},
    )
    try:
        yield process, _read_status(process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def test_serve_prints_url_and_keys_signed_with_the_secret(serve) -> None:
    _, status = serve
    assert status["API URL"].startswith("http://127.0.0.1:")
    for key_name, role in (("anon key", "anon"), ("service_role key", "service_role")):
        claims = jwt.decode(status[key_name], SECRET, algorithms=["HS256"])
        assert claims["role"] == role


def test_serve_answers_storage_and_applies_fault_file(serve) -> None:
    _, status = serve
    headers = {"Authorization": f"Bearer {status['service_role key']}"}
    with httpx.Client(base_url=status["API URL"] + "/storage/v1", headers=headers) as client:
        assert client.get("/bucket").status_code == 418
        assert client.post("/bucket", json={"name": "cli"}).json() == {"name": "cli"}
        assert client.get("/bucket").json()[0]["name"] == "cli"


def test_short_secret_is_refused_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--port",
            "0",
            "--jwt-secret",
            "short",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--jwt-secret" in result.stderr
    assert "at least 32 characters" in result.stderr


def test_child_server_exits_with_its_parent(tmp_path: Path) -> None:
    """The window's server (``--exit-with-parent``) does not outlive the process that started it."""
    from tests.helpers.waiting import wait_until

    # The launcher starts the server, waits until it announces itself, prints its pid and exits.
    launcher = (
        "import json, pathlib, subprocess, sys, time\n"
        f"announced = pathlib.Path({str(tmp_path / 'server.json')!r})\n"
        f"child = subprocess.Popen([sys.executable, '-m', 'desktop', 'serve', '--data-dir', {str(tmp_path)!r},"
        " '--port', '0', '--exit-with-parent'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "deadline = time.monotonic() + 20\n"
        "while not (announced.exists() and json.loads(announced.read_text() or '{}').get('pid') == child.pid):\n"
        "    assert child.poll() is None and time.monotonic() < deadline, 'server did not start'\n"
        "    time.sleep(0.02)\n"
        "print(child.pid)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", launcher], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    child = int(result.stdout.strip())

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        # A zombie (reparented, not yet reaped) counts as gone.
        return "zombie" in Path(f"/proc/{child}/status").read_text()

    wait_until(gone, timeout_s=20, what="the orphaned server to exit")
    assert not (tmp_path / "server.json").exists()
