"""Target 6: time from launching ``attachments`` to the window shown with the embedded server
ready and the local user signed in (warm: data directory and caches already populated), against
launching a bare PySide6 window, alternating. Target: < 2 s warm.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.startup [--runs 5]``
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

from benchmarks.harness import median

BARE = (
    "import time, sys; from PySide6.QtWidgets import QApplication, QMainWindow; "
    "app = QApplication(sys.argv); w = QMainWindow(); w.show(); app.processEvents(); "
    "print('window shown', flush=True); sys.stdin.readline()"
)


def time_until(command: list[str], marker: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if marker in line:
                return time.perf_counter() - started
        raise RuntimeError(f"{command[0]} exited before showing its window")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "ATTACHMENTS_DATA_DIR": tmp,
            "HOME": tmp,
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        }
        app_command = [sys.executable, "-m", "desktop", "-v"]
        time_until(app_command, "window shown", env)  # cold run: creates the data directory
        ours, bare = [], []
        for _ in range(args.runs):
            ours.append(time_until(app_command, "window shown", env))
            bare.append(time_until([sys.executable, "-c", BARE], "window shown", env))
    print(f"warm start-up, median of {args.runs} alternating runs")
    print(f"attachments (server ready, signed in, window shown): {median(ours):.2f} s")
    print(f"bare PySide6 window (reference):                     {median(bare):.2f} s")
    print(f"ratio: {median(ours) / median(bare):.1f}x; target < 2 s warm")


if __name__ == "__main__":
    main()
