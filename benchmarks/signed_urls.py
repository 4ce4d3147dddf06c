"""Target 7: opening the same preview 100 times within the cache TTL makes exactly 1 sign
request; signing 100 visible thumbnails makes 1 batch request. Requests are counted on the wire.

Run: ``.venv/bin/python -m benchmarks.signed_urls``
"""

from __future__ import annotations

import asyncio
import collections
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.harness import server_process
from desktop.services.credentials import ApiKeyCredentials
from desktop.services.http_transport import http_client
from desktop.services.signed_urls import SignedUrlCache
from desktop.services.storage_api import StorageApi

BUCKET = "attachments"


async def run(url: str, key: str, work: Path) -> None:
    sent: collections.Counter[str] = collections.Counter()

    async def count(request: httpx.Request) -> None:
        path = request.url.path
        if "/object/sign/" in path:
            sent[
                "single sign"
                if request.method == "POST" and path.count("/") > 5
                else "batch sign"
                if request.method == "POST"
                else "signed GET"
            ] += 1

    async with http_client() as client:
        client.event_hooks["request"].append(count)
        storage = StorageApi(client, url, ApiKeyCredentials(key))
        await storage.create_bucket(BUCKET)
        source = work / "preview.txt"
        source.write_text("preview me")
        keys = [f"doc/thumb-{n}.png" for n in range(100)]
        for object_key in ["doc/preview.txt", *keys]:
            await storage.upload_file(BUCKET, object_key, source)
        cache = SignedUrlCache(storage, BUCKET)
        sent.clear()
        started = time.perf_counter()
        for _ in range(100):
            await cache.download("doc/preview.txt", work / "out.txt")
        preview_s = time.perf_counter() - started
        opened = dict(sent)
        sent.clear()
        urls = await cache.get_many(keys)
        thumbnails = dict(sent)
    print(
        f"100 preview opens within the TTL: {opened} ({preview_s / 100 * 1000:.1f} ms per open, bytes fetched each time)"
    )
    print(f"100 thumbnails signed: {thumbnails}; {sum(1 for u in urls.values() if u)} URLs")
    print("target: exactly 1 single sign request; exactly 1 batch sign request")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp) / "server") as server:
        asyncio.run(run(server.url, server.service_key, Path(tmp)))


if __name__ == "__main__":
    main()
