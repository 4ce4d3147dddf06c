"""Shared benchmark plumbing: a server in its own process, RSS sampling, medians and ratios."""

from __future__ import annotations

import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    url: str
    service_key: str
    anon_key: str

    @property
    def storage_url(self) -> str:
        return self.url + "/storage/v1"


@contextmanager
def server_process(data_dir: Path) -> Iterator[ServerProcess]:
    """``attachments serve`` on a free loopback port, as a separate process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop", "serve", "--data-dir", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    status: dict[str, str] = {}
    try:
        while "service_role key" not in status:
            name, sep, value = lines.get(timeout=30).partition(": ")
            if sep:
                status[name.strip()] = value.strip()
        yield ServerProcess(
            process, status["API URL"], status["service_role key"], status["anon key"]
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@dataclass
class RssSampler:
    """Samples a process's RSS every ``interval_s`` while in a ``with`` block."""

    pid: int
    interval_s: float = 0.01
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssSampler:
        self.peak = rss_bytes(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_file(path: Path, size_bytes: int) -> Path:
    """A file of pseudo-random bytes (incompressible, so no layer can cheat)."""
    if path.exists() and path.stat().st_size == size_bytes:
        return path
    block = os.urandom(1024 * 1024)
    with path.open("wb") as out:
        remaining = size_bytes
        while remaining:
            chunk = block[: min(len(block), remaining)]
            out.write(chunk)
            remaining -= len(chunk)
    return path


def timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


MIB = 1024 * 1024
