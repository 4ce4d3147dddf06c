"""Target 1: one 1 GiB file through our pipeline (object + row) vs curl to the same endpoint with
the same headers, alternating, against the embedded server.

The reference is ``curl -X POST -T file``: curl 7.88 refuses ``--data-binary @file`` for a 1 GiB
file ("out of memory": it reads the whole file into memory first, up to a 1 GiB cap), and ``-T``
is its streaming form of the same POST.

Run: ``.venv/bin/python -m benchmarks.large_file [--size-mib 1024] [--runs 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.harness import MIB, make_file, median, server_process
from benchmarks.pipeline_harness import BUCKET, bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp) / "server") as server:
        work = Path(tmp)
        source = make_file(work / "big.bin", size)

        async def run() -> tuple[list[float], list[float]]:
            ours, curl = [], []
            async with bench(server, work) as b:
                for _ in range(args.runs):
                    started = time.perf_counter()
                    await b.upload([source], concurrency=3)
                    ours.append(time.perf_counter() - started)
                    key = f"{b.document_id}/{uuid.uuid4()}/big.bin"
                    started = time.perf_counter()
                    subprocess.run(
                        [
                            "curl",
                            "-sS",
                            "-f",
                            "-o",
                            "/dev/null",
                            "-X",
                            "POST",
                            "-T",
                            str(source),
                            "-H",
                            f"Authorization: Bearer {server.service_key}",
                            "-H",
                            "Content-Type: application/octet-stream",
                            "-H",
                            "x-upsert: false",
                            f"{server.storage_url}/object/{BUCKET}/{key}",
                        ],
                        check=True,
                    )
                    curl.append(time.perf_counter() - started)
            return ours, curl

        ours, curl = asyncio.run(run())
    ours_mib_s = args.size_mib / median(ours)
    curl_mib_s = args.size_mib / median(curl)
    print(f"file: {args.size_mib} MiB, {args.runs} alternating runs each")
    print(
        f"ours (upload + sha256 + row insert): median {median(ours):.2f} s = {ours_mib_s:.0f} MiB/s"
    )
    print(
        f"curl -X POST -T (upload only):        median {median(curl):.2f} s = {curl_mib_s:.0f} MiB/s"
    )
    print(f"ratio ours/curl: {ours_mib_s / curl_mib_s:.2f}x (target >= 0.90x)")


if __name__ == "__main__":
    main()
