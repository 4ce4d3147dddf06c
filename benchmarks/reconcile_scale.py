"""Target 5: reconciliation of 10k and 100k objects with matching rows plus 1 % planted orphans
(and as many dangling rows): time, requests and the reconciling process's peak RSS growth.
Cost should grow linearly (100k / 10k ~ 10x) and memory stay bounded.

The objects and rows are planted straight into the server's SQLite files before it starts
(uploading 100k files would take the benchmark's whole budget); the scan itself is all HTTP.
Run: ``.venv/bin/python -m benchmarks.reconcile_scale [--runs 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from benchmarks.harness import MIB, RssSampler, median, rss_bytes, server_process
from desktop.server.catalog import Catalog
from desktop.server.rest_store import RestStore
from desktop.services.credentials import ApiKeyCredentials
from desktop.services.http_transport import http_client
from desktop.services.incidents import IncidentLog
from desktop.services.journal import Journal
from desktop.services.reconcile import Reconciler
from desktop.services.rest_api import RestApi
from desktop.services.storage_api import StorageApi

BUCKET = "attachments"
OLD = "2026-01-01T00:00:00.000Z"


def plant(data_dir: Path, objects: int) -> tuple[int, int]:
    """``objects`` objects with rows, plus 1 % orphan objects and 1 % dangling rows."""
    data_dir.mkdir(parents=True, exist_ok=True)
    Catalog(data_dir / "storage.sqlite3").create_bucket(
        BUCKET,
        bucket_id=BUCKET,
        owner="",
        public=False,
        file_size_limit=None,
        allowed_mime_types=None,
    )
    RestStore(data_dir / "rest.sqlite3").close()
    document = str(uuid.uuid4())
    metadata = json.dumps(
        {
            "eTag": '"0"',
            "size": 1,
            "mimetype": "application/octet-stream",
            "cacheControl": "no-cache",
            "lastModified": OLD,
            "contentLength": 1,
            "httpStatusCode": 200,
        }
    )
    extra = objects // 100
    object_rows, attachment_rows = [], []
    for n in range(objects + 2 * extra):
        upload_id = str(uuid.uuid4())
        path = f"{document}/{upload_id}/file-{n}.bin"
        if n < objects + extra:  # matched objects, then orphans
            object_rows.append(
                (
                    str(uuid.uuid4()),
                    BUCKET,
                    path,
                    "",
                    str(uuid.uuid4()),
                    metadata,
                    "{}",
                    OLD,
                    OLD,
                    OLD,
                )
            )
        if n < objects or n >= objects + extra:  # matched rows, then dangling rows
            attachment_rows.append(
                (
                    upload_id,
                    document,
                    None,
                    BUCKET,
                    path,
                    f"file-{n}.bin",
                    "application/octet-stream",
                    1,
                    "0" * 64,
                    OLD,
                )
            )
    with sqlite3.connect(data_dir / "storage.sqlite3") as db:
        db.executemany("INSERT INTO objects VALUES (?,?,?,?,?,?,?,?,?,?)", object_rows)
    with sqlite3.connect(data_dir / "rest.sqlite3") as db:
        db.execute("INSERT INTO documents VALUES (?,?,?,?)", (document, None, "bench", OLD))
        db.executemany("INSERT INTO attachments VALUES (?,?,?,?,?,?,?,?,?,?)", attachment_rows)
    return extra, extra


async def scan(url: str, key: str, work: Path) -> tuple[float, int, int, int, int]:
    async with http_client() as client:
        credentials = ApiKeyCredentials(key)
        journal = Journal(work / f"journal-{uuid.uuid4().hex}.sqlite3")
        reconciler = Reconciler(
            StorageApi(client, url, credentials),
            RestApi(client, url, credentials),
            journal,
            IncidentLog(work / "incidents.jsonl"),
        )
        idle = rss_bytes(os.getpid())
        with RssSampler(os.getpid(), interval_s=0.005) as sampler:
            started = time.perf_counter()
            report = await reconciler.scan(BUCKET, grace=timedelta(hours=1))
            elapsed = time.perf_counter() - started
        journal.close()
        return (
            elapsed,
            report.requests,
            sampler.peak - idle,
            len(report.orphans),
            len(report.dangling_rows),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            data_dir = Path(tmp) / f"server-{size}"
            orphans, dangling = plant(data_dir, size)
            with server_process(data_dir) as server:
                results = [
                    asyncio.run(scan(server.url, server.service_key, Path(tmp)))
                    for _ in range(args.runs)
                ]
            assert all(r[3] == orphans and r[4] == dangling for r in results), results
            rows[size] = (
                median([r[0] for r in results]),
                results[0][1],
                median([r[2] for r in results]) / MIB,
                orphans,
                dangling,
            )
    print(
        f"reconcile dry run, median of {args.runs} runs (objects + 1 % orphans, rows + 1 % dangling)"
    )
    for size, (seconds, requests, peak_mib, orphans, dangling) in rows.items():
        print(
            f"{size:>7} objects: {seconds:6.2f} s, {requests} requests, peak RSS growth {peak_mib:5.1f} MiB, found {orphans} orphans + {dangling} dangling rows"
        )
    if len(rows) == 2:
        (small, a), (large, b) = rows.items()
        print(
            f"{large // small}x the objects: {b[0] / a[0]:.1f}x the time, {b[1] / a[1]:.1f}x the requests, {b[2] / max(a[2], 0.1):.1f}x the memory growth"
        )


if __name__ == "__main__":
    main()
