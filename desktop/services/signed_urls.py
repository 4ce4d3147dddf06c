"""Signed-URL cache for previews and thumbnails. A Qt-free zone.

TTL trade-off: a signed URL is a bearer credential; anyone holding it can read the object until it
expires, and it cannot be revoked short of rotating the project's signing secret. A short TTL
limits the damage of a leaked URL (logs, clipboard, a shared screenshot); a long one saves sign
requests and keeps a long video or a large PDF streaming without interruption. One hour is
Supabase's own common default and covers a preview session; the cache keeps each URL for
TTL − 5 minutes, so a URL handed out always has at least five minutes left, and a preview the user
keeps open is re-signed before its URL lapses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.domain.errors import SignedUrlExpired, StorageError
from desktop.services.storage_api import DownloadedFile, StorageApi

__all__ = [
    "SIGNED_URL_CACHE_MARGIN_S",
    "SIGNED_URL_TTL_S",
    "IntegrityMismatch",
    "SignedUrl",
    "SignedUrlCache",
]

SIGNED_URL_TTL_S = 60 * 60
SIGNED_URL_CACHE_MARGIN_S = 5 * 60
ProgressCallback = Callable[[int], None]


class IntegrityMismatch(StorageError):
    """The downloaded bytes do not match the row's sha256."""


@dataclass(frozen=True, slots=True)
class SignedUrl:
    url: str = field(repr=False)  # carries a bearer token
    signed_at: float
    expires_at: float  # wall-clock seconds, as the token's ``exp``


class SignedUrlCache:
    """Signs on demand, keeps each URL for ``ttl_s - margin_s``, one sign request per key in
    flight, batch signing for many keys; recovers once from an expired or revoked URL."""

    def __init__(
        self,
        storage: StorageApi,
        bucket: str,
        *,
        ttl_s: int = SIGNED_URL_TTL_S,
        margin_s: int = SIGNED_URL_CACHE_MARGIN_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 <= margin_s < ttl_s:
            raise ValueError("the cache margin must be shorter than the TTL")
        self._storage = storage
        self._bucket = bucket
        self._ttl_s = ttl_s
        self._margin_s = margin_s
        self._clock = clock
        self._cache: dict[str, SignedUrl] = {}
        self._in_flight: dict[str, asyncio.Future[SignedUrl]] = {}
        self.sign_requests = 0

    @property
    def keep_s(self) -> int:
        return self._ttl_s - self._margin_s

    def _fresh(self, key: str) -> SignedUrl | None:
        cached = self._cache.get(key)
        if cached is not None and self._clock() < cached.signed_at + self.keep_s:
            return cached
        return None

    def refresh_due_at(self, key: str) -> float | None:
        """When the cached URL of ``key`` stops being handed out (a preview re-signs then)."""
        cached = self._cache.get(key)
        return cached.signed_at + self.keep_s if cached else None

    def invalidate(self, key: str) -> None:
        self._cache.pop(key, None)

    async def get(self, key: str) -> SignedUrl:
        cached = self._fresh(key)
        if cached is not None:
            return cached
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[SignedUrl] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            signed_at = self._clock()
            self.sign_requests += 1
            url = await self._storage.create_signed_url(self._bucket, key, self._ttl_s)
            signed = SignedUrl(url, signed_at, signed_at + self._ttl_s)
            self._cache[key] = signed
            future.set_result(signed)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody else must
            raise
        finally:
            del self._in_flight[key]
        return signed

    async def get_many(self, keys: Sequence[str]) -> dict[str, SignedUrl | None]:
        """URLs for many keys (visible thumbnails): one batch request for all uncached ones."""
        result: dict[str, SignedUrl | None] = {}
        missing = []
        for key in keys:
            cached = self._fresh(key)
            if cached is None:
                missing.append(key)
            else:
                result[key] = cached
        if missing:
            signed_at = self._clock()
            self.sign_requests += 1
            urls = await self._storage.create_signed_urls(self._bucket, missing, self._ttl_s)
            for key in missing:
                url = urls.get(key)
                signed = SignedUrl(url, signed_at, signed_at + self._ttl_s) if url else None
                if signed is not None:
                    self._cache[key] = signed
                result[key] = signed
        return result

    async def download(
        self,
        key: str,
        destination: Path,
        *,
        expected_sha256: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> DownloadedFile:
        """Fetch ``key`` through its signed URL. An expired or revoked URL is dropped, re-signed
        once and retried; a second failure raises ``SignedUrlExpired``.

        Raises:
            IntegrityMismatch: the bytes differ from ``expected_sha256`` (the file is removed).
        """
        signed = await self.get(key)
        try:
            downloaded = await self._storage.download_signed_to(
                signed.url, destination, on_progress=on_progress
            )
        except SignedUrlExpired:
            self.invalidate(key)
            signed = await self.get(key)
            downloaded = await self._storage.download_signed_to(
                signed.url, destination, on_progress=on_progress
            )
        if expected_sha256 is not None and downloaded.sha256 != expected_sha256:
            await asyncio.to_thread(destination.unlink, missing_ok=True)
            raise IntegrityMismatch(
                "the downloaded file does not match its recorded checksum",
                status=422,
                code="IntegrityMismatch",
            )
        return downloaded
