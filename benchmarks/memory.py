"""Target 2: peak RSS growth of the uploading process over its idle RSS: one 256 MiB file, one
2 GiB file, and five 400 MiB files in parallel (target: <= 64 MiB, independent of size).

Each measurement runs in a fresh child process (so one cannot inherit another's heap); the child
samples its own RSS every 5 ms. Run: ``.venv/bin/python -m benchmarks.memory [--runs 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import MIB, RssSampler, make_file, median, rss_bytes, server_process
from benchmarks.pipeline_harness import bench

CASES = {"1 x 256 MiB": (1, 256), "1 x 2 GiB": (1, 2048), "5 x 400 MiB in parallel": (5, 400)}


def child(
    url: str, service_key: str, anon_key: str, work: Path, paths: list[Path], concurrency: int
) -> None:
    from benchmarks.harness import ServerProcess

    server = ServerProcess(process=None, url=url, service_key=service_key, anon_key=anon_key)  # type: ignore[arg-type]

    async def run() -> dict[str, int]:
        async with bench(server, work) as b:
            idle = rss_bytes(os.getpid())
            with RssSampler(os.getpid(), interval_s=0.005) as sampler:
                await b.upload(paths, concurrency=concurrency)
            return {"idle": idle, "peak": sampler.peak}

    print(json.dumps(asyncio.run(run())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child:
        url, work, concurrency, *paths = args.child
        keys = os.environ["BENCH_SERVICE_KEY"], os.environ["BENCH_ANON_KEY"]
        child(url, *keys, Path(work), [Path(p) for p in paths], int(concurrency))
        return
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp) / "server") as server:
        work = Path(tmp)
        files = {
            name: [make_file(work / f"{name[:1]}-{n}-{mib}.bin", mib * MIB) for n in range(count)]
            for name, (count, mib) in CASES.items()
        }
        growth: dict[str, list[float]] = {name: [] for name in CASES}
        idle: list[float] = []
        for _ in range(args.runs):
            for name, (count, _) in CASES.items():
                # Keys go by environment: an argument list shows up in ps and in tracebacks.
                done = subprocess.run(
                    [sys.executable, "-m", "benchmarks.memory", "--child", server.url, str(work), str(max(count, 3)), *map(str, files[name])],
                    capture_output=True, text=True,
                    env=os.environ | {"BENCH_SERVICE_KEY": server.service_key, "BENCH_ANON_KEY": server.anon_key},
                )  # fmt: skip
                if done.returncode != 0:
                    raise RuntimeError(
                        f"{name}: the uploading process failed:\n{done.stderr[-3000:]}"
                    )
                result = json.loads(done.stdout.strip().splitlines()[-1])
                idle.append(result["idle"] / MIB)
                growth[name].append((result["peak"] - result["idle"]) / MIB)
    print(
        f"uploading process, {args.runs} runs per case (fresh process each); idle RSS median {median(idle):.1f} MiB"
    )
    for name, values in growth.items():
        print(
            f"{name:<26} peak RSS growth median {median(values):6.1f} MiB (max {max(values):.1f})  target <= 64 MiB"
        )
    small, large = median(growth["1 x 256 MiB"]), median(growth["1 x 2 GiB"])
    print(
        f"growth 2 GiB / 256 MiB: {large / small if small else float('nan'):.2f}x (flat means ~1x for an 8x larger file)"
    )


if __name__ == "__main__":
    main()
