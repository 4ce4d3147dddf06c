"""Target 3: 1,000 files of 16 KiB, each uploaded and registered (object + row): our pipeline at
concurrency 1, 3 and 5 against the official ``supabase`` client (storage upload + table insert)
sequentially and with asyncio concurrency 5. Configurations alternate within each round.

A ceiling is measured too: a bare httpx loop (httpx's default transport, no validation, journal,
hashing or retries) at concurrency 5 sending rows in bulk, i.e. what any httpx client could reach
against this server on this machine.

Run: ``.venv/bin/python -m benchmarks.small_files [--files 1000] [--runs 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import ServerProcess, median, server_process
from benchmarks.pipeline_harness import BUCKET, bench

CEILING = "ceiling: bare httpx, x5, bulk rows"


def new_row(document_id: str, path: Path, data: bytes, sha256: str) -> dict[str, object]:
    """The ``attachments`` row of one upload (its object goes to ``row["object_path"]``)."""
    upload_id = str(uuid.uuid4())
    return {
        "id": upload_id, "document_id": document_id, "bucket": BUCKET,
        "object_path": f"{document_id}/{upload_id}/{path.name}", "file_name": path.name,
        "size_bytes": len(data), "sha256": sha256,
    }  # fmt: skip


def official_sequential(server: ServerProcess, paths: list[Path], document_id: str) -> None:
    from supabase import create_client

    client = create_client(server.url, server.service_key)
    for path in paths:
        data = path.read_bytes()
        row = new_row(document_id, path, data, hashlib.sha256(data).hexdigest())
        client.storage.from_(BUCKET).upload(
            str(row["object_path"]), data, {"content-type": "application/octet-stream"}
        )
        client.table("attachments").insert(row).execute()


async def official_concurrent(
    server: ServerProcess, paths: list[Path], document_id: str, concurrency: int
) -> None:
    from supabase import acreate_client

    client = await acreate_client(server.url, server.service_key)
    slots = asyncio.Semaphore(concurrency)

    async def one(path: Path) -> None:
        async with slots:
            data = path.read_bytes()
            row = new_row(document_id, path, data, hashlib.sha256(data).hexdigest())
            await client.storage.from_(BUCKET).upload(
                str(row["object_path"]), data, {"content-type": "application/octet-stream"}
            )
            await client.table("attachments").insert(row).execute()

    await asyncio.gather(*(one(p) for p in paths))


async def bare_httpx(
    server: ServerProcess, paths: list[Path], document_id: str, concurrency: int
) -> None:
    import httpx

    headers = {"apikey": server.service_key, "Authorization": f"Bearer {server.service_key}"}
    rows: list[dict[str, object]] = []
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(headers=headers) as client:

        async def flush() -> None:
            batch = rows[:]
            rows.clear()
            inserted = await client.post(
                f"{server.url}/rest/v1/attachments",
                json=batch,
                headers={"Prefer": "return=minimal"},
            )
            inserted.raise_for_status()

        async def one(path: Path) -> None:
            async with slots:
                data = await asyncio.to_thread(path.read_bytes)
                row = new_row(document_id, path, data, "0" * 64)  # the ceiling skips hashing
                stored = await client.post(
                    f"{server.url}/storage/v1/object/{BUCKET}/{row['object_path']}",
                    content=data,
                    headers={"Content-Type": "application/octet-stream"},
                )
                stored.raise_for_status()
            rows.append(row)
            if len(rows) >= 20:
                await flush()

        await asyncio.gather(*(one(p) for p in paths))
        if rows:
            await flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp) / "server") as server:
        work = Path(tmp)
        folder = work / "small"
        folder.mkdir()
        paths = []
        for n in range(args.files):
            path = folder / f"f{n:04d}.bin"
            path.write_bytes(os.urandom(16 * 1024))
            paths.append(path)
        results: dict[str, list[float]] = {}

        async def ours_rounds(concurrency: int) -> float:
            async with bench(server, work) as b:
                started = time.perf_counter()
                await b.upload(paths, concurrency=concurrency)
                return time.perf_counter() - started

        for _ in range(args.runs):
            for concurrency in (1, 3, 5):
                results.setdefault(f"ours, concurrency {concurrency}", []).append(
                    asyncio.run(ours_rounds(concurrency))
                )
            references: dict[str, Callable[[str], object]] = {
                "official supabase client, sequential": lambda d: official_sequential(
                    server, paths, d
                ),
                "official supabase client, asyncio x5": lambda d: asyncio.run(
                    official_concurrent(server, paths, d, 5)
                ),
                CEILING: lambda d: asyncio.run(bare_httpx(server, paths, d, 5)),
            }
            for name, upload_all in references.items():
                document_id = str(uuid.uuid4())  # each run registers into a document of its own
                _insert_document(server, document_id)
                started = time.perf_counter()
                upload_all(document_id)
                results.setdefault(name, []).append(time.perf_counter() - started)
            gc.collect()
    print(
        f"{args.files} files x 16 KiB, object + row each; median of {args.runs} alternating rounds"
    )
    rates = {name: args.files / median(times) for name, times in results.items()}
    for name, rate in rates.items():
        print(f"{name:<40} {median(results[name]):6.2f} s  {rate:7.1f} files/s")
    sequential = rates["official supabase client, sequential"]
    concurrent = rates["official supabase client, asyncio x5"]
    best = max(rate for name, rate in rates.items() if name.startswith("ours"))
    print(f"best of ours vs official sequential: {best / sequential:.2f}x (target >= 3x)")
    print(f"best of ours vs official asyncio x5: {best / concurrent:.2f}x (target >= 1.2x)")
    print(f"ceiling vs official sequential: {rates[CEILING] / sequential:.2f}x")
    print(f"best of ours vs ceiling: {best / rates[CEILING]:.2f}x")


def _insert_document(server: ServerProcess, document_id: str) -> None:
    import httpx

    headers = {"apikey": server.service_key, "Authorization": f"Bearer {server.service_key}"}
    httpx.post(
        f"{server.url}/rest/v1/documents",
        json={"id": document_id, "title": "official"},
        headers=headers,
    ).raise_for_status()


if __name__ == "__main__":
    main()
