"""Target 4: the Qt event loop's stalls while the real window runs five parallel 200 MiB uploads,
against the same window idle for as long (alternating). A 5 ms QTimer records the gaps between its
ticks; a stall is a gap beyond the timer's period. Target: max < 50 ms, p99 < 16 ms.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.ui_responsiveness [--runs 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from benchmarks.harness import MIB, make_file, median, server_process
from desktop.app import build_application, install_worker_threads
from desktop.backend import Connection, local_user_session
from desktop.config import AppSettings
from desktop.services.http_transport import http_client

TICK_MS = 5


class GapRecorder:
    def __init__(self) -> None:
        self.gaps_ms: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_timeout)

    def _on_timeout(self) -> None:
        now = time.perf_counter()
        self.gaps_ms.append((now - self._last) * 1000)
        self._last = now

    def start(self) -> None:
        self.gaps_ms.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        return [max(gap - TICK_MS, 0.0) for gap in self.gaps_ms]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)]


async def measure(runs: int, work: Path) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {"idle window": [], "5 x 200 MiB uploading": []}
    with server_process(work / "server") as server:
        client = http_client()
        connection = Connection(server.url, server.anon_key, server.service_key, is_embedded=True)
        session = await local_user_session(client, connection)
        app = await build_application(
            connection,
            session,
            AppSettings(concurrency=5),
            client=client,
            data_dir=work / "data",
            preview_dir=work / "previews",
        )
        app.window.show()
        app.controller.create_document("bench")
        while app.controller.current_document_id is None:
            await asyncio.sleep(0.05)
        files = [make_file(work / f"big-{n}.bin", 200 * MIB) for n in range(5)]
        recorder = GapRecorder()
        for _ in range(runs):
            recorder.start()
            started = time.perf_counter()
            app.controller.add_files(files)
            await app.controller.wait_idle()
            busy_s = time.perf_counter() - started
            stalls = recorder.stop()
            results["5 x 200 MiB uploading"].append((max(stalls), p99(stalls)))
            recorder.start()
            await asyncio.sleep(busy_s)
            stalls = recorder.stop()
            results["idle window"].append((max(stalls), p99(stalls)))
        await app.controller.wait_idle()
        await app.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    install_worker_threads(loop)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp, loop:
        results = loop.run_until_complete(measure(args.runs, Path(tmp)))
        print(
            f"Qt event loop stalls beyond a {TICK_MS} ms timer, median of {args.runs} alternating runs"
        )
        for name, values in results.items():
            print(
                f"{name:<24} max {median([v[0] for v in values]):6.1f} ms   p99 {median([v[1] for v in values]):6.1f} ms"
            )
        print("target while uploading: max < 50 ms, p99 < 16 ms")
        sys.stdout.flush()
        # WORKAROUND: PySide6 + qasync can abort while closing this loop or in interpreter
        # finalization (bool_dealloc); the figures are printed, so skip both, but not the
        # clean-up of the gigabytes written here (skipping it filled the disk once).
        shutil.rmtree(tmp, ignore_errors=True)
        os._exit(0)


if __name__ == "__main__":
    main()
