"""Run every benchmark and write ``benchmarks/RESULTS.md`` with the date, the machine and the
exact commands. Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.run_all``"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS: list[tuple[str, str, list[str]]] = [
    ("1. Single large file (1 GiB) vs curl", "benchmarks.large_file", []),
    ("2. Memory of the uploading process", "benchmarks.memory", []),
    ("3. Many small files vs the official client", "benchmarks.small_files", []),
    ("4. UI responsiveness during 5 parallel uploads", "benchmarks.ui_responsiveness", []),
    ("5. Reconcile at scale", "benchmarks.reconcile_scale", []),
    ("6. Start-up", "benchmarks.startup", []),
    ("7. Signed URLs", "benchmarks.signed_urls", []),
    ("Embedded server: 2 GiB streamed up and down vs curl -T", "benchmarks.server_streaming", []),
]


def main() -> None:
    env = os.environ | {"QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    sections = []
    for title, module, extra in BENCHMARKS:
        command = [sys.executable, "-m", module, *extra]
        print(f"== {title}", flush=True)
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        output = "\n".join(
            line for line in result.stdout.splitlines() if "propagateSizeHints" not in line
        )
        print(output, flush=True)
        if result.returncode != 0:
            output += f"\n(exit status {result.returncode})\n" + result.stderr[-2000:]
        sections.append(
            f"## {title}\n\n`.venv/bin/python -m {module}`\n\n```\n{output.strip()}\n```\n"
        )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    header = (
        "# Benchmark results\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
        "in one session with `QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.run_all`.\n"
        "Each figure is the median of alternating runs next to its reference, measured in the same run.\n\n"
    )
    analysis = Path(__file__).with_name("ANALYSIS.md")  # hand-written: targets, misses, profiles
    notes = "\n" + analysis.read_text() if analysis.exists() else ""
    Path(__file__).with_name("RESULTS.md").write_text(header + "\n".join(sections) + notes)


if __name__ == "__main__":
    main()
