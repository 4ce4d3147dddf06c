"""Streamed upload and download through the embedded server, against curl on the same endpoint.

Prints, for each direction, the median throughput of our streaming httpx client and of
``curl -T`` / ``curl -o /dev/null`` (alternating runs), their ratio, and the server's resident
memory: idle, and peak while transferring. Run: ``.venv/bin/python -m benchmarks.server_streaming``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchmarks.harness import MIB, RssSampler, make_file, median, rss_bytes, server_process, timed

CHUNK_BYTES = 1 * MIB


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mib * MIB

    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp) / "server") as server:
        source = make_file(Path(tmp) / "payload.bin", size)
        auth = {"Authorization": f"Bearer {server.service_key}"}
        url = f"{server.storage_url}/object/bench/big.bin"
        with httpx.Client(headers=auth, timeout=None) as client:
            client.post(f"{server.storage_url}/bucket", json={"name": "bench"}).raise_for_status()

            def ours_up() -> None:
                response = client.put(
                    url,
                    content=file_chunks(source),
                    headers={"content-type": "application/octet-stream"},
                )
                response.raise_for_status()

            def curl_up() -> None:
                subprocess.run(
                    [
                        "curl",
                        "-sS",
                        "-f",
                        "-o",
                        "/dev/null",
                        "-T",
                        str(source),
                        "-H",
                        f"Authorization: Bearer {server.service_key}",
                        "-H",
                        "Content-Type: application/octet-stream",
                        url,
                    ],
                    check=True,
                )

            def ours_down() -> None:
                with client.stream("GET", url) as response:
                    response.raise_for_status()
                    for _ in response.iter_raw(CHUNK_BYTES):
                        pass

            def curl_down() -> None:
                subprocess.run(
                    [
                        "curl",
                        "-sS",
                        "-f",
                        "-o",
                        "/dev/null",
                        "-H",
                        f"Authorization: Bearer {server.service_key}",
                        url,
                    ],
                    check=True,
                )

            idle = rss_bytes(server.process.pid)
            results: dict[str, list[float]] = {
                name: [] for name in ("ours_up", "curl_up", "ours_down", "curl_down")
            }
            peaks: dict[str, int] = {"up": 0, "down": 0}
            for _ in range(args.runs):
                for name, fn, direction in (
                    ("ours_up", ours_up, "up"), ("curl_up", curl_up, "up"),
                    ("ours_down", ours_down, "down"), ("curl_down", curl_down, "down"),
                ):  # fmt: skip
                    with RssSampler(server.process.pid) as sampler:
                        results[name].append(timed(fn))
                    peaks[direction] = max(peaks[direction], sampler.peak)

    print(
        f"object size: {args.size_mib} MiB, runs: {args.runs} (alternating), chunk: {CHUNK_BYTES // MIB} MiB"
    )
    for direction in ("up", "down"):
        ours = size / median(results[f"ours_{direction}"]) / MIB
        curl = size / median(results[f"curl_{direction}"]) / MIB
        label = "upload  " if direction == "up" else "download"
        print(
            f"{label}: ours {ours:8.1f} MiB/s   curl {curl:8.1f} MiB/s   ratio {ours / curl:5.2f}x"
        )
    print(f"server RSS idle: {idle / MIB:.1f} MiB")
    for direction in ("up", "down"):
        print(
            f"server RSS peak during {direction:4}: {peaks[direction] / MIB:.1f} MiB (+{(peaks[direction] - idle) / MIB:.1f} MiB)"
        )


if __name__ == "__main__":
    main()
